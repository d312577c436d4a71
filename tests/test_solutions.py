"""Every exercise solution passes its checker (the checkers' NOT YET cases: tests/test_exercises_*.py).

Solutions are standalone scripts (``notebooks/solutions/NN_name.py``); each runs in its own process, offline at
instant pace, from ``notebooks/`` like a lesson's kernel, and must print ``PASS`` and never ``NOT YET``. Each test runs
its own solution, so that test workers (pytest-xdist) share them out: a fixture that ran them all would run them all
again on every worker that got one of these tests.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow  # runs every solution script: `make test`, not `make unit`

NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = sorted((NOTEBOOKS / "solutions").glob("*.py"))


def run_solution(path):
    env = {**os.environ, "COURSE_OFFLINE": "1", "COURSE_PACE": "instant"}
    env.pop("COURSE_OFFLINE_URL", None)
    return subprocess.run(  # the timeout is against a hang: 10_capstone took 94 s beside other tests (load 23)
        [sys.executable, str(path)], cwd=NOTEBOOKS, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_passes_its_checker(path):
    result = run_solution(path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "PASS" in result.stdout, output
    assert "NOT YET" not in output, output


def test_every_lesson_has_a_solution():
    lessons = {p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")}
    assert lessons, "no lessons found"
    missing = sorted(lessons - {p.stem for p in SOLUTIONS})
    assert not missing, f"lessons without notebooks/solutions/<name>.py: {missing}"
