"""Two frameworks people bring from work, LangChain and PydanticAI (pinned in requirements.txt, in .venv-conformance),
against a local Messages API: ``python frameworks.py URL`` prints one JSON line per check, ``{"name", "ok", "error"}``.

Every setting is the framework's default: both default ``max_tokens`` to their own table's maximum for the model
(128,000 for claude-sonnet-4-6), which the local API, like the real one, accepts.
"""

from __future__ import annotations

import json
import sys
import traceback

from langchain_anthropic import ChatAnthropic
from langchain_core.tools import tool
from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.providers.anthropic import AnthropicProvider

MODEL = "claude-sonnet-4-6"


@tool
def get_weather(location: str) -> str:
    """The current weather in a city."""
    return json.dumps({"location": location, "temperature": 18, "conditions": "cloudy"})


class City(BaseModel):
    name: str
    country: str


def langchain_stream(url: str) -> None:
    llm = ChatAnthropic(model=MODEL, base_url=url, api_key="conformance-key")
    chunks = [chunk.text for chunk in llm.stream("Explain streaming in one line.")]
    assert len(chunks) > 1 and "".join(chunks) == llm.invoke("Explain streaming in one line.").text, chunks


def langchain_tools(url: str) -> None:
    llm = ChatAnthropic(model=MODEL, base_url=url, api_key="conformance-key")
    calls = llm.bind_tools([get_weather]).invoke("What's the weather in Paris?").tool_calls
    assert calls and calls[0]["name"] == "get_weather" and calls[0]["args"] == {"location": "Paris"}, calls


def langchain_context_management(url: str) -> None:
    llm = ChatAnthropic(
        model=MODEL,
        base_url=url,
        api_key="conformance-key",
        betas=["context-management-2025-06-27"],
        context_management={"edits": [{"type": "clear_tool_uses_20250919"}]},
    )
    assert llm.invoke("hi").text


def pydantic_ai_structured(url: str) -> None:
    provider = AnthropicProvider(api_key="conformance-key", base_url=url)
    agent = Agent(AnthropicModel(MODEL, provider=provider), output_type=City)
    city = agent.run_sync("Name a city in France.").output
    assert isinstance(city, City) and city.name, city


CHECKS = [langchain_stream, langchain_tools, langchain_context_management, pydantic_ai_structured]


def main(url: str) -> None:
    for check in CHECKS:
        try:
            check(url)
            result = {"name": check.__name__, "ok": True}
        except Exception as err:  # noqa: BLE001 (every failure is reported, and the next check runs)
            result = {"name": check.__name__, "ok": False, "error": "".join(traceback.format_exception_only(err))}
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
