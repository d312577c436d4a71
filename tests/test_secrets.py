"""No API key in any output, widget message, log line, page, SSE event or error message; none in the repository.

The course runs in live mode against a local API with a fake key shaped like a real one. Nothing the learner, a log
reader or a browser can see may hold the key, or any 12-character piece of it.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import string
import subprocess

import httpx2
import nbformat
import pytest
from nbclient import NotebookClient

from helpers.offline import start

from .conftest import ROOT

REAL_LOOKING_KEY = re.compile(r"sk-ant-(api|admin)\d\d-[A-Za-z0-9_-]{20,}")
URL_SAFE = string.ascii_letters + string.digits + "-_"
PIECE = 12  # no substring this long may show


def fake_key(seed: int = 2026) -> str:
    """A key in the real shape (prefix, 86 url-safe characters, a dash, 6 more, ``AA``), the same for the same seed,
    so a run that fails can be run again with the same key."""
    rng = random.Random(seed)
    pick = lambda n: "".join(rng.choice(URL_SAFE) for _ in range(n))  # noqa: E731
    return "sk-ant-" + "api03-" + pick(86) + "-" + pick(6) + "AA"


def leaks(key: str, text: str) -> list[str]:
    """The pieces of ``key`` (PIECE characters or more) found in ``text``."""
    return sorted({key[i : i + PIECE] for i in range(len(key) - PIECE + 1) if key[i : i + PIECE] in text})


@pytest.fixture
def key() -> str:
    return fake_key()


@pytest.fixture
def live(monkeypatch, key):
    """Live mode, as a learner with a key has it, except that the base URL is a local API at instant pace."""
    with start(pace="instant") as api:
        monkeypatch.delenv("COURSE_OFFLINE", raising=False)
        for name in ("COURSE_OFFLINE_URL", "COURSE_RECORD", "COURSE_CASSETTES"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("ANTHROPIC_API_KEY", key)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        yield api


@pytest.fixture
def logs():
    """Every log record of every logger, at DEBUG, formatted with its arguments and traceback."""
    records: list[str] = []
    formatter = logging.Formatter()

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(formatter.format(record))

    root = logging.getLogger()
    handler, level = Keep(logging.DEBUG), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield records
    root.removeHandler(handler)
    root.setLevel(level)


# ---------------------------------------------------------------------------------------------------------------------
# The checker itself


def test_the_fake_key_looks_real_and_leaks_are_found():
    # Over a thousand keys: the probe is framed by characters a key never holds, so no neighbouring window matches too.
    for seed in range(1000):
        key = fake_key(seed)
        assert REAL_LOOKING_KEY.fullmatch(key) and len(key) == len("sk-ant-api03-") + 86 + 1 + 6 + 2
        assert leaks(key, "masked: …" + key[-4:]) == []
        assert leaks(key, "«" + key[30:42] + "»") == [key[30:42]], seed


# ---------------------------------------------------------------------------------------------------------------------
# The repository


def test_no_tracked_file_holds_a_real_looking_key():
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    found = []
    for name in filter(None, files):
        path = ROOT / name.decode()
        if path.is_file() and (match := REAL_LOOKING_KEY.search(path.read_bytes().decode("utf-8", "replace"))):
            found.append(f"{name.decode()}: {match.group()[:16]}…")
    assert not found, f"tracked files hold what looks like an API key: {found}"


def test_dotenv_is_ignored_by_git():
    done = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    assert done.returncode == 0, ".env must be git-ignored: it holds the learner's ANTHROPIC_API_KEY"


# ---------------------------------------------------------------------------------------------------------------------
# The course, live


class Recording(NotebookClient):
    """Executes a notebook and keeps every message the kernel sends (outputs, widget comm traffic, errors)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.messages: list[str] = []

    def process_message(self, msg, cell, cell_index):
        buffers = [bytes(b).decode("utf-8", "replace") for b in msg.get("buffers") or []]
        self.messages.append(json.dumps(msg["content"], default=str) + "".join(buffers))
        return super().process_message(msg, cell, cell_index)


LOGGING_CELL = """\
import logging, sys
_handler = logging.StreamHandler(sys.stderr)
for _name in ("anthropic", "httpx2", "httpcore2", "httpcore", "helpers", "uvicorn", "fastapi"):
    logging.getLogger(_name).setLevel(logging.DEBUG)
    logging.getLogger(_name).addHandler(_handler)
"""


def lessons() -> list[str]:
    return sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", lessons())
def test_a_live_lesson_shows_no_key(logs, live, key, name):
    """The lesson runs live (every cell, not saved) with DEBUG logging on in the kernel and in the local API's
    process; the key shows in no output, widget state, kernel message or log line."""
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(LOGGING_CELL))
    env = {**os.environ, "COURSE_PACE": "instant"}
    runner = Recording(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}
    )
    runner.execute(env=env)
    everything = json.dumps(nb) + "\n".join(runner.messages)  # outputs, widget state, every message on the way
    assert leaks(key, everything) == []
    assert leaks(key, "\n".join(logs)) == []
    # 00 may stop at its key check; 10's checker runs the learner's files against its own local API, never live
    assert live.stats()["requests"] > 0 or name in {"00_setup", "10_capstone"}, (
        "the lesson never reached the live base URL"
    )
    if name == "10_capstone":
        return  # the learner's programs run against the checker's own local API: there is no mode to show
    banners = [o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.get("name") == "stdout"]
    assert any("mode: live" in text for text in banners), "the lesson did not run in live mode"


def test_the_relay_in_live_mode_shows_no_key(monkeypatch, key, logs):
    """Page, SSE events, error events and input errors of a live relay whose upstream fails in several ways."""
    from helpers.web import start as start_relay
    from helpers.web import token_in

    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    seen = []
    for fault in ("", "http:401", "http:403", "error@5", "drop@5", "garbage@5"):
        with start(pace="instant", fault=fault) as api:
            monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
            with start_relay() as relay, httpx2.Client(base_url=relay.url, timeout=30) as http:
                for response in (
                    http.get("/"),
                    http.get("/static/chat.js"),
                    http.post(
                        "/chat", json={"messages": [{"role": "user", "content": "Write a haiku about debugging."}]}
                    ),
                    http.get("/chat", params={"message": "Explain streaming", "token": token_in(http.get("/").text)}),
                    http.post("/chat", content=b"{not json"),
                    http.post("/chat", json={"messages": []}),
                ):
                    seen.append(f"{response.status_code} {dict(response.headers)} {response.text}")
    assert any("event: error" in s for s in seen) and any("event: text" in s for s in seen)
    assert leaks(key, "\n".join(seen)) == []
    assert logs, "no log line was captured, so this test would not notice a leak"
    assert leaks(key, "\n".join(logs)) == []


def learner_environments(guide: str) -> list[str]:
    """The lines of the guide's config blocks (fenced) that set a learner's environment: a Z2JH ``singleuser:``
    section, and every ``c.Spawner.environment`` dict."""
    found, fenced, section, spawner = [], False, "", False
    for line in guide.splitlines():
        if line.startswith("```"):
            fenced, section, spawner = not fenced, "", False
            continue
        if not fenced:
            continue
        if line and not line.startswith((" ", "#")) and line.rstrip().endswith(":"):
            section = line.strip()
        spawner = spawner or "Spawner.environment" in line
        if section == "singleuser:" or spawner:
            found.append(line)
        if spawner and line.strip() in ("}", "})"):
            spawner = False
    return found


def test_the_guide_never_puts_the_key_in_a_learners_environment():
    """Every learner reads their own server's environment (``!env``): a key there is every learner's to take home and
    spend past every limit. The Z2JH config offered it, commented, as the live mode; the gateway is that mode."""
    guide = (ROOT / "docs" / "workshop.md").read_text()
    environments = learner_environments(guide)
    assert any("ANTHROPIC_AUTH_TOKEN" in line for line in environments)  # the blocks are found: the token is there
    assert [line for line in environments if "ANTHROPIC_API_KEY" in line] == []
