"""Conformance with code nobody here wrote: the TypeScript SDK (pinned in tests/conformance/package-lock.json) and the
newest Python SDK (tests/conformance/requirements.txt, in .venv-conformance) run their own idiomatic scripts against
``python -m helpers.offline``: streaming text, a tool round trip, thinking sent back with its signature, citations, a
429 retry, the tool runner with its defaults, count_tokens and the models endpoints; and LangChain and PydanticAI stream, call tools, send beta fields and
parse structured output. ``make conformance-clients`` installs them all (``make test`` does)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .parts import need, skip_or_fail

pytestmark = pytest.mark.slow  # runs other environments (node, .venv-conformance): `make test`, not `make unit`

HERE = Path(__file__).resolve().parent / "conformance"
ROOT = HERE.parents[1]
CHECKS = [
    *["stream_text", "tool_round_trip", "thinking_round_trip", "citations", "retry_429", "tool_runner"],
    *["count_tokens", "models"],
]
INSTALL = "run `make conformance-clients` (it needs node >= 20 and npm for the TypeScript SDK)"


@pytest.fixture(scope="module")
def local_api():
    """``python -m helpers.offline`` as a learner starts it, at instant pace, on a free port."""
    server = subprocess.Popen(
        [sys.executable, "-m", "helpers.offline", "--pace", "instant"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = server.stdout.readline()
        assert line.startswith("listening on "), line
        yield line.split()[-1]
    finally:
        server.terminate()
        server.wait(timeout=10)


def results(command: list[str], timeout: float = 120) -> dict[str, dict]:
    done = subprocess.run(command, cwd=HERE, capture_output=True, text=True, timeout=timeout)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0 and lines, done.stderr[-2000:]
    return {line["name"]: line for line in lines}


def check_all(found: dict[str, dict], version: str) -> None:
    assert found["sdk"]["version"] == version
    failed = {name: found.get(name, {"error": "did not run"}).get("error") for name in CHECKS}
    failed = {name: error for name, error in failed.items() if not found.get(name, {}).get("ok")}
    assert not failed, "\n".join(f"{name}: {error}" for name, error in failed.items())


@pytest.mark.timeout(180)
def test_the_typescript_sdk_works_unchanged(local_api):
    node = shutil.which("node") or need("node/npm")  # without node: skips, named with the missing parts
    sdk = HERE / "node_modules" / "@anthropic-ai" / "sdk" / "package.json"
    if not sdk.is_file():
        skip_or_fail(f"the TypeScript SDK is not installed in {HERE.relative_to(ROOT)}: {INSTALL}")
    pinned = json.loads((HERE / "package.json").read_text())["dependencies"]["@anthropic-ai/sdk"]
    check_all(results([node, "client.mjs", local_api]), pinned)


def conformance_python() -> str:
    python = ROOT / ".venv-conformance" / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    if not python.is_file():
        skip_or_fail(f"the newest Python SDK's venv, .venv-conformance, is missing: {INSTALL}")
    return str(python)


@pytest.mark.timeout(180)
def test_the_newest_python_sdk_works_unchanged(local_api):
    pins = [line.split("#")[0].strip() for line in (HERE / "requirements.txt").read_text().splitlines()]
    (pinned,) = [pin.removeprefix("anthropic==") for pin in pins if pin.startswith("anthropic==")]
    check_all(results([conformance_python(), "client.py", local_api]), pinned)


@pytest.mark.timeout(420)
def test_langchain_pydantic_ai_and_litellm_work(local_api):
    # a hang guard only: importing three frameworks took over 120 s at load average 20 (a clean-clone run)
    found = results([conformance_python(), "frameworks.py", local_api], timeout=360)
    failed = {name: line.get("error") for name, line in found.items() if not line["ok"]}
    assert len(found) == 7 and not failed, failed
