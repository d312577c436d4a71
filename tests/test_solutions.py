"""Every exercise solution passes its checker, and the checkers of lessons 00-03 say NOT YET to the starting state.

Solutions are standalone scripts (``notebooks/solutions/NN_name.py``); each runs in its own process, offline at
instant pace, from ``notebooks/`` like a lesson's kernel, and must print ``PASS`` and never ``NOT YET``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import anthropic
import pytest

from helpers.exercises import lesson00, lesson01, lesson02, lesson03

from .conftest import MODEL, ROOT

NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = sorted((NOTEBOOKS / "solutions").glob("*.py"))
HAIKU = [{"role": "user", "content": "Write a haiku about debugging."}]


def run_solution(path):
    env = {**os.environ, "COURSE_OFFLINE": "1", "COURSE_PACE": "instant"}
    env.pop("COURSE_OFFLINE_URL", None)
    return subprocess.run(
        [sys.executable, str(path)], cwd=NOTEBOOKS, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def solution_runs():
    """Every solution, started up front and run a few at a time: most of each run is Python importing the SDK."""
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        yield {path: pool.submit(run_solution, path) for path in SOLUTIONS}


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_passes_its_checker(path, solution_runs):
    result = solution_runs[path].result()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "PASS" in result.stdout, output
    assert "NOT YET" not in output, output


def test_every_lesson_has_a_solution():
    lessons = {p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")}
    assert lessons, "no lessons found"
    missing = sorted(lessons - {p.stem for p in SOLUTIONS})
    assert not missing, f"lessons without notebooks/solutions/<name>.py: {missing}"


# ---------------------------------------------------------------------------------------------------------------------
# The checkers of 00-03: the lesson's starting state is NOT YET, and bad input is a clear error


def verdict(capsys) -> str:
    out = capsys.readouterr().out
    assert out.startswith(("PASS ✓", "NOT YET ✗")), out
    return out


def test_lesson00_says_not_yet_to_a_cut_answer(client, capsys):
    with client.messages.stream(model=MODEL, max_tokens=8, messages=HAIKU) as stream:
        message = stream.get_final_message()
    lesson00.check_whole_answer(message)
    out = verdict(capsys)
    assert out.startswith("NOT YET") and "max_tokens" in out and "hint:" in out
    with pytest.raises(TypeError, match="get_final_message"):
        lesson00.check_whole_answer("a haiku")


def test_lesson01_catches_a_function_that_trusts_every_answer(client, capsys):
    lesson01.check_is_complete(lambda message: True, client)
    out = verdict(capsys)
    assert out.startswith("NOT YET") and "cut off after 10 tokens" in out
    lesson01.check_is_complete(lambda message: message.stop_reason == "end_turn", client)
    assert verdict(capsys).startswith("PASS")
    with pytest.raises(TypeError, match="True or False"):
        lesson01.check_is_complete(lambda message: message.stop_reason, client)


def test_lesson02_catches_tool_input_deltas_and_sdk_text_events(client, capsys):
    lesson02.check_is_text(lambda event: event.type == "content_block_delta", client)
    out = verdict(capsys)
    assert out.startswith("NOT YET") and "input_json_delta" in out
    lesson02.check_is_text(lambda event: event.type == "text", client)
    out = verdict(capsys)
    assert out.startswith("NOT YET") and "'text' events repeat it" in out
    with pytest.raises(TypeError, match="is_text"):
        lesson02.check_is_text("content_block_delta", client)
    with pytest.raises(TypeError, match="anthropic.Anthropic"):
        lesson02.check_is_text(lambda event: True, anthropic.AsyncAnthropic(api_key="test-key"))


def test_lesson03_tells_one_after_another_from_all_at_once(capsys):
    t = time.perf_counter()
    lesson03.check_concurrent(["a", "b"], [(t, t + 1), (t + 1, t + 2)])
    out = verdict(capsys)
    assert out.startswith("NOT YET") and "one after another" in out
    lesson03.check_concurrent(["a", "b"], [(t, t + 2), (t + 1, t + 3)])
    assert verdict(capsys).startswith("PASS")
    with pytest.raises(ValueError, match="one span per answer"):
        lesson03.check_concurrent(["a", "b"], [(t, t + 1)])
    with pytest.raises(TypeError, match="list of strings"):
        lesson03.check_concurrent("ab", [])
