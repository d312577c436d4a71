"""The fault matrix (defined once, in tools/fault_matrix.py) as tests, and malformed input to every public helper.

A cell fails with the list of what a learner would find wrong: a different exception, lost partial text, a wait past
the read timeout, or a client / kernel / relay that no longer answers the next request.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tools import fault_matrix as matrix


@pytest.mark.timeout(30)
@pytest.mark.parametrize("fault", matrix.FAULTS)
@pytest.mark.parametrize("caller", matrix.CALLERS)
def test_fault(api, caller, fault):
    assert matrix.run_cell(caller, fault, api.url) == []


# What the matrix leaves to other tests, and why: every other setting of a fault (a field of faults.Faults) needs a row.
ELSEWHERE = {
    "times": "http:STATUS*K fails only the first K attempts; the matrix's callers never retry (test_offline_api)",
    "error_type": "error@N:TYPE picks another type for the same error event (test_offline_api)",
    "badjson_at": "breaks a tool input, which the matrix's text prompt has none of (test_offline_stream_types)",
    "tool_error": "fails a server tool, which the matrix's text prompt calls none of (test_offline_every_block)",
}


def test_the_matrix_covers_every_fault_the_local_api_injects():
    from helpers.offline import faults

    parsed = [faults.parse(spec) for spec in matrix.FAULTS]
    assert all(parsed), "every row is a fault the local API knows"
    set_by_rows = {f.name for row in parsed for f in dataclasses.fields(row) if getattr(row, f.name) != f.default}
    every_field = {f.name for f in dataclasses.fields(faults.Faults)}
    assert set(ELSEWHERE) <= every_field, "ELSEWHERE names only fields that exist"
    assert set_by_rows | set(ELSEWHERE) == every_field, "a new kind of fault needs a matrix row (or a reason here)"
    assert {row.stop_reason for row in parsed if row.stop_reason} == set(faults.STOP_REASONS)  # each the SDK knows
    statuses = {row.status for row in parsed if row.status}
    assert statuses == set(faults.API_ERROR_TYPES) - {
        400
    }  # 400 is the local API's answer to a bad request, not a fault


def test_the_table_counts_what_passed():
    results = {(c, f): [] for c in matrix.CALLERS for f in matrix.FAULTS}
    results["web relay (SSE)", "drop@12"] = ["no error event"]
    text = matrix.table(results)
    assert f"**{len(results) - 1}/{len(results)} passed**" in text
    assert "| `drop@12` | ✓ | ✓ | ✓ | ✗ |" in text
    assert "- ✗ web relay (SSE) × `drop@12`: no error event" in text


def test_the_readme_shows_the_whole_matrix():
    # The cells above are what makes each ✓ true; this keeps the README's table the one they test.
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    all_passed = matrix.table({(c, f): [] for c in matrix.CALLERS for f in matrix.FAULTS})
    assert all_passed in readme, "README.md's fault matrix is stale: paste `python tools/fault_matrix.py` into it"


# ---------------------------------------------------------------------------------------------------------------------
# Malformed input: every public helper says what it expected


def _views():
    from helpers.widgets import EventView, TextView, ThinkingView, Timeline, ToolInputView

    return [TextView, ThinkingView, ToolInputView, Timeline, EventView]


def _bad_calls(client, aclient):
    """(what, call, exception type, words the message must hold) for each kind of malformed input."""
    from helpers import connect
    from helpers.offline import start
    from helpers.web import frame, parse
    from helpers.widgets import Playground, SideBySide, TextView

    view = lambda: TextView(display=False)  # noqa: E731
    sync_manager = lambda: client.messages.stream(**matrix._request("Hi"))  # noqa: E731
    calls = [
        ("connect.client(offline='yes')", lambda: connect.client(offline="yes"), TypeError, ["offline", "True"]),
        ("connect.async_client(quiet=1)", lambda: connect.async_client(quiet="no"), TypeError, ["quiet", "True"]),
        ("start(pace=[])", lambda: start(pace=[]), TypeError, ["pace", "instant"]),
        ("start(pace='fast')", lambda: start(pace="fast"), ValueError, ["pace", "instant", "realistic"]),
        ("start(fault=123)", lambda: start(fault=123), TypeError, ["fault", "str"]),
        ("start(fault='boom')", lambda: start(fault="boom"), ValueError, ["http:STATUS", "drop@N"]),
        ("web.frame(1, {})", lambda: frame(1, {}), TypeError, ["event", "str"]),
        ("web.frame('text', 'hi')", lambda: frame("text", "hi"), TypeError, ["data", "dict"]),
        ("web.parse(123)", lambda: parse(123), TypeError, ["bytes", "str"]),
        ("TextView(title=3)", lambda: TextView(title=3, display=False), TypeError, ["title", "str"]),
        ("view.append(5)", lambda: view().append(5), TypeError, ["append", "str"]),
        ("view.append(event)", lambda: view().append({"type": "text"}), TypeError, ["str", "text_stream"]),
        ("view.add('text')", lambda: view().add("some text"), TypeError, ["event", "append(text)"]),
        ("view.watch(list)", lambda: view().watch(["not", "a", "stream"]), TypeError, ["MessageStream", "list"]),
        ("view.watch(str)", lambda: view().watch("Hi"), TypeError, ["MessageStream", "str"]),
        ("view.finish('done')", lambda: view().finish("done"), TypeError, ["get_final_message", "str"]),
        ("view.fail('boom')", lambda: view().fail("boom"), TypeError, ["exception", "str"]),
        ("SideBySide('ab')", lambda: SideBySide("ab", display=False), TypeError, ["list", "titles"]),
        ("Playground(sync client)", lambda: Playground(client, display=False), TypeError, ["AsyncAnthropic"]),
    ]
    for cls in _views():
        calls.append(
            (
                f"{cls.__name__}.watch(async)",
                lambda c=cls: c(display=False).watch(_amanager(aclient)),
                TypeError,
                ["awatch"],
            )
        )
        calls.append(
            (
                f"{cls.__name__}.awatch(sync)",
                lambda c=cls: _run(c(display=False).awatch(sync_manager())),
                TypeError,
                ["watch(stream)"],
            )
        )
    return calls


def _amanager(aclient):
    return aclient.messages.stream(**matrix._request("Hi"))


def _run(coro):
    import asyncio

    return asyncio.run(coro)


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited")  # the async managers handed to watch()
def test_malformed_input_gets_an_error_naming_what_was_expected(client, aclient):
    unclear = []
    for what, call, kind, words in _bad_calls(client, aclient):
        try:
            result = call()
        except kind as exc:
            if missing := [w for w in words if w not in str(exc)]:
                unclear.append(f"{what}: {type(exc).__name__}({exc}) does not say {missing}")
            continue
        except Exception as exc:  # the wrong kind of error is as unclear as none
            unclear.append(f"{what}: raised {type(exc).__name__}({exc}), expected {kind.__name__}")
            continue
        getattr(result, "stop", lambda: None)()  # a server that started although it should not have
        unclear.append(f"{what}: no error, returned {type(result).__name__}")
    assert not unclear, "\n".join(unclear)


async def test_an_empty_prompt_is_refused_with_a_message(api, aclient):
    """The playground asks for a prompt; the relay answers 400 naming the field; nothing reaches the API."""
    import httpx2

    from helpers.web import start as start_relay
    from helpers.web import token_in
    from helpers.widgets import Playground

    before = api.stats()["requests"]
    pg = Playground(aclient, display=False)
    assert await pg.send("   ") is None
    assert "Type a prompt first" in pg.status.value
    with start_relay(client_factory=lambda: aclient) as relay:
        async with httpx2.AsyncClient(base_url=relay.url) as http:
            posted = await http.post("/chat", json={"messages": [{"role": "user", "content": ""}]})
            token = token_in((await http.get("/")).text)
            got = await http.get("/chat", params={"message": " ", "token": token})
    for response in (posted, got):
        assert response.status_code == 400 and "must not be empty" in response.json()["error"]["message"]
    assert api.stats()["requests"] == before
