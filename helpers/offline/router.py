"""Which capability answers a request: one explicit, ordered list of rules; the first that answers wins.

A rule is a capability's entry point, ``answer(turn) -> Reply | None``. ``thinks``: the reply opens with the turn's
thinking (when the request turns thinking on). ``server_tool``: the rule runs a server tool, so it is skipped when
``tool_choice`` is ``none`` and when the turn carries tool results (the model reads those first).

Adding a capability (a server tool, say) touches its module, one line here and its test (the usage count of a server
tool the SDK's ``ServerToolUsage`` names is read from that type).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import citations, code_execution, replies, structured, tool_search, web_fetch, web_search
from .model import Reply, Turn
from .read import text_of, tool_results


@dataclass(frozen=True)
class Rule:
    answer: Callable[[Turn], Reply | None]
    thinks: bool = True
    server_tool: bool = False


RULES: tuple[Rule, ...] = (
    Rule(replies.refusal, thinks=False),  # the classifiers step in before anything else
    Rule(web_search.resume, thinks=False),  # a paused turn sent back goes on where it stopped
    Rule(replies.continuation),  # "continue" after a partial answer
    Rule(structured.answer),  # output_config.format: JSON that follows the schema
    Rule(code_execution.after_tool_calls, thinks=False),  # results of tools the code called: the code finishes
    Rule(web_fetch.answer, server_tool=True),
    Rule(code_execution.answer, server_tool=True),
    Rule(tool_search.answer, server_tool=True),
    Rule(web_search.answer, server_tool=True),
    Rule(citations.answer),  # citable documents and search results (in the request or in tool results)
    Rule(replies.after_tool),  # any other tool result
    Rule(replies.tool_call),
    Rule(replies.answer),  # always answers
)


def turn_of(request: dict) -> Turn:
    messages = request["messages"]
    last = messages[-1]
    prompt = text_of(last["content"]) if last["role"] == "user" else text_of(messages[-2]["content"])
    results = tool_results(last["content"]) if last["role"] == "user" else []
    return Turn(request, prompt, results, choose)


def choose(request: dict) -> Reply:
    """The scripted reply for a (validated) Messages request."""
    turn = turn_of(request)
    tools_off = (request.get("tool_choice") or {}).get("type") == "none" or bool(turn.results)
    for rule in RULES:
        if rule.server_tool and tools_off:
            continue
        if (reply := rule.answer(turn)) is not None:
            if not rule.thinks:
                return reply
            thinking = replies.thinking(request, turn.prompt, after_tool=bool(turn.results))
            return Reply([*thinking, *reply.blocks], reply.stop_reason, reply.stop_details)
    raise AssertionError("the last rule always answers")
