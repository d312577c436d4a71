"""The capstone's checker runs a learner's chat.py and main.py for real: NOT YET with a hint that points for the
starters and for each typical mistake, never a traceback (the solution's PASS is in test_solutions: 10_capstone.py).

Each scenario is a folder of learner files checked in its own process, all started up front and run several at a time,
the ones that wait longest first: most of a check is waiting (Python and uvicorn starting, a deadline running out), so
this file takes about as long as its slowest scenario. One fixture runs them all, so the module is one xdist_group:
under pytest-xdist its tests go to one worker, which runs the checks once.
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest

from helpers.exercises import lesson10, recorder
from helpers.exercises.harness import end_group, port_free, spawn

from .conftest import ROOT

pytestmark = [
    pytest.mark.slow,  # runs the capstone checker over every mistake: `make test`, not `make unit`
    pytest.mark.xdist_group("capstone_checks"),  # one worker runs the module fixture (above)
]

STARTERS = ROOT / "notebooks" / "capstone"
SOLVED = ROOT / "notebooks" / "solutions" / "capstone"

JSON_RULE = (  # the solution's rule that a stream starts only for a JSON POST
    '    if request.url.path != "/" and (request.method != "POST" or kind != "application/json"):\n'
    '        return refuse(415, "invalid_request_error", "expected a POST with Content-Type: application/json")\n'
)
POST_ROUTE = '@app.post("/chat", response_class=EventSourceResponse)\n'
GET_ROUTE = (  # the GET /chat most tutorials have, for EventSource
    '@app.get("/chat", response_class=EventSourceResponse)\nasync def chat(message: str):\n'
    '    async for event in answer([{"role": "user", "content": message}]):\n        yield event\n\n\n'
)
PAGE_TOKEN = (  # lesson 08's signed, expiring page token
    "import hashlib, hmac, secrets, time\n\nKEY = secrets.token_bytes(32)\n\n\n"
    "def token_ok(token: str) -> bool:\n"
    '    expires, _, signature = token.partition(".")\n'
    "    good = hmac.new(KEY, expires.encode(), hashlib.sha256).hexdigest()\n"
    "    return hmac.compare_digest(signature, good) and expires.isdigit() and int(expires) > time.time()\n\n\n"
)

# Each mistake (or a right answer written unlike the solution): the file, then each of the solution's lines it
# changes followed by what replaces it.
MISTAKES = {
    "syntax": ("chat.py", "def main() -> None:", "def main() -> None"),
    "forgets": (
        "chat.py",
        '        messages.append({"role": "user", "content": prompt})',
        '        messages = [{"role": "user", "content": prompt}]',
    ),
    "unflushed": (  # and --raw answered with messages.stream()
        "chat.py",
        '            print(text, end="", flush=True)\n        return stream',
        '            print(text, end="")\n        return stream',
    ),
    "import": (
        "main.py",
        "from fastapi.sse import EventSourceResponse,",
        "from fastapi.sse import EventSourceRespons,",
    ),
    "hangs": ("main.py", "app = FastAPI(", "import time\n\ntime.sleep(60)\napp = FastAPI("),
    "no_done": ("main.py", '    yield ServerSentEvent(event="done", data={})', ""),
    "slow_chat": (
        "chat.py",
        'if __name__ == "__main__":\n',
        'if __name__ == "__main__":\n    __import__("time").sleep(60)\n',
    ),
    "flood": (
        "chat.py",
        'if __name__ == "__main__":\n',
        'if __name__ == "__main__":\n    while True:\n        print("x" * 4096)\n',
    ),
    "children": (  # starts a child that holds a port and would outlive it; otherwise right
        "chat.py",
        'if __name__ == "__main__":\n',
        'if __name__ == "__main__":\n    __import__("subprocess").Popen([sys.executable, "-c", HOLD_PORT])\n',
    ),
    "never_ends": (  # keep-alive comments forever after done
        "main.py",
        '    yield ServerSentEvent(event="done", data={})',
        '    yield ServerSentEvent(event="done", data={})\n    while True:\n'
        '        await __import__("asyncio").sleep(0.2)\n        yield ServerSentEvent(comment="keep-alive")',
    ),
    "endless_page": (  # GET / streams a page that never ends: the check reads its status, not its body
        "main.py",
        "from fastapi.responses import FileResponse, JSONResponse",
        "from fastapi.responses import FileResponse, JSONResponse, StreamingResponse",
        '    return FileResponse(Path(__file__).with_name("index.html"))',
        "    async def endless():\n        while True:\n            yield b'<p>' + b'x' * 65536\n\n"
        '    return StreamingResponse(endless(), media_type="text/html")',
    ),
    "leave_comments": (  # the long answer the check leaves sends comments only, never an event
        "main.py",
        '    """``text`` events as the answer arrives, ``error`` if the API fails, and always ``done`` last."""\n',
        '    """``text`` events as the answer arrives, ``error`` if the API fails, and always ``done`` last."""\n'
        '    while "Count to" in str(messages[-1].get("content")):\n'
        '        await __import__("asyncio").sleep(0.01)\n        yield ServerSentEvent(comment="thinking")\n',
    ),
    "narrow_catch": (  # the catch most tutorials write: a dropped connection gets through
        "main.py",
        "    except (anthropic.APIError, httpx2.TransportError, ValueError) as err:",
        "    except anthropic.APIError as err:",
    ),
    "substring_host": (
        "main.py",
        '    if host.rsplit(":", 1)[0] not in OWN_HOSTS:',
        "    if not any(name in host for name in OWN_HOSTS):",
    ),
    "port_exact": (  # a Host check with the port the lesson runs on: right on 8000, refused anywhere else
        "main.py",
        '    if host.rsplit(":", 1)[0] not in OWN_HOSTS:',
        '    if host not in ("127.0.0.1:8000", "localhost:8000"):',
    ),
    "returned": (  # a plain endpoint that returns the response class instead of declaring it
        "main.py",
        POST_ROUTE + "async def chat_conversation(conversation: Conversation):\n",
        '@app.post("/chat")\nasync def chat_conversation(conversation: Conversation):\n'
        "    return EventSourceResponse(answer(conversation.messages))\n",
        "    async for event in answer(conversation.messages):\n        yield event\n",
        "",
    ),
    "get_kept": (  # the rule that trusted a request marked with neither Sec-Fetch-Site nor Origin, and a GET /chat
        "main.py",
        JSON_RULE,
        "",
        POST_ROUTE,
        GET_ROUTE + POST_ROUTE,
    ),
    "reads_json": (  # the body read with request.json(), whatever its Content-Type, and no JSON rule
        "main.py",
        JSON_RULE,
        "",
        "from fastapi import FastAPI, Request",
        "from fastapi import Depends, FastAPI, Request",
        POST_ROUTE,
        "async def posted(request: Request) -> Conversation:\n    return Conversation(**await request.json())\n\n\n"
        + POST_ROUTE,
        "async def chat_conversation(conversation: Conversation):",
        "async def chat_conversation(conversation: Conversation = Depends(posted)):",
    ),
    "form_accepted": (  # a form-encoded POST accepted too (a page without JavaScript), JSON otherwise
        "main.py",
        JSON_RULE,
        "",
        "from fastapi import FastAPI, Request",
        "import json\nfrom urllib.parse import parse_qs\n\nfrom fastapi import Depends, FastAPI, HTTPException, Request",
        POST_ROUTE,
        "async def posted(request: Request) -> Conversation:\n"
        '    kind = request.headers.get("content-type", "")\n'
        '    if kind.startswith("application/x-www-form-urlencoded"):\n'
        "        form = parse_qs((await request.body()).decode())\n"
        '        return Conversation(messages=json.loads(form["messages"][0]))\n'
        '    if kind != "application/json":\n'
        "        raise HTTPException(415)\n"
        "    return Conversation(**await request.json())\n\n\n" + POST_ROUTE,
        "async def chat_conversation(conversation: Conversation):",
        "async def chat_conversation(conversation: Conversation = Depends(posted)):",
    ),
    "typeless_json": (  # a body with no Content-Type read as JSON (as FastAPI once did), Origin not checked
        "main.py",
        JSON_RULE,
        "",
        '    if site not in (None, "same-origin", "none") or (site is None and origin not in (None, f"http://{host}")):',
        '    if site not in (None, "same-origin", "none"):',
        "from fastapi import FastAPI, Request",
        "from fastapi import Depends, FastAPI, HTTPException, Request",
        POST_ROUTE,
        "async def posted(request: Request) -> Conversation:\n"
        '    if request.headers.get("content-type", "application/json") != "application/json":\n'
        "        raise HTTPException(415)\n"
        "    return Conversation.model_validate_json(await request.body())\n\n\n" + POST_ROUTE,
        "async def chat_conversation(conversation: Conversation):",
        "async def chat_conversation(conversation: Conversation = Depends(posted)):",
    ),
    "page_refused": (  # the JSON-POST rule in front of every route, the page's too
        "main.py",
        'if request.url.path != "/" and (request.method != "POST" or kind != "application/json"):',
        'if request.method != "POST" or kind != "application/json":',
    ),
    "strict_headers": (  # a POST with neither Sec-Fetch-Site nor Origin refused (a script's, curl's)
        "main.py",
        '    if site not in (None, "same-origin", "none") or (site is None and origin not in (None, f"http://{host}")):',
        '    if site not in ("same-origin", "none") and request.url.path != "/":',
    ),
    "body_in_stream": (  # the body read inside the route that yields: the stream never starts
        "main.py",
        "async def chat_conversation(conversation: Conversation):",
        "async def chat_conversation(request: Request):",
        "    async for event in answer(conversation.messages):",
        '    async for event in answer((await request.json())["messages"]):',
    ),
    "right_json_by_fastapi": (  # right: no JSON rule of its own, as FastAPI reads a model only from JSON; no GET
        "main.py",
        JSON_RULE,
        "",
    ),
    "right_page_token": (  # right: a GET /chat for EventSource, with lesson 08's page token
        "main.py",
        "app = FastAPI(",
        PAGE_TOKEN + "app = FastAPI(",
        '(request.method != "POST" or kind != "application/json")',
        '(request.method != "POST" or kind != "application/json") and not '
        '(request.method == "GET" and token_ok(request.query_params.get("token", "")))',
        POST_ROUTE,
        GET_ROUTE + POST_ROUTE,
    ),
    "eof_loop": (  # keeps asking after the input ended (slowly, not to spin a core)
        "chat.py",
        "        except EOFError:  # Ctrl-D, or the end of piped input\n            break",
        '        except EOFError:\n            __import__("time").sleep(0.2)\n            continue',
    ),
}
CHECKS = {  # scenario: (folder's mistake or None for the starters, the check to run); the longest waits first
    "eof_loop": ("eof_loop", "check_chat,30"),  # waits its whole run_timeout
    "right_page_token": ("right_page_token", "check_app"),
    "right_json_by_fastapi": ("right_json_by_fastapi", "check_app"),
    "starter_app": (None, "check_app"),  # waits lesson10.LEAVE_TIMEOUT for the app to stop reading
    "starter_app_collected": ("starter_app_collected", "check_app"),
    "hangs": ("hangs", "check_app,3"),  # waits start_timeout, then the grace before SIGKILL
    "never_ends": ("never_ends", "check_app,60,4"),
    "leave_comments": ("leave_comments", "check_app,60,4"),
    "endless_page": ("endless_page", "check_app"),
    "body_in_stream": ("body_in_stream", "check_app,60,4"),
    "narrow_catch": ("narrow_catch", "check_app"),
    "no_done": ("no_done", "check_app"),
    "unflushed": ("unflushed", "check_chat"),
    "substring_host": ("substring_host", "check_app"),
    "returned": ("returned", "check_app"),
    "forgets": ("forgets", "check_chat"),
    "slow_chat": ("slow_chat", "check_chat,3"),
    "children": ("children", "check_chat"),
    "starter_chat": (None, "check_chat"),
    "import": ("import", "check_app"),
    "get_kept": ("get_kept", "check_app"),
    "reads_json": ("reads_json", "check_app"),
    "form_accepted": ("form_accepted", "check_app"),
    "typeless_json": ("typeless_json", "check_app"),
    "port_exact": ("port_exact", "check_app"),
    "page_refused": ("page_refused", "check_app"),
    "strict_headers": ("strict_headers", "check_app"),
    "flood": ("flood", "check_chat"),
    "syntax": ("syntax", "check_chat"),
}
# A child that binds a port, writes it and its pid beside chat.py, and waits for 10 minutes
HOLD_PORT = (
    "import os, socket, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
    "open('child.txt', 'w').write(f'{s.getsockname()[1]} {os.getpid()}'); time.sleep(600)"
)


# Python's cycle collector as it runs by itself, when it is on (gc.isenabled), only more often
COLLECTOR = """import gc, threading, time


def _collect():
    while True:
        time.sleep(0.2)
        if gc.isenabled():
            gc.collect()


threading.Thread(target=_collect, daemon=True).start()
"""


def make_folder(tmp, mistake: str) -> str:
    folder = tmp / mistake
    shutil.copytree(STARTERS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    if mistake == "starter_app_collected":  # the starter's sync generator, in an app whose collector runs often
        main = folder / "main.py"
        main.write_text(COLLECTOR + main.read_text())
        return str(folder)
    for name in ("chat.py", "main.py"):
        shutil.copy(SOLVED / name, folder / name)
    name, *changes = MISTAKES[mistake]
    source = (folder / name).read_text()
    for old, new in zip(changes[::2], changes[1::2], strict=True):
        assert old in source, f"the solution's {name} no longer has {old!r}: update MISTAKES"
        source = source.replace(old, new, 1)
    if mistake == "children":
        source = f"import sys\n\nHOLD_PORT = {HOLD_PORT!r}\n" + source
    (folder / name).write_text(source)
    if mistake == "unflushed":
        chat = (folder / "chat.py").read_text()
        (folder / "chat.py").write_text(chat.replace("reply = raw_reply if", "reply = stream_reply if"))
    return str(folder)


class PerThreadStdout(io.TextIOBase):
    """sys.stdout for checks running side by side: each thread's prints go to its own buffer."""

    def __init__(self):
        self.local = threading.local()

    def write(self, text: str) -> int:
        return getattr(self.local, "buffer", sys.__stdout__).write(text)


def run_check(stdout: PerThreadStdout, folder: str, call: str) -> str:
    stdout.local.buffer = io.StringIO()
    check, *timeouts = call.split(",")
    names = ("start_timeout", "stream_timeout") if check == "check_app" else ("run_timeout",)
    options = {name: float(value) for name, value in zip(names, timeouts, strict=False)}
    getattr(lesson10, check)(folder, **options)
    return stdout.local.buffer.getvalue()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("capstone")
    folders = {
        name: str(STARTERS) if mistake is None else make_folder(tmp, mistake) for name, (mistake, _) in CHECKS.items()
    }
    stdout, saved = PerThreadStdout(), (sys.stdout, recorder.HOLD)
    # A screen that never shows the text costs one HOLD; a right chat must print within it while the other scenarios
    # load the machine: 1.5 s left it little room at load average 11
    sys.stdout, recorder.HOLD = stdout, 4.0
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            futures = {name: pool.submit(run_check, stdout, folders[name], call) for name, (_, call) in CHECKS.items()}
            yield {name: future.result() for name, future in futures.items()} | {"children_folder": folders["children"]}
    finally:
        sys.stdout, recorder.HOLD = saved


def lines(output: str) -> list[str]:
    out = output.splitlines()
    assert out and all(line.startswith(("PASS ✓", "NOT YET ✗")) for line in out), output
    assert all("hint:" in line for line in out if line.startswith("NOT YET")), output
    return out


def test_the_starter_chat_is_not_yet_streamed(outputs):
    assert lines(outputs["starter_chat"]) == [
        "NOT YET ✗ chat.py asked for whole answers, not streams — hint: open each answer with "
        "client.messages.stream() and read it piece by piece as it arrives",
        "NOT YET ✗ chat.py --raw asked for whole answers, not streams — hint: open each answer with "
        "client.messages.create(stream=True) and read it piece by piece as it arrives",
    ]


def test_the_starter_app_has_the_tutorials_four_holes(outputs):
    out = lines(outputs["starter_app"])
    assert out[0].startswith("PASS ✓ GET / answered 200 text/html")
    assert out[1].startswith("NOT YET ✗ POST /chat sent no events named text") and "ServerSentEvent" in out[1]
    assert out[2].startswith("NOT YET ✗ POST /chat with a conversation sent no events named text")
    assert out[3].startswith("NOT YET ✗ when Claude's stream sent an error event mid-answer, POST /chat broke off")
    assert (
        out[4].startswith("NOT YET ✗ a link or <img> on another site, over plain http") and "reached Claude" in out[4]
    )
    assert "delete GET /chat" in out[4]
    assert (
        out[5].startswith(f"NOT YET ✗ {lesson10.LEAVE_TIMEOUT:.0f} s after the client left, the app was still reading")
        and "async" in out[5]
    )


def test_a_sync_generator_the_collector_closes_is_still_not_yet(outputs):
    """Python's cycle collector closes a paused generator whenever it runs: the starter passed "a client that leaves"
    about 1 run in 7 that way. An app whose collector runs often must not pass either."""
    out = lines(outputs["starter_app_collected"])
    assert out[5].startswith(f"NOT YET ✗ {lesson10.LEAVE_TIMEOUT:.0f} s after the client left"), out[5]


def test_a_syntax_error_is_named_with_its_line(outputs):
    out = lines(outputs["syntax"])
    assert len(out) == 2 and all("stopped with an error: SyntaxError" in line for line in out)
    assert "fix the line the error names" in out[0]


def test_a_chat_that_forgets_is_told_what_turn_2_sent(outputs):
    out = lines(outputs["forgets"])
    assert all("turn 2 sent 1 message(s), so Claude had forgotten turn 1" in line for line in out), out


def test_text_printed_without_flush_and_the_wrong_method_for_raw(outputs):
    out = lines(outputs["unflushed"])
    assert out[0].startswith("NOT YET ✗ chat.py: answer 1 was not on screen while it streamed") and "flush" in out[0]
    assert out[1].startswith("NOT YET ✗ chat.py --raw used client.messages.stream()")


def test_an_app_that_cannot_import_or_never_starts(outputs):
    (imported,) = lines(outputs["import"])
    assert "uvicorn main:app stopped (exit code 1): ImportError: cannot import name 'EventSourceRespons'" in imported
    assert "an import failed" in imported
    (hangs,) = lines(outputs["hangs"])
    assert hangs.startswith("NOT YET ✗ uvicorn main:app did not answer within 3 s: (nothing on stderr)")
    assert hangs.endswith(
        "hint: " + lesson10.SLOW
    )  # silent and still starting: not the code's fault, as far as we know


def test_a_chat_slow_to_start_is_not_blamed_on_its_code(outputs):
    out = lines(outputs["slow_chat"])
    assert len(out) == 2 and all("was still running 3 s after its input ended" in line for line in out), out
    assert all("0 of 2 answers and nothing on stderr" in line and line.endswith(lesson10.SLOW) for line in out), out
    assert not any("EOFError" in line for line in out)


def test_a_chat_that_asks_again_after_the_input_ended_is_told_about_eof(outputs):
    out = lines(outputs["eof_loop"])
    assert len(out) == 2 and all("was still running 30 s after its input ended" in line for line in out), out
    assert all("input() raises EOFError" in line for line in out), out


def test_an_app_without_a_done_event(outputs):
    out = lines(outputs["no_done"])
    assert [line.split(" ✗")[0].split(" ✓")[0] for line in out] == [
        "PASS",
        "NOT YET",
        "NOT YET",
        "PASS",
        "PASS",
        "PASS",
    ]
    assert "POST /chat ended with 'text', not a done event" in out[1]


def test_bad_folders(capsys):
    lesson10.check_chat(ROOT / "no-such-folder")
    assert capsys.readouterr().out.startswith("NOT YET ✗ there is no chat.py in")
    with pytest.raises(TypeError, match="expected the folder with your main.py as a str or Path, got int"):
        lesson10.check_app(5)


def test_a_flood_of_output_is_named_and_stopped(outputs):
    out = lines(outputs["flood"])
    assert len(out) == 2 and all("flooded its output" in line and "MB" in line for line in out), out
    assert all("a loop that prints" in line for line in out), out


def test_nothing_the_learner_started_keeps_running_or_holds_a_port(outputs, tmp_path_factory):
    out = lines(outputs["children"])
    assert all(line.startswith("PASS") for line in out), out  # the chat itself is right
    child = Path(outputs["children_folder"]) / "child.txt"
    port, pid = map(int, child.read_text().split())
    assert port_free(port), f"the child's port {port} is still held"
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()


def test_a_stream_that_never_ends_is_named(outputs):
    out = lines(outputs["never_ends"])
    assert out[0].startswith("PASS ✓ GET /")
    assert "POST /chat: POST /chat was still open 4 s later" in out[1] and "end the generator" in out[1], out[1]


def test_a_page_that_never_ends_is_checked_by_its_status(outputs):
    """GET / was read whole: an endless page took the checker, in the learner's kernel, to 9 GiB in 40 s, no verdict."""
    out = lines(outputs["endless_page"])
    assert out[0].startswith("PASS ✓ GET / answered 200 text/html"), out
    assert all(line.startswith("PASS") for line in out), out  # the rest is the solution's


def test_a_stream_of_comments_alone_is_not_read_for_ever(outputs):
    """The step that leaves mid-answer read until the first event: comments alone kept it reading for good."""
    out = lines(outputs["leave_comments"])
    leaving = next(line for line in out if "a client that leaves" in line)
    assert leaving.startswith("NOT YET ✗") and "was still open 4 s later, after 0 events" in leaving, leaving
    assert "send a done event" in leaving, leaving


def test_an_upstream_failure_must_still_end_with_error_or_done(outputs):
    out = lines(outputs["narrow_catch"])
    failed = next(line for line in out if "when Claude's stream" in line)
    assert failed.startswith("NOT YET ✗") and "dropped the connection mid-answer, POST /chat" in failed
    assert "with no error or done event last" in failed
    assert "lesson 04" in failed and sum(line.startswith("PASS") for line in out) == 5, out


def test_a_substring_host_check_is_caught(outputs):
    out = lines(outputs["substring_host"])
    sites = next(line for line in out if "Host" in line or "another site" in line)
    assert sites.startswith("NOT YET ✗") and "localhost.attacker.example" in sites
    assert "compare the whole host name" in sites


def test_returning_event_source_response_gets_a_hint_that_fits(outputs):
    out = lines(outputs["returned"])
    assert out[1].startswith("NOT YET ✗ POST /chat: POST /chat sent an empty stream"), out[1]
    assert "response_class=EventSourceResponse" in out[1] and "instead of returning" in out[1]
    assert "has no attribute 'encode'" in out[1]  # what the server said
    # the steps that read POST /chat's stream say why they were not tried, not a hint about code the learner did not
    # write (a catch they have, a sync generator they do not have)
    later = [line for line in out[2:] if line.startswith("NOT YET")]
    assert later and all("not tried, as POST /chat did not stream" in line for line in later), out
    assert not any("catch what a stream can raise" in line or "sync generator" in line for line in out), out


def test_a_host_check_that_keeps_the_port_is_told_so(outputs):
    out = lines(outputs["port_exact"])
    assert len(out) == 1 and "and 200 to Host: 127.0.0.1:8000" in out[0], out  # nothing else could pass: one line
    assert "compare the host name without its port" in out[0]


def test_a_get_that_streams_for_a_request_marked_by_neither_header_is_refused(outputs):
    """The rule the solution had: let a request with neither Sec-Fetch-Site nor Origin through. Over plain http a
    browser sends neither with another site's link, <img> or navigation: such an app is NOT YET."""
    out = lines(outputs["get_kept"])
    sites = next(line for line in out if "another site" in line)
    assert sites.startswith("NOT YET ✗ a link or <img> on another site") and "got 200 and reached Claude" in sites
    assert "delete GET /chat" in sites and "token" in sites
    assert sum(line.startswith("PASS") for line in out) == 5, out  # all the rest is right


def test_a_body_read_whatever_its_type_lets_a_form_through(outputs):
    """``await request.json()`` reads a text/plain or typeless body too, which a form or a no-cors fetch sends."""
    out = lines(outputs["reads_json"])
    sites = next(line for line in out if "another site" in line)
    assert sites.startswith("NOT YET ✗ a text/plain POST from another site"), sites
    assert "reached Claude" in sites and "Content-Type: application/json" in sites
    assert sum(line.startswith("PASS") for line in out) == 5, out


def test_a_form_post_is_refused_however_it_is_read(outputs):
    """A form-encoded POST is what a form on another site sends (with neither header, over plain http)."""
    out = lines(outputs["form_accepted"])
    sites = next(line for line in out if "another site" in line)
    assert sites.startswith("NOT YET ✗ a form on another site, over plain http (form-encoded POST"), sites
    assert "reached Claude" in sites and "Content-Type: application/json" in sites
    assert sum(line.startswith("PASS") for line in out) == 5, out


def test_a_body_of_no_type_read_as_json_lets_a_no_cors_fetch_through(outputs):
    """A no-cors fetch of a Blob sends no Content-Type; over plain http only its Origin tells it from the page's."""
    out = lines(outputs["typeless_json"])
    sites = next(line for line in out if "another site" in line)
    assert sites.startswith("NOT YET ✗ a no-cors fetch from another site with a body of no type (Origin only)"), sites
    assert "reached Claude" in sites and "refuse an Origin of another site" in sites
    assert sum(line.startswith("PASS") for line in out) == 5, out


def test_a_page_refused_by_the_apps_own_rule_is_not_told_to_serve_the_page(outputs):
    out = lines(outputs["page_refused"])
    assert out[0].startswith("NOT YET ✗ GET / answered 415 application/json"), out[0]
    assert "refused its own page" in out[0] and "serve the chat page" not in out[0]
    assert sum(line.startswith("PASS") for line in out) == 5, out


def test_a_json_post_refused_for_its_headers_is_not_blamed_on_the_body(outputs):
    out = lines(outputs["strict_headers"])
    assert out[1].startswith("NOT YET ✗ POST /chat: POST /chat answered 403 application/json"), out[1]
    assert "neither Sec-Fetch-Site nor Origin" in out[1] and "accept a JSON body" not in out[1]


def test_a_body_read_inside_the_streaming_route_is_named(outputs):
    out = lines(outputs["body_in_stream"])
    assert "POST /chat was still open 4 s later, after 0 events" in out[1], out[1]
    assert "ClientDisconnect" in out[1] and "conversation: Conversation" in out[1]
    assert "send a done event" not in out[1]


@pytest.mark.parametrize("right", ["right_json_by_fastapi", "right_page_token"])
def test_right_answers_written_unlike_the_solution_pass(outputs, right):
    """No JSON rule of its own (FastAPI reads a pydantic model from a JSON body only, and there is no GET), or a GET
    /chat guarded by lesson 08's page token: both refuse what another site can send, so both pass."""
    out = lines(outputs[right])
    assert len(out) == 6 and all(line.startswith("PASS") for line in out), out


def test_the_recorder_reads_no_more_of_a_body_than_the_api_would():
    """The recorder kept a whole request body before the local API's 32 MiB limit ran: a chat.py posting an endless
    body grew the checker (in the learner's kernel) until the server's read timeout. It now stops at the limit and
    the API refuses the request as the real API does."""
    from helpers.offline.app import LocalMessagesAPI
    from helpers.offline.server import make_config
    from helpers.offline.validate import API_MAX_BODY_BYTES

    chunk, pulled, sent = b"a" * 65536, [], []

    async def receive():
        if sum(pulled) > 2 * API_MAX_BODY_BYTES:  # "never" ends: enough to tell, and a failure stays bounded
            return {"type": "http.disconnect"}
        pulled.append(len(chunk))
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/messages",
        "raw_path": b"/v1/messages",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }
    record = recorder.Recorder(LocalMessagesAPI(make_config("instant")))
    asyncio.run(asyncio.wait_for(record(scope, receive, send), 60))
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413, sent[:1]
    assert sum(pulled) <= API_MAX_BODY_BYTES + 2 * len(chunk)
    assert record.exchanges and record.exchanges[0].body == {}


def test_the_solution_app_refuses_a_body_bigger_than_a_conversation(tmp_path):
    """The solution read any body whole: 400 MB posted to /chat (by its own page's origin, or on a hub's shared
    loopback by a classmate's script with Host: 127.0.0.1) took its process to 900 MB before the API refused it."""
    folder = lesson10.solution_folder()
    env = {k: v for k, v in os.environ.items() if k not in {"COURSE_OFFLINE_URL", "ANTHROPIC_API_KEY"}}
    env.update(COURSE_OFFLINE="1", PYTHONPATH=str(ROOT))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = spawn(
        [sys.executable, "-m", "uvicorn", "main:app", "--fd", str(sock.fileno()), "--log-level", "warning"],
        cwd=folder,
        pass_fds=(sock.fileno(),),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    sock.close()

    def body():  # no Content-Length: only counting the bytes as they arrive can stop it
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(64):
            yield b"a" * 65536
        yield b'"}]}'

    try:
        deadline, page = time.monotonic() + 60, None
        while page is None:
            try:
                page = httpx2.get(url + "/", timeout=10)
            except httpx2.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "the solution app did not start"
                time.sleep(0.1)
        headers = {"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin", "Accept": "text/event-stream"}
        answer = httpx2.post(url + "/chat", content=body(), headers=headers, timeout=30)
        assert answer.status_code == 413, (answer.status_code, answer.text[:200])
    finally:
        end_group(server)
