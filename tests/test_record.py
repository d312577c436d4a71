"""`make record` runs the course live and saves cassettes; a local API serving them replays them to the course."""

from __future__ import annotations

import os
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from helpers.offline import start

from .conftest import ROOT

pytestmark = pytest.mark.slow  # records and replays a lesson in a kernel: `make test`, not `make unit`

FAKE_KEY = "sk-ant-api03-" + "R" * 86 + "-Zz9Zz9AA"
LESSON = "01_text_stream"


def test_record_then_replay_for_a_class(tmp_path, monkeypatch):
    out = tmp_path / "cassettes"
    with start(pace="instant") as live_stand_in:  # "live": a real key's shape, a base URL like a gateway's
        env = {**os.environ, "ANTHROPIC_API_KEY": FAKE_KEY, "ANTHROPIC_BASE_URL": live_stand_in.url}
        env.pop("COURSE_OFFLINE", None)
        result = subprocess.run(
            [sys.executable, "tools/record_course.py", "--out", str(out), LESSON],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        streamed_live = live_stand_in.stats()["streams_completed"]
    assert result.returncode == 0, result.stderr
    recordings = sorted(out.glob("*.sse"))
    assert f"{LESSON}.ipynb: {len(recordings)} new recordings" in result.stdout
    assert len(recordings) >= 2 and len(recordings) <= streamed_live
    assert all(FAKE_KEY not in p.read_text() for p in out.iterdir())

    # The class: no key, offline, the local API serving the recordings.
    with start(pace="instant", cassettes=out) as replaying:
        monkeypatch.setenv("COURSE_OFFLINE", "1")
        monkeypatch.setenv("COURSE_OFFLINE_URL", replaying.url)
        nb = nbformat.read(ROOT / "notebooks" / f"{LESSON}.ipynb", as_version=4)
        NotebookClient(
            nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(ROOT / "notebooks")}}
        ).execute()
        stats = replaying.stats()
    # every recording was served; streams an offline-only fault rewrites (a forced refusal) were not, since a
    # recording cannot show what the fault asks for (the lesson sends those to its local API in live mode too, as its
    # checker does, so the recording run never saw them)
    assert stats["streams_replayed"] >= len(recordings)
    assert (
        stats["streams_forced"] >= 1 and stats["streams_replayed"] + stats["streams_forced"] <= stats["streams_started"]
    )


def test_record_refuses_without_a_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools/record_course.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # against a hang only: it ends at once, but Python starts slowly on a busy machine
    )
    assert result.returncode == 2 and "set ANTHROPIC_API_KEY" in result.stderr
