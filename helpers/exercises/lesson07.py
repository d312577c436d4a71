"""Checker for 07_server_tools' "Try it": resume a turn that stopped with ``pause_turn``, in a conversation.

It streams from the local API (in live mode too): a search, then a research question whose turn the local API
pauses after two searches, in a container (the 2026 search tool runs in one). The learner's ``resume(messages,
paused)`` builds the next request, its messages and its container; the checker reads it as the real API would, sends
it, and looks at what came back: the rest of the turn, or a turn started over.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from helpers import connect
from helpers.models import DEFAULT_MODEL as MODEL
from helpers.models import current_tool

from . import LearnerError, brief, call_learner, report

SEARCH = {"type": current_tool("web_search"), "name": "web_search", "max_uses": 5}
FIRST = "Search the web for the latest news on Server-Sent Events."
RESEARCH = "Research Server-Sent Events in depth: browser support and proxies."
HEADERS = {"x-offline-pace": "instant"}
SHAPE = (
    "resume(messages, paused) returns the next request as a pair (messages, container): the list of messages"
    ' [{"role": ..., "content": ...}, ...] and the container to resume in'
)


def check(resume: Callable) -> None:
    """Run a conversation whose second turn pauses, resume it with the request ``resume(messages, paused)`` returns,
    ``(messages, container)``, and print PASS or NOT YET."""
    if not callable(resume):
        raise TypeError(f"check expects your function resume(messages, paused), got {type(resume).__name__}")
    report(*_verdict(resume))


def as_json(value):
    """JSON-like data for a block or message (an SDK object or a dict), without the fields left unset (None)."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    return value


def _verdict(resume: Callable) -> tuple[bool, str, str]:
    client = connect.client(offline=True, quiet=True)
    options = {"model": MODEL, "max_tokens": 1024, "tools": [SEARCH], "extra_headers": HEADERS}

    def ask(messages, container=None):
        extra = {"container": container} if container else {}  # a paused turn goes on in its container
        with client.messages.stream(messages=messages, **options, **extra) as stream:
            return stream.get_final_message()

    first = [{"role": "user", "content": FIRST}]
    answer = ask(first)
    messages = [*first, {"role": "assistant", "content": answer.content}, {"role": "user", "content": RESEARCH}]
    paused = ask(messages)
    searches = paused.usage.server_tool_use.web_search_requests
    print(f"  request 1: stop_reason {paused.stop_reason!r} after {searches} searches")
    try:
        request = call_learner(resume, list(messages), paused)
    except LearnerError as err:
        return False, str(err), _error_hint(err.original)
    if not (isinstance(request, tuple) and len(request) == 2):
        return False, f"resume returned {brief(request)}, not a pair (messages, container)", SHAPE
    sent, container = request
    problem = _read(sent, messages, paused) or _container(container, paused)
    if problem:
        return problem
    final = ask(sent, container)
    again = sum(1 for b in final.content if b.type == "server_tool_use")
    print(f"  request 2: roles {[m['role'] for m in sent]} → stop_reason {final.stop_reason!r}, {again} new searches")
    if again or final.stop_reason != "end_turn":
        return (
            False,
            "the turn started over: Claude searched again instead of finishing with what it had found",
            "the API continues a paused turn only when that turn is the request's last message",
        )
    cited = {c.url for b in final.content if b.type == "text" for c in b.citations or []}
    print(f"  the resumed turn ends: {''.join(b.text for b in final.content if b.type == 'text')[:90]}…")
    return True, f"the paused turn went back unchanged, in its container, and finished, citing {len(cited)} sources", ""


def _error_hint(exc: BaseException) -> str:
    """A hint for an exception in the learner's function: ``paused["content"]`` reads a Message as if a dict."""
    if isinstance(exc, TypeError | AttributeError) and "Message' object" in str(exc):
        return "paused is a Message: read its attributes (.content)"
    return "resume(messages, paused) only builds the request: start from the messages you sent"


def _container(container, paused) -> tuple[bool, str, str] | None:
    """What is wrong with the learner's container, as the real API would see it (None when it is the paused turn's)."""
    print(f"  you send container {brief(container)}")
    if container == (paused.container.id if paused.container else None):
        return None
    if container is None:
        return (
            False,
            "the request sends no container: the API refuses (400) to resume a turn paused in a container without it",
            "a turn paused in a container resumes in that same one: which did the paused response run in?",
        )
    return (
        False,
        f"the request's container is {brief(container)}, not the id of the one the paused turn ran in",
        "the API takes the container's id, a string, from the paused response",
    )


def _read(sent, messages: list, paused) -> tuple[bool, str, str] | None:
    """What is wrong with the learner's request, as the real API would see it (None when it resumes the turn)."""
    if not isinstance(sent, list):
        return False, f"resume returned {type(sent).__name__}, not a list of messages", SHAPE
    odd = next((m for m in sent if not (isinstance(m, dict) and "role" in m and "content" in m)), None)
    if odd is not None:
        return False, f"resume's list holds {type(odd).__name__} {brief(odd)}, not a message dict", SHAPE
    if as_json(sent[: len(messages)]) != as_json(messages):
        return (
            False,
            "the conversation so far is missing or changed: Claude would lose the question it is answering",
            "keep every message you already sent, in order, and add to the end",
        )
    added = sent[len(messages) :]
    roles = [m["role"] for m in added]
    print(f"  you add: {roles} after the {len(messages)} messages already sent")
    turn = next((m for m in added if m["role"] == "assistant"), None)
    if turn is None:
        return (
            False,
            "the paused turn is not in the request: the API starts the turn again, and searches again (billed again)",
            "which role wrote the paused turn? That message goes back",
        )
    if roles[-1] != "assistant":
        return (
            False,
            "a message follows the paused turn: the API reads it as a new request, not as the rest of the turn",
            "the paused turn itself is the last message of the request",
        )
    if json.dumps(as_json(turn.get("content")), sort_keys=True) != json.dumps(as_json(paused.content), sort_keys=True):
        return (
            False,
            "the paused turn was changed: its searches and their results must go back exactly as they came",
            "the paused turn goes back as it arrived: every block, the search results too",
        )
    return None
