"""Lesson 10 · the capstone: run the learner's ``chat.py`` and ``main.py`` for real and say what works.

Both run in their own processes against a local Messages API that this checker starts (offline, whatever the
lesson's mode, so no key is spent and every answer is known). A small recorder in front of that API keeps each
request the learner's code sent and the text it streamed back, so the checker can tell:

- ``check_chat(folder)``: ``python chat.py`` and ``python chat.py --raw``, fed two turns on stdin. Each request asks
  for a stream (with ``messages.stream()``, or ``create(stream=True)`` for ``--raw``: the SDK names its helper in
  the ``x-stainless-helper-method`` header); each answer is on screen while its stream is still open (the recorder
  holds the stream's end until the answer's first words show, or ``HOLD`` seconds); turn 2 sends turn 1's question
  and answer back.
- ``check_app(folder)``: ``uvicorn main:app`` on 127.0.0.1: the page at ``/``, ``POST /chat`` as JSON ``text``
  events that keep every character, a ``done`` event last, a whole conversation, requests another site can make
  refused before they reach the API (a stream starts only for a JSON POST on the app's own host name: over plain
  http a browser marks another site's link, image or form with neither ``Sec-Fetch-Site`` nor ``Origin``), and the
  upstream stream closed when the client leaves (the local API counts it in ``streams_cut_by_client``).

  It also makes Claude's stream fail mid-answer (an error event, a dropped connection): the browser's stream must
  still end with an ``error`` or ``done`` event.

A learner's mistake (a syntax error, an import error, a server that never starts, a crash) is a NOT YET line with a
hint, never a traceback from here. Their programs run bounded (``harness``): output beyond a head and a tail is only
counted, a flood of it or a stream that never ends is named and stopped, each check has an overall deadline, and
the whole process group a program started is ended afterwards, so nothing keeps running or holds a port. The
recorder in front of the local API lives in ``recorder``.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from helpers.exercises import recorder, report
from helpers.exercises.harness import Deadline, Output, end_group, spawn
from helpers.exercises.recorder import Exchange, serve
from helpers.offline.read import text_of
from helpers.web import Reader

TURNS = ("Write a haiku about streaming.", "What did I ask you for just now?")
TRICKY = "Write a multi-line note with quotes, a tab, unicode and a line that starts with 'data: '."
CONVERSATION = [
    {"role": "user", "content": "Write a haiku about streaming."},
    {"role": "assistant", "content": "Tokens drift like snow\nEach word lands before the next\nThe answer unfolds"},
    {"role": "user", "content": "Now a haiku about debugging."},
]
# Questions the recorder answers with a failure of Claude's stream, after a few events: (what happened, fault)
FAILURES = {
    "Tell me about streaming, then fail.": ("sent an error event", "error@6"),
    "Tell me about streaming, then drop.": ("dropped the connection", "drop@6"),
}
RUN_TIMEOUT = 90.0  # seconds for one run of chat.py: a hang detector, generous for a busy machine
START_TIMEOUT = 60.0  # seconds for uvicorn main:app to answer its first request
APP_TIMEOUT = 120.0  # seconds for the rest of check_app once the app answered: every request, bounded together
STREAM_TIMEOUT = 20.0  # seconds one answer may stay open (a short one takes about a second at APP_PACE)
MAX_STREAM_BYTES = 4 * 1024 * 1024  # bytes one answer may send to the browser
LEAVE_TIMEOUT = 15.0  # seconds for the upstream stream to close after the client left
APP_PACE = 100  # tokens per second: the count the client leaves stays open for ~40 s unless the app closes it
# `uvicorn main:app` with Python's cycle collector off. A sync generator FastAPI stops reading is left paused, not
# closed, until the collector happens to run: then its `with` block ends and the stream to Claude closes, seconds or
# minutes later. With the collector on, the same wrong app passed "a client that leaves" in about 1 run of 7.
# An async app closes its stream when FastAPI cancels it, which needs no collector.
UVICORN_WITHOUT_GC = "import gc, sys; gc.disable(); sys.argv[0] = 'uvicorn'; from uvicorn.main import main; main()"
OFFLINE_KEY = "offline-capstone-check"  # what the learner's process sees as ANTHROPIC_API_KEY: never a real key
LESSON = Path(__file__).resolve().parents[2] / "notebooks"
RETURNED = re.compile(r"return\s+EventSourceResponse\(")  # the response class built by hand, in a plain endpoint
SLOW = "slow to start (a busy machine?): run the check again"


def _env(api_url: str) -> dict:
    """The learner's process talks to this checker's local API, through the course's connect or a bare SDK client."""
    unset = {
        "COURSE_RECORD",
        "COURSE_CASSETTES",
        "PYTHONUNBUFFERED",
    }  # a pipe buffers what is not flushed, as it should
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(
        COURSE_OFFLINE="1",
        COURSE_OFFLINE_URL=api_url,
        ANTHROPIC_BASE_URL=api_url,
        ANTHROPIC_API_KEY=OFFLINE_KEY,
        PYTHONIOENCODING="utf-8",
    )
    return env


def _folder(folder, name: str) -> Path | None:
    if not isinstance(folder, str | os.PathLike):
        raise TypeError(f"expected the folder with your {name} as a str or Path, got {type(folder).__name__}")
    path = Path(folder)
    if not (path / name).is_file():
        report(False, f"there is no {name} in {str(folder)!r}", "pass the folder that holds it, e.g. 'capstone'")
        return None
    return path


def _crash_hint(line: str, what: str) -> str:
    if "SyntaxError" in line or "IndentationError" in line:
        return f"Python could not read {what}: fix the line the error names"
    if "ModuleNotFoundError" in line or "ImportError" in line:
        return "an import failed: check its spelling, and run from the course's environment (lesson 10, section 1)"
    return f"run {what} in a terminal to see the whole traceback"


def _flood_hint(what: str) -> str:
    return f"{what} printed far more than a chat does: look for a loop that prints without waiting for input or text"


# ---------------------------------------------------------------------------------------------------------------------
# Part 1: the terminal chat


def check_chat(folder="capstone", run_timeout: float = RUN_TIMEOUT) -> None:
    """Run ``chat.py`` (``messages.stream()``) and ``chat.py --raw`` (``create(stream=True)``), two turns each."""
    path = _folder(folder, "chat.py")
    if path is None:
        return
    with ThreadPoolExecutor(max_workers=2) as pool:  # most of a run is Python starting: run both at once
        runs = list(pool.map(lambda raw: _run_chat(path, raw, run_timeout), (False, True)))
    for verdict in runs:
        report(*verdict)


def _run_chat(path: Path, raw: bool, run_timeout: float) -> tuple[bool, str, str]:
    command = "chat.py --raw" if raw else "chat.py"
    method = "client.messages.create(stream=True)" if raw else "client.messages.stream()"
    screen = _Screen()
    flood = threading.Event()
    record, api = serve("instant", screen)
    process = None
    try:
        process = spawn(
            [sys.executable, *command.split()],
            cwd=path,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(api.url),
        )
        screen.out, errors = Output(process.stdout, flood.set), Output(process.stderr, flood.set)
        try:
            stdin = process.stdin
            assert stdin is not None  # stdin=PIPE
            stdin.write(("\n".join(TURNS) + "\n").encode())
            stdin.close()
        except OSError:  # it ended before reading its input: its exit code and stderr say why
            pass
        started, deadline = time.monotonic(), Deadline(run_timeout)
        while process.poll() is None and not flood.is_set() and not deadline.over:
            time.sleep(0.05)
        if flood.is_set():
            loud = screen.out if screen.out.flooded else errors
            return (
                False,
                f"{command} flooded its output: {loud.size()} in {time.monotonic() - started:.0f} s, so the check "
                f"stopped it",
                _flood_hint(command),
            )
        if process.poll() is None:
            return _timeout_verdict(command, run_timeout, errors, screen.text(), record.exchanges)
        return _chat_verdict(command, method, raw, process.returncode, errors, screen.text(), record.exchanges)
    finally:
        if process is not None:
            end_group(process)  # it, and every process it started: nothing of the learner's keeps running
        api.stop()


def _timeout_verdict(command, timeout: float, errors: Output, screen: str, exchanges: list[Exchange]):
    """(ok, what, hint) for a run of chat.py that had not ended ``timeout`` seconds after its input did."""
    what = f"{command} was still running {timeout:.0f} s after its input ended"
    answered = len(exchanges) >= len(TURNS) and all(e.text and e.text in screen for e in exchanges)
    if screen.count("you:") > len(TURNS) or answered:  # it answered every line and asked for another
        return False, what, "end the loop when input() raises EOFError (the end of the input) or reads an empty line"
    line = errors.last_line()
    if not errors.text().strip():
        return False, f"{what}, with {len(exchanges)} of {len(TURNS)} answers and nothing on stderr", SLOW
    return False, f"{what}, with {len(exchanges)} of {len(TURNS)} answers: {line}", _crash_hint(line, command)


class _Screen:
    """The screen the recorder watches: the learner's stdout, once the process exists."""

    out: Output | None = None

    @property
    def total(self) -> int:
        return self.out.total if self.out else 0

    def since(self, offset: int) -> str:
        return self.out.since(offset) if self.out else ""

    def text(self) -> str:
        return self.out.text() if self.out else ""


def _chat_verdict(command, method, raw, code, errors: Output, screen: str, exchanges: list[Exchange]):
    """(ok, what, hint) for one run of chat.py."""
    if code != 0:
        line = errors.last_line()
        if "EOFError" in line:
            return (
                False,
                f"{command} stopped with {line}",
                "input() raises EOFError when the input ends: end the loop there",
            )
        return (False, f"{command} stopped with an error: {line}", _crash_hint(line, command))
    if len(exchanges) != len(TURNS):
        return (
            False,
            f"{command} sent {len(exchanges)} request(s) for {len(TURNS)} lines of input",
            "ask Claude once for each line you read, until the input ends",
        )
    if not all(e.body.get("stream") is True for e in exchanges):
        return (
            False,
            f"{command} asked for whole answers, not streams",
            f"open each answer with {method} and read it piece by piece as it arrives",
        )
    helpers = {e.helper for e in exchanges}
    if raw and "stream" in helpers:
        return (False, f"{command} used client.messages.stream()", f"with --raw, call {method} and read its events")
    if not raw and helpers != {"stream"}:
        return (False, f"{command} did not use client.messages.stream()", f"stream the answer with {method}")
    late = next((i for i, e in enumerate(exchanges, 1) if not e.on_screen), None)
    if late is not None:
        return (
            False,
            f"{command}: answer {late} was not on screen while it streamed (held open {recorder.HOLD:.0f} s)",
            "print each piece as soon as it arrives, with flush=True: a pipe holds back what you print without it",
        )
    missing = next((i for i, e in enumerate(exchanges, 1) if e.text not in screen), None)
    if missing is not None:
        return (
            False,
            f"{command}: the whole of answer {missing} never showed on screen",
            "print every piece of text, not only the first one",
        )
    sent = exchanges[1].body.get("messages")
    sent = sent if isinstance(sent, list) else []
    roles = [m.get("role") for m in sent if isinstance(m, dict)]
    if len(sent) < 3:
        return (
            False,
            f"{command}: turn 2 sent {len(sent)} message(s), so Claude had forgotten turn 1",
            "keep one list for the whole chat: add each question, and each answer as an assistant message",
        )
    if roles[-3:] != ["user", "assistant", "user"] or text_of(sent[-3].get("content"), "") != TURNS[0]:
        return (
            False,
            f"{command}: turn 2 sent the roles {roles}",
            "the conversation goes question, answer, question: add the answer between the two questions",
        )
    answer = text_of(sent[-2].get("content"), "")
    if answer != exchanges[0].text:
        return (
            False,
            f"{command}: turn 2 sent back {answer[:60]!r} as answer 1, which streamed as {exchanges[0].text[:60]!r}",
            "send back the whole text of the answer: "
            + ("add up every text_delta" if raw else "what text_stream gave you, or the stream's final text"),
        )
    return (
        True,
        f"{command}: {len(TURNS)} turns streamed with {method}, on screen as they arrived; turn 2 knew turn 1",
    )


# ---------------------------------------------------------------------------------------------------------------------
# Part 2: the web app


@dataclass
class _App:
    """What the steps of check_app share: the client, the recorder and local API, the app's stderr and source, and
    the deadline of the whole check."""

    http: httpx2.Client
    rec: recorder.Recorder
    api: Any  # the local API's handle (helpers.offline.server.Running)
    errors: Output
    source: str
    deadline: Deadline
    stream_timeout: float


class _Broken(Exception):
    """A stream that did not end as a stream should: ``str()`` says what happened, ``hint`` what to look at."""

    def __init__(self, what: str, hint: str, status: int = 200):
        super().__init__(what)
        self.hint, self.status = hint, status
        self.stalled = False  # a stream still open at its deadline


def check_app(
    folder="capstone",
    start_timeout: float = START_TIMEOUT,
    app_timeout: float = APP_TIMEOUT,
    stream_timeout: float = STREAM_TIMEOUT,
) -> None:
    """Serve ``main.py`` with ``uvicorn main:app`` on 127.0.0.1 and try it as a browser and as an attacker would.

    ``start_timeout``: seconds for the app to answer at all; ``app_timeout``: for every later request together;
    ``stream_timeout``: for one answer."""
    path = _folder(folder, "main.py")
    if path is None:
        return
    rec, api = serve(APP_PACE, faults={question: fault for question, (_, fault) in FAILURES.items()})
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = spawn(
        [sys.executable, "-c", UVICORN_WITHOUT_GC, "main:app", "--fd", str(sock.fileno()), "--log-level", "warning"],
        cwd=path,
        pass_fds=(sock.fileno(),),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_env(api.url),
    )
    sock.close()  # the server has its own copy: if it dies, connections are refused rather than left waiting
    errors = Output(server.stderr, lambda: end_group(server, grace=0))  # a flood on stderr ends the server
    try:
        with httpx2.Client(base_url=url, timeout=10) as http:
            page = _wait_for(server, http, start_timeout)
            if isinstance(page, str):
                line = errors.last_line()
                silent = server.poll() is None and not errors.text().strip()  # still starting, and no error
                report(
                    False, f"uvicorn main:app {page}: {line}", SLOW if silent else _crash_hint(line, "uvicorn main:app")
                )
                return
            if 400 <= page.status_code < 500 and _page(http, headers={"host": "127.0.0.1:8000"}).status_code == 200:
                port = url.rsplit(":", 1)[1]  # the app refuses its own page on any port but 8000: nothing else can pass
                report(
                    False,
                    f"GET / answered {page.status_code} to Host: 127.0.0.1:{port}, and 200 to Host: 127.0.0.1:8000",
                    "the check runs your app on a port of its own (so can a hub or a proxy): compare the host name "
                    "without its port",
                )
                return
            report(
                page.status_code == 200 and page.headers.get("content-type", "").startswith("text/html"),
                f"GET / answered {page.status_code} {page.headers.get('content-type', '')}".strip(),
                _page_hint(page.status_code),
            )
            source = (path / "main.py").read_text(errors="replace")
            app = _App(http, rec, api, errors, source, Deadline(app_timeout), stream_timeout)
            streams = _run_step(_check_stream, app) is not BROKEN
            for step in (_check_post, _check_failures, _check_other_sites, _check_leaving):
                if step in READS_STREAM and not streams:  # its hint would describe code the learner did not write
                    report(False, f"{step.__doc__}: not tried, as POST /chat did not stream (above)", FIX_STREAM_FIRST)
                else:
                    _run_step(step, app)
    finally:
        end_group(server)  # uvicorn, and every process the app started: nothing keeps running or holds a port
        api.stop()


def _page_hint(status: int) -> str:
    """What to fix when GET / is not the page: the route, or a check of the learner's own that refuses it."""
    if 400 <= status < 500 and status not in (404, 405):
        return (
            "your app refused its own page: a check in front of every route stops GET / too. The page spends "
            "nothing, so let it through, and keep the JSON-POST rule for /chat"
        )
    if status >= 500:
        return "the app failed on GET /: run uvicorn main:app in a terminal to see its traceback"
    return "serve the chat page (index.html) at /"


BROKEN = object()  # what _run_step returns when the step could not read a stream at all
FIX_STREAM_FIRST = "make POST /chat stream first: this check reads the same stream"


def _run_step(step, app: _App):
    """Run one step and report it; its verdict, or BROKEN when the app could not stream for it at all."""
    if app.deadline.over:
        report(False, f"{step.__doc__}: not tried, the check's {app.deadline.seconds:.0f} s were spent", SLOW)
        return BROKEN
    try:
        return step(app)
    except _Broken as err:
        report(False, f"{step.__doc__}: {err}", err.hint)
    except (httpx2.HTTPError, ValueError, KeyError, TypeError) as err:
        line = app.errors.last_line()
        report(
            False,
            f"{step.__doc__}: {type(err).__name__}: {err}; the server's last line: {line}",
            _crash_hint(line, "uvicorn main:app"),
        )
    return BROKEN


def _wait_for(server, http: httpx2.Client, timeout: float):
    """GET / once the server answers; or a phrase saying why it never did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return f"stopped (exit code {server.returncode})"
        try:
            return _page(http)
        except httpx2.TransportError:
            time.sleep(0.1)
    return f"did not answer within {timeout:.0f} s"


def _page(http: httpx2.Client, **options) -> httpx2.Response:
    """The status and headers of ``GET /``, its body left unread: a page that never ends costs nothing to check."""
    with http.stream("GET", "/", **options) as response:
        return response


def _stream(app: _App, what: str, method: str, url: str, **options) -> list:
    """The events of one answer, read as a browser would, within ``STREAM_TIMEOUT`` (and the check's deadline) and
    ``MAX_STREAM_BYTES``; raises :class:`_Broken` saying what went wrong (not a stream, a flood, a stream that never
    ended or broke off)."""
    budget = app.deadline.left(app.stream_timeout)
    timeout = httpx2.Timeout(min(10.0, budget), read=budget)
    events: list = []
    try:
        with app.http.stream(method, url, timeout=timeout, **options) as response:
            kind = response.headers.get("content-type", "")
            if not kind.startswith("text/event-stream"):
                body = next(response.iter_bytes(), b"")[:200].decode("utf-8", "replace")
                raise _Broken(
                    f"{what} answered {response.status_code} {kind}: {body[:120]!r}",
                    "stream the answer: declare the route with response_class=EventSourceResponse and yield its events",
                    response.status_code,
                )
            try:
                for _ in _bounded(what, response, budget, events):
                    pass
            except httpx2.TransportError as err:
                raise _broke_off(
                    app, what, events, f"broke off after {len(events)} events ({type(err).__name__})"
                ) from None
    except _Broken as err:
        if err.stalled and not events:  # the connection is closed now: an app stuck before its first event logs why
            raise _stuck(app, err) from None
        raise
    if not events:
        raise _broke_off(app, what, events, "sent an empty stream, not one event")
    return events


def _bounded(what: str, response: httpx2.Response, budget: float, events: list):
    """Read ``response`` as SSE, adding each event to ``events`` and yielding the new ones of each piece, for at most
    ``budget`` seconds and ``MAX_STREAM_BYTES``; past either, raise :class:`_Broken` saying which (comments and
    half lines count too: a stream of them alone would otherwise be read for ever)."""
    reader, size, end = Reader(), 0, time.monotonic() + budget
    try:
        for chunk in response.iter_bytes():
            size += len(chunk)
            new = reader.feed(chunk)
            events += new
            if size > MAX_STREAM_BYTES:
                raise _Broken(
                    f"{what} sent more than {MAX_STREAM_BYTES // 2**20} MB for one short answer, so the check "
                    "stopped reading",
                    "send each piece of text once, as it arrives",
                )
            if time.monotonic() > end:
                raise _never_ended(what, events, budget)
            yield new
    except httpx2.ReadTimeout:
        raise _never_ended(what, events, budget) from None


def _never_ended(what: str, events: list, budget: float) -> _Broken:
    last = f", the last {events[-1].event!r}" if events else ""
    done = any(e.event == "done" for e in events)
    broken = _Broken(
        f"{what} was still open {budget:.0f} s later, after {len(events)} events{last}",
        "after the done event, end the generator (return): a stream that never ends holds the browser's connection"
        if done
        else "end every answer: when Claude's stream ends, send a done event and let the generator finish",
    )
    broken.stalled = True
    return broken


def _stuck(app: _App, err: _Broken) -> _Broken:
    """A stream that sent no event at all: if the app failed (it logs its traceback once the client has left), what
    it said, and what to fix; else ``err`` as it was."""
    waited = time.monotonic() + 2
    while "Traceback" not in app.errors.text() and time.monotonic() < waited:
        time.sleep(0.1)
    if "Traceback" not in app.errors.text():
        return err
    what = f"{err}; the server said: {app.errors.last_line()}"
    if "ClientDisconnect" in app.errors.text():
        return _Broken(
            what,
            "the endpoint read the request's body after its stream began (await request.json() in a route that "
            "yields): take the body as a parameter, conversation: Conversation, which FastAPI reads first",
        )
    return _Broken(what, "the app failed while streaming: run uvicorn main:app in a terminal to see its traceback")


def _broke_off(app: _App, what: str, events: list, happened: str) -> _Broken:
    line = app.errors.last_line()
    if not events and RETURNED.search(app.source):
        hint = (
            "FastAPI writes ServerSentEvents only for a route declared with response_class=EventSourceResponse that "
            "yields them: declare it on the route and yield from the endpoint, instead of returning "
            "EventSourceResponse(...)"
        )
    else:
        hint = "the app failed while streaming: run uvicorn main:app in a terminal to see its traceback"
    return _Broken(f"{what} {happened}; the server said: {line}", hint)


def _texts(events) -> str | None:
    """The text of the ``text`` events, or None when an event's data is not a JSON object with a text field."""
    out = ""
    for event in events:
        if event.event == "text":
            data = json.loads(event.data)
            if not isinstance(data, dict) or not isinstance(data.get("text"), str):
                return None
            out += data["text"]
    return out


def _stream_verdict(what: str, events: list, sent: str) -> bool:
    if not any(e.event == "text" for e in events):
        names = sorted({e.event for e in events})
        return report(
            False,
            f"{what} sent no events named text (only {names})",
            "name each event and send its text as JSON: FastAPI's ServerSentEvent has event= and data=",
        )
    try:
        got = _texts(events)
    except ValueError:
        got = None
    if got is None:
        return report(
            False, f'{what}: a text event\'s data is not JSON like {{"text": ...}}', "send data={'text': text}"
        )
    if got != sent:
        at = next((i for i, (a, b) in enumerate(zip(got, sent, strict=False)) if a != b), min(len(got), len(sent)))
        return report(
            False,
            f"{what}: the text changed on the way, from character {at} ({sent[at : at + 20]!r} arrived as {got[at : at + 20]!r})",
            "a newline inside a data: line ends it: put the text in JSON, which writes a newline as \\n",
        )
    if events[-1].event != "done":
        return report(
            False,
            f"{what} ended with {events[-1].event!r}, not a done event",
            "end every answer with one more event, named done, so the page can tell it finished",
        )
    return True


def _asked(question: str) -> dict:
    """The JSON body the page POSTs for a first question."""
    return {"messages": [{"role": "user", "content": question}]}


def _check_stream(app: _App) -> bool:
    """POST /chat"""
    before = len(app.rec.exchanges)
    try:
        events = _stream(app, "POST /chat", "POST", "/chat", json=_asked(TRICKY), headers=SSE)
    except _Broken as err:
        if err.status == 200:
            raise
        raise _Broken(str(err), _refused_hint(err.status)) from None
    sent = "".join(e.text for e in app.rec.exchanges[before:])
    ok = _stream_verdict("POST /chat", events, sent)
    return ok and report(True, f"POST /chat streamed {len(sent)} characters as JSON text events, all intact, then done")


def _refused_hint(status: int) -> str:
    """What to fix when POST /chat answered a JSON conversation with ``status`` instead of a stream."""
    if status in (400, 422):
        return 'accept a JSON body {"messages": [...]}, the conversation the page sends'
    if status in (404, 405):
        return 'declare the route: @app.post("/chat", response_class=EventSourceResponse)'
    if 400 <= status < 500:
        return (
            "your app refused a JSON POST with Host: 127.0.0.1 and neither Sec-Fetch-Site nor Origin, what a script "
            "or curl sends: refuse only a Host, Sec-Fetch-Site or Origin that names another site"
        )
    return "the app failed before streaming: run uvicorn main:app in a terminal to see its traceback"


def _check_post(app: _App) -> bool:
    """POST /chat with a conversation"""
    before = len(app.rec.exchanges)
    events = _stream(app, "POST /chat", "POST", "/chat", json={"messages": CONVERSATION}, headers=SSE)
    exchanges = app.rec.exchanges[before:]
    asked = [m.get("content") for m in exchanges[-1].body.get("messages", [])] if exchanges else []
    if asked != [m["content"] for m in CONVERSATION]:
        return report(
            False,
            "POST /chat did not send the whole conversation to Claude",
            "pass the posted messages on as they came",
        )
    ok = _stream_verdict("POST /chat with a conversation", events, exchanges[-1].text)
    return ok and report(True, f"POST /chat answered a {len(CONVERSATION)}-message conversation, streamed the same way")


SSE = {"Accept": "text/event-stream"}
CLOSE = {"Connection": "close"}


def _check_failures(app: _App) -> bool:
    """when Claude's stream fails"""
    for question, (happened, _) in FAILURES.items():
        what = f"when Claude's stream {happened} mid-answer, POST /chat"
        try:
            # a fresh connection, not kept: an app that fails mid-stream may leave its connection unusable
            events = _stream(app, what, "POST", "/chat", json=_asked(question), headers=SSE | CLOSE)
        except _Broken as err:
            if "broke off" not in str(err) and "empty stream" not in str(err):
                raise
            events = None
        if events is None or not events or events[-1].event not in ("error", "done"):
            ended = "broke off" if events is None else f"ended with {events[-1].event!r}" if events else "sent nothing"
            return report(
                False,
                f"{what} {ended}, with no error or done event last",
                "catch what a stream can raise around the whole of it (lesson 04: the SDK's errors, a transport error "
                "of httpx2, bad data), send an error event, and still end with done",
            )
    return report(
        True,
        f"when Claude's stream failed mid-answer ({' / '.join(h for h, _ in FAILURES.values())}), "
        "the browser's stream still ended with an error or done event",
    )


HAIKU = "Write a haiku about debugging."
BODY = json.dumps(_asked(HAIKU))
FORM = "messages=" + json.dumps(_asked(HAIKU)["messages"])
ATTACKER = "http://attacker.example"
# What another site can make a browser send (method, headers, body: None for a GET with ?message=), and what stops it.
# Over plain http, a browser sends neither Sec-Fetch-Site nor Origin with another site's link, <img> or form.
NO_GET = (
    "a GET /chat that streams lets any link or <img> spend your key (a browser marks neither Sec-Fetch-Site nor "
    "Origin on it over plain http): your page POSTs, so delete GET /chat (or require your page's token, lesson 08)"
)
JSON_ONLY = (
    "start a stream only for Content-Type: application/json, which no form and no other site's fetch can send: "
    "check it before anything else"
)
WHOLE_HOST = (
    "compare the whole host name (without its port) with your own names: a name that merely contains yours is "
    "someone else's"
)
ATTACKS = {
    "a link or <img> on another site, over plain http (GET /chat, neither Sec-Fetch-Site nor Origin)": (
        "GET",
        {},
        None,
        NO_GET,
    ),
    "a text/plain POST from another site (a form or a no-cors fetch, neither header)": (
        "POST",
        {"Content-Type": "text/plain"},
        BODY,
        JSON_ONLY,
    ),
    "a form on another site, over plain http (form-encoded POST, neither header)": (
        "POST",
        {"Content-Type": "application/x-www-form-urlencoded"},
        FORM,
        JSON_ONLY,
    ),
    "a no-cors fetch from another site with a body of no type (Origin only)": (
        "POST",
        {"Origin": ATTACKER},
        BODY,
        JSON_ONLY + ", and refuse an Origin of another site",
    ),
    "a page on another site (Sec-Fetch-Site: cross-site)": (
        "POST",
        {"Sec-Fetch-Site": "cross-site", "Origin": ATTACKER, "Content-Type": "text/plain"},
        BODY,
        "check Host, Sec-Fetch-Site and Origin before anything else, and answer a stranger with a 4xx (lesson 08, "
        "section 7)",
    ),
    "a rebound name (Host: attacker.example)": (
        "POST",
        {"Host": "attacker.example", "Content-Type": "application/json"},
        BODY,
        "check the Host header first: answer only your own names (DNS rebinding), with a 4xx",
    ),
    "a name that only starts like yours (Host: localhost.attacker.example)": (
        "POST",
        {"Host": "localhost.attacker.example", "Content-Type": "application/json"},
        BODY,
        WHOLE_HOST,
    ),
    "a name that only ends like yours (Host: evil-127.0.0.1)": (
        "POST",
        {"Host": "evil-127.0.0.1:8000", "Content-Type": "application/json"},
        BODY,
        WHOLE_HOST,
    ),
}


def _status(app: _App, method: str, headers: dict, body: str | None) -> int:
    """The status of one request to /chat. Of a body (which may be a stream that never ends) only its first piece is
    read, which an app sends once it has asked Claude: whether a request reached Claude is then known."""
    options: dict = {"params": {"message": HAIKU}} if body is None else {"content": body.encode()}
    timeout = app.deadline.left(10)
    with app.http.stream(method, "/chat", headers=headers, timeout=timeout, **options) as response:
        if not 400 <= response.status_code < 500:
            next(response.iter_bytes(), b"")
        return response.status_code


def _check_other_sites(app: _App) -> bool:
    """requests from other sites"""
    before = len(app.rec.exchanges)
    for who, (method, headers, body, hint) in ATTACKS.items():
        status = _status(app, method, headers, body)
        reached = len(app.rec.exchanges) > before
        if not 400 <= status < 500 or reached:
            return report(False, f"{who} got {status}" + (" and reached Claude" if reached else ""), hint)
    origin = str(app.http.base_url).rstrip("/")
    own = {"Sec-Fetch-Site": "same-origin", "Origin": origin, "Content-Type": "application/json"}
    if (status := _status(app, "POST", own, BODY)) != 200:
        return report(
            False,
            f"your own page's request (a JSON POST, Sec-Fetch-Site: same-origin, Origin: {origin}) got {status}",
            "let your own page's JSON POSTs through (and clients without a browser, which send neither header)",
        )
    return report(
        True,
        f"refused {len(ATTACKS)} requests another site can make before they reached Claude; your own page still "
        "streams",
    )


def _check_leaving(app: _App) -> bool:
    """a client that leaves"""
    cut_before = app.api.stats()["streams_cut_by_client"]
    budget = app.deadline.left(app.stream_timeout)
    what = "POST /chat (a long answer, to leave)"
    with app.http.stream("POST", "/chat", json=_asked("Count to 2000"), headers=SSE, timeout=budget) as response:
        for new in _bounded(what, response, budget, []):
            if new:
                break  # leaving the block closes the connection, as a closed tab does
    deadline = time.monotonic() + app.deadline.left(LEAVE_TIMEOUT)
    while time.monotonic() < deadline:
        if app.api.stats()["streams_cut_by_client"] > cut_before:
            return report(True, "when the client left mid-answer, the app closed its stream to Claude")
        time.sleep(0.05)
    return report(
        False,
        f"{LEAVE_TIMEOUT:.0f} s after the client left, the app was still reading the answer from Claude",
        "a sync generator runs in a thread that nobody stops: make it async (async with, async for) so FastAPI can cancel it",
    )


READS_STREAM = (_check_post, _check_failures, _check_leaving)  # the steps that stream as _check_stream did


# ---------------------------------------------------------------------------------------------------------------------
# The solution, where it can run


def solution_folder() -> Path:
    """A copy of ``notebooks/capstone`` with the solution's ``chat.py`` and ``main.py`` in it (removed at exit)."""
    target = Path(tempfile.mkdtemp(prefix="capstone-solved-")) / "capstone"
    shutil.copytree(LESSON / "capstone", target, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("chat.py", "main.py"):
        shutil.copy(LESSON / "solutions" / "capstone" / name, target / name)
    atexit.register(shutil.rmtree, target.parent, ignore_errors=True)
    return target
