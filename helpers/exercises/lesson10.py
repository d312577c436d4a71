"""Lesson 10 · the capstone: run the learner's ``chat.py`` and ``main.py`` for real and say what works.

Both run in their own processes against a local Messages API that this checker starts (offline, whatever the
lesson's mode, so no key is spent and every answer is known). A small recorder in front of that API keeps each
request the learner's code sent and the text it streamed back, so the checker can tell:

- ``check_chat(folder)``: ``python chat.py`` and ``python chat.py --raw``, fed two turns on stdin. Each request asks
  for a stream (with ``messages.stream()``, or ``create(stream=True)`` for ``--raw``: the SDK names its helper in
  the ``x-stainless-helper-method`` header); each answer is on screen while its stream is still open (the recorder
  holds the stream's end until the answer's first words show, or ``HOLD`` seconds); turn 2 sends turn 1's question
  and answer back.
- ``check_app(folder)``: ``uvicorn main:app`` on 127.0.0.1: the page at ``/``, ``GET /chat`` as JSON ``text``
  events that keep every character, a ``done`` event last, ``POST /chat`` with a conversation, requests from other
  sites refused before they reach the API, and the upstream stream closed when the client leaves (the local API
  counts it in ``streams_cut_by_client``).

A learner's mistake (a syntax error, an import error, a server that never starts, a crash) is a NOT YET line with a
hint, never a traceback from here.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
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

import httpx2

from helpers.exercises import report
from helpers.offline.app import LocalMessagesAPI
from helpers.offline.server import make_config, serve_in_thread
from helpers.web import Reader, parse

TURNS = ("Write a haiku about streaming.", "What did I ask you for just now?")
TRICKY = "Write a multi-line note with quotes, a tab, unicode and a line that starts with 'data: '."
CONVERSATION = [
    {"role": "user", "content": "Write a haiku about streaming."},
    {"role": "assistant", "content": "Tokens drift like snow\nEach word lands before the next\nThe answer unfolds"},
    {"role": "user", "content": "Now a haiku about debugging."},
]
HOLD = 5.0  # seconds the recorder keeps a stream open, waiting for its first words on the learner's screen
RUN_TIMEOUT = 90.0  # seconds for one run of chat.py: a hang detector, generous for a busy machine
START_TIMEOUT = 60.0  # seconds for uvicorn main:app to answer its first request
LEAVE_TIMEOUT = 15.0  # seconds for the upstream stream to close after the client left
APP_PACE = 100  # tokens per second: the count the client leaves stays open for ~40 s unless the app closes it
OFFLINE_KEY = "offline-capstone-check"  # what the learner's process sees as ANTHROPIC_API_KEY: never a real key
LESSON = Path(__file__).resolve().parents[2] / "notebooks"


# ---------------------------------------------------------------------------------------------------------------------
# The learner's output, and the local API with its recorder


class Output:
    """What a process writes to one pipe, collected by a thread as it arrives."""

    def __init__(self, pipe):
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe) -> None:
        for chunk in iter(lambda: os.read(pipe.fileno(), 65536), b""):
            with self._lock:
                self._chunks.append(chunk)

    def text(self) -> str:
        with self._lock:
            return b"".join(self._chunks).decode("utf-8", "replace")

    def last_line(self) -> str:
        self._thread.join(timeout=2)
        lines = [line.strip() for line in self.text().splitlines() if line.strip()]
        return lines[-1][:300] if lines else "(nothing on stderr)"


@dataclass
class Exchange:
    """One request to /v1/messages and the text streamed back."""

    body: dict
    helper: str  # the SDK's x-stainless-helper-method header: "stream" from messages.stream()
    screen_from: int  # how much the learner had printed when the request arrived
    text: str = ""
    first: str = ""  # the first text delta
    on_screen: bool | None = None  # the first words showed while the stream was open (None: not held)


class Recorder:
    """ASGI middleware in front of the local API: records each /v1/messages exchange; with ``screen``, holds the end
    of each stream (its ``message_delta``) until the answer's first words are on that screen, or ``HOLD`` seconds."""

    def __init__(self, app, screen: Output | None = None):
        self.app, self.screen = app, screen
        self.exchanges: list[Exchange] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/v1/messages":
            return await self.app(scope, receive, send)
        raw, more = b"", True
        while more:
            message = await receive()
            raw += message.get("body", b"")
            more = message["type"] == "http.request" and message.get("more_body", False)
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        seen = len(self.screen.text()) if self.screen else 0
        exchange = Exchange(body if isinstance(body, dict) else {}, headers.get("x-stainless-helper-method", ""), seen)
        self.exchanges.append(exchange)
        reader, replayed = Reader(), False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": raw, "more_body": False}

        async def watch(message):
            data = message.get("body", b"") if message["type"] == "http.response.body" else b""
            end = data.find(b"event: message_delta")
            if self.screen and end >= 0 and exchange.on_screen is None:
                self._note(exchange, reader, data[:end])
                await send({"type": "http.response.body", "body": data[:end], "more_body": True})
                await self._hold(exchange)
                message, data = {**message, "body": data[end:]}, data[end:]
            self._note(exchange, reader, data)
            await send(message)

        await self.app(scope, replay, watch)

    @staticmethod
    def _note(exchange: Exchange, reader: Reader, data: bytes) -> None:
        for event in reader.feed(data):
            if event.event == "content_block_delta":
                delta = json.loads(event.data)["delta"]
                if delta["type"] == "text_delta":
                    exchange.text += delta["text"]
                    exchange.first = exchange.first or delta["text"]

    async def _hold(self, exchange: Exchange) -> None:
        if any(e.on_screen is False for e in self.exchanges):  # one wait is enough to know
            exchange.on_screen = False
            return
        deadline = time.monotonic() + HOLD
        while time.monotonic() < deadline:
            if exchange.first and exchange.first in self.screen.text()[exchange.screen_from :]:
                exchange.on_screen = True
                return
            await asyncio.sleep(0.02)
        exchange.on_screen = False


def _serve(pace, screen: Output | None = None):
    recorder = Recorder(LocalMessagesAPI(make_config(pace)), screen)
    return recorder, serve_in_thread(recorder, name="capstone-local-api")


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
        return "an import failed: check its spelling, and run from the course's environment (make lab)"
    return f"run {what} in a terminal to see the whole traceback"


def _text_of(content) -> str:
    if isinstance(content, str):
        return content
    blocks = content if isinstance(content, list) else []
    return "".join(b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text")


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
    holder: dict = {}
    screen = _LateOutput(holder)
    recorder, api = _serve("instant", screen)
    try:
        process = subprocess.Popen(
            [sys.executable, *command.split()],
            cwd=path,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(api.url),
        )
        holder["out"], errors = Output(process.stdout), Output(process.stderr)
        process.stdin.write(("\n".join(TURNS) + "\n").encode())
        process.stdin.close()
        try:
            code = process.wait(timeout=run_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return _timeout_verdict(command, run_timeout, errors, screen.text(), recorder.exchanges)
        return _chat_verdict(command, method, raw, code, errors, screen.text(), recorder.exchanges)
    finally:
        api.stop()


SLOW = "slow to start (a busy machine?): run the check again"


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


class _LateOutput:
    """The screen the recorder watches: the learner's stdout, once the process exists."""

    def __init__(self, holder: dict):
        self._holder = holder

    def text(self) -> str:
        out = self._holder.get("out")
        return out.text() if out else ""


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
            f"{command}: answer {late} was not on screen while it streamed (held open {HOLD:.0f} s)",
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
    if roles[-3:] != ["user", "assistant", "user"] or _text_of(sent[-3].get("content")) != TURNS[0]:
        return (
            False,
            f"{command}: turn 2 sent the roles {roles}",
            "the conversation goes question, answer, question: add the answer between the two questions",
        )
    answer = _text_of(sent[-2].get("content"))
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


def check_app(folder="capstone", start_timeout: float = START_TIMEOUT) -> None:
    """Serve ``main.py`` with ``uvicorn main:app`` on 127.0.0.1 and try it as a browser and as an attacker would."""
    path = _folder(folder, "main.py")
    if path is None:
        return
    recorder, api = _serve(APP_PACE)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "main:app", "--fd", str(sock.fileno()), "--log-level", "warning"],
        cwd=path,
        pass_fds=(sock.fileno(),),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_env(api.url),
    )
    sock.close()  # the server has its own copy: if it dies, connections are refused rather than left waiting
    errors = Output(server.stderr)
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
            report(
                page.status_code == 200 and page.headers.get("content-type", "").startswith("text/html"),
                f"GET / answered {page.status_code} {page.headers.get('content-type', '')}".strip(),
                "serve the chat page (index.html) at /",
            )
            for step in (_check_get, _check_post, _check_other_sites, _check_leaving):
                try:
                    step(http, recorder, api)
                except (httpx2.HTTPError, ValueError, KeyError, TypeError) as err:
                    report(
                        False,
                        f"{step.__doc__}: {type(err).__name__}: {err}",
                        "see what the server printed: run uvicorn main:app in a terminal",
                    )
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        api.stop()


def _wait_for(server, http: httpx2.Client, timeout: float):
    """GET / once the server answers; or a phrase saying why it never did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return f"stopped (exit code {server.returncode})"
        try:
            return http.get("/")
        except httpx2.TransportError:
            time.sleep(0.1)
    return f"did not answer within {timeout:.0f} s"


def _events(response) -> list:
    if not response.headers.get("content-type", "").startswith("text/event-stream"):
        raise ValueError(
            f"answered {response.status_code} {response.headers.get('content-type')}: {response.text[:120]!r}"
        )
    return parse(response.content)


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


def _check_get(http, recorder, api) -> bool:
    """GET /chat"""
    before = len(recorder.exchanges)
    events = _events(http.get("/chat", params={"message": TRICKY}, headers={"Accept": "text/event-stream"}))
    sent = "".join(e.text for e in recorder.exchanges[before:])
    ok = _stream_verdict("GET /chat", events, sent)
    return ok and report(True, f"GET /chat streamed {len(sent)} characters as JSON text events, all intact, then done")


def _check_post(http, recorder, api) -> bool:
    """POST /chat"""
    before = len(recorder.exchanges)
    response = http.post("/chat", json={"messages": CONVERSATION}, headers={"Accept": "text/event-stream"})
    if response.status_code != 200:
        return report(
            False,
            f"POST /chat with a conversation answered {response.status_code}: {response.text[:120]!r}",
            'accept a JSON body {"messages": [...]}, the conversation the page sends',
        )
    events = _events(response)
    asked = (
        [m.get("content") for m in recorder.exchanges[before].body.get("messages", [])]
        if recorder.exchanges[before:]
        else []
    )
    if asked != [m["content"] for m in CONVERSATION]:
        return report(
            False,
            "POST /chat did not send the whole conversation to Claude",
            "pass the posted messages on as they came",
        )
    ok = _stream_verdict("POST /chat", events, recorder.exchanges[before].text)
    return ok and report(True, f"POST /chat answered a {len(CONVERSATION)}-message conversation, streamed the same way")


ATTACKS = {
    "a page on another site (Sec-Fetch-Site: cross-site)": {
        "Sec-Fetch-Site": "cross-site",
        "Origin": "https://attacker.example",
    },
    "an older browser's request from another site (Origin only)": {"Origin": "https://attacker.example"},
    "a rebound name (Host: attacker.example)": {"Host": "attacker.example"},
}


def _check_other_sites(http, recorder, api) -> bool:
    """requests from other sites"""
    before = len(recorder.exchanges)
    for who, headers in ATTACKS.items():
        response = http.get("/chat", params={"message": "Write a haiku about debugging."}, headers=headers)
        if not 400 <= response.status_code < 500 or len(recorder.exchanges) > before:
            return report(
                False,
                f"{who} got {response.status_code}"
                + (" and reached Claude" if len(recorder.exchanges) > before else ""),
                "check Host, Sec-Fetch-Site and Origin before anything else, and answer a stranger with a 4xx (lesson 08, section 7)",
            )
    own = http.get(
        "/chat", params={"message": "Write a haiku about debugging."}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    if own.status_code != 200:
        return report(
            False,
            f"your own page's request got {own.status_code}",
            "let same-origin requests (and clients without a browser) through",
        )
    return report(
        True,
        f"refused {len(ATTACKS)} requests from other sites before they reached Claude; your own page still streams",
    )


def _check_leaving(http, recorder, api) -> bool:
    """a client that leaves"""
    cut_before = api.stats()["streams_cut_by_client"]
    with http.stream(
        "GET", "/chat", params={"message": "Count to 2000"}, headers={"Accept": "text/event-stream"}
    ) as response:
        reader = Reader()
        for chunk in response.iter_bytes():
            if reader.feed(chunk):
                break  # leaving the block closes the connection, as a closed tab does
    deadline = time.monotonic() + LEAVE_TIMEOUT
    while time.monotonic() < deadline:
        if api.stats()["streams_cut_by_client"] > cut_before:
            return report(True, "when the client left mid-answer, the app closed its stream to Claude")
        time.sleep(0.05)
    return report(
        False,
        f"{LEAVE_TIMEOUT:.0f} s after the client left, the app was still reading the answer from Claude",
        "a sync generator runs in a thread that nobody stops: make it async (async with, async for) so FastAPI can cancel it",
    )


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
