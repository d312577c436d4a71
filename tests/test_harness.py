"""The harness the capstone checker runs learners' programs in, and the learner's own `uvicorn main:app` in offline
mode: real processes, real pipes, real ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from helpers.exercises.harness import KEEP, Output, end_group, port_free, spawn

from .conftest import ROOT


def test_output_keeps_its_head_and_tail_and_counts_the_rest():
    size = 40 * 1024 * 1024
    writer = "import sys; out = sys.stdout.buffer; out.write(b'HEAD'); [out.write(b'x' * 65536) for _ in range(640)]; out.write(b'TAIL')"  # noqa: E501
    process = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE)
    flooded = []
    out = Output(process.stdout, lambda: flooded.append(True), flood=size // 2)
    process.wait(timeout=60)
    out._thread.join(timeout=30)
    assert out.total == size + 8 and out.flooded and flooded == [True]  # told once
    text = out.text()
    assert text.startswith("HEAD") and text.endswith("TAIL") and f"{size + 8 - 2 * KEEP:,} bytes left out" in text
    assert len(text) < 2 * KEEP + 100  # what is kept is bounded, whatever was written
    assert out.since(out.total - 6) == "xxTAIL" and out.since(0).startswith("HEAD")


def test_the_last_line_a_verdict_quotes_keeps_to_its_line():
    """A program's last stderr line goes into a NOT YET line: terminal escapes and bidi overrides are shown as escapes,
    not obeyed (colour, hidden text, reversed words), and invalid UTF-8 is replaced."""
    writer = "import sys; sys.stderr.buffer.write(b'Traceback\\nboom \\x1b[8mhidden\\xe2\\x80\\xae \\xff end\\n')"
    process = subprocess.Popen([sys.executable, "-c", writer], stderr=subprocess.PIPE)
    errors = Output(process.stderr)
    process.wait(timeout=60)
    assert errors.last_line() == "boom \\x1b[8mhidden\\u202e \ufffd end"


def test_last_line_is_an_exception_groups_error_not_its_frame():
    """Starlette's errors in a streaming route come as an exception group, whose traceback ends in a frame line."""
    writer = (
        "import asyncio\n"
        "async def fail(): raise LookupError('the real error')\n"
        "async def main():\n"
        "    async with asyncio.TaskGroup() as group: group.create_task(fail())\n"
        "asyncio.run(main())\n"
    )
    process = subprocess.Popen([sys.executable, "-c", writer], stderr=subprocess.PIPE)
    errors = Output(process.stderr)
    process.wait(timeout=60)
    assert errors.text().rstrip().endswith("+------------------------------------")  # the frame the line had shown
    assert errors.last_line() == "LookupError: the real error"


def test_end_group_ends_the_children_too_and_frees_their_ports(tmp_path):
    child = (
        "import os, socket, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
        "open('child.txt', 'w').write(f'{s.getsockname()[1]} {os.getpid()}'); time.sleep(600)"
    )
    parent = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {child!r}]); time.sleep(600)"
    process = spawn([sys.executable, "-c", parent], cwd=tmp_path)
    deadline = time.monotonic() + 30
    while not (tmp_path / "child.txt").is_file() or not (tmp_path / "child.txt").read_text():
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.05)
    port, pid = map(int, (tmp_path / "child.txt").read_text().split())
    assert not port_free(port)
    end_group(process)
    assert process.returncode is not None and port_free(port)
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()


APP = """
from fastapi import FastAPI

from helpers import connect

app = FastAPI()
client = connect.async_client()  # offline: starts the course's local API in this process


@app.get("/boom")
async def boom():
    raise RuntimeError("a learner's bug")
"""


def test_the_learners_uvicorn_prints_its_own_lines_in_offline_mode(tmp_path):
    """The local API started inside the learner's app must not silence uvicorn's process-wide loggers."""
    (tmp_path / "main.py").write_text(APP)
    env = {k: v for k, v in os.environ.items() if k not in {"COURSE_OFFLINE_URL", "ANTHROPIC_API_KEY"}}
    env.update(COURSE_OFFLINE="1", PYTHONPATH=str(ROOT))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = spawn(
        [sys.executable, "-m", "uvicorn", "main:app", "--fd", str(sock.fileno())],
        cwd=tmp_path,
        pass_fds=(sock.fileno(),),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    sock.close()
    out = Output(server.stdout)
    try:
        deadline = time.monotonic() + 60
        while "Application startup complete." not in out.text():
            assert time.monotonic() < deadline and server.poll() is None, out.text()
            time.sleep(0.1)
        assert httpx2.get(url + "/boom", timeout=10).status_code == 500
        deadline = time.monotonic() + 10
        while "a learner's bug" not in out.text() or '"GET /boom HTTP/1.1" 500' not in out.text():
            assert time.monotonic() < deadline, out.text()
            time.sleep(0.1)
        assert "Traceback" in out.text()
    finally:
        end_group(server)
