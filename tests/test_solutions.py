"""Every exercise solution passes its checker (the checkers' NOT YET cases: tests/test_exercises_*.py).

Solutions are standalone scripts (``notebooks/solutions/NN_name.py``); each runs in its own process, offline at
instant pace, from ``notebooks/`` like a lesson's kernel, and must print ``PASS`` and never ``NOT YET``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow  # runs every solution script: `make test`, not `make unit`

NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = sorted((NOTEBOOKS / "solutions").glob("*.py"))


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
