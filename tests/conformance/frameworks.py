"""Frameworks people bring from work, LangChain, PydanticAI and LiteLLM (pinned in requirements.txt, in .venv-conformance),
against a local Messages API: ``python frameworks.py URL`` prints one JSON line per check, ``{"name", "ok", "error"}``.

Every setting is the framework's default: both default ``max_tokens`` to their own table's maximum for the model
(128,000 for claude-sonnet-4-6), which the local API, like the real one, accepts.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM's model table from its package, not the web
import litellm  # noqa: E402
from langchain_anthropic import ChatAnthropic
from langchain_core.tools import tool
from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.providers.anthropic import AnthropicProvider
from run_checks import run_checks  # beside this file

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


def litellm_stream(url: str) -> None:
    chunks = litellm.completion(
        model=f"anthropic/{MODEL}", api_base=url, api_key="conformance-key", stream=True, messages=[HELLO]
    )
    pieces = [chunk.choices[0].delta.content or "" for chunk in chunks]
    assert len([p for p in pieces if p]) > 1 and "".join(pieces).strip(), pieces


def litellm_tools(url: str) -> None:
    weather = {"type": "function", "function": {"name": "get_weather", "description": get_weather.description}}
    weather["function"]["parameters"] = {"type": "object", "properties": {"location": {"type": "string"}}}
    answer = litellm.completion(
        model=f"anthropic/{MODEL}",
        api_base=url,
        api_key="conformance-key",
        tools=[weather],
        messages=[{"role": "user", "content": "What's the weather in Paris?"}],
    )
    call = answer.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"location": "Paris"}, call


def litellm_retries_a_429(url: str) -> None:
    # LiteLLM sends no x-stainless-retry-count: the counted fault must count its requests.
    answer = litellm.completion(
        model=f"anthropic/{MODEL}",
        api_base=url,
        api_key="conformance-key",
        num_retries=2,
        extra_headers={"x-offline-fault": "http:429*1"},
        messages=[HELLO],
    )
    assert answer.choices[0].message.content, answer


HELLO = {"role": "user", "content": "Explain streaming in one line."}
CHECKS = [
    langchain_stream,
    langchain_tools,
    langchain_context_management,
    pydantic_ai_structured,
    litellm_stream,
    litellm_tools,
    litellm_retries_a_429,
]


def main(url: str) -> None:
    run_checks(CHECKS, url)


if __name__ == "__main__":
    main(sys.argv[1])
