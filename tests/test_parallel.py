"""Under `-n` (pytest-xdist, as `make unit` and `make test` run), the tests of a file that share state run on one
worker (the root conftest's scheduler, ``runs_on_one_worker``), and every other test goes wherever a worker is free."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict

import pytest

from conftest import runs_on_one_worker

from .conftest import ROOT


def test_notebooks_and_modules_with_shared_fixtures_run_on_one_worker():
    assert runs_on_one_worker("notebooks/00_setup.ipynb")
    assert runs_on_one_worker("tests/test_web.py")  # a relay and a paced local API, module fixtures
    assert runs_on_one_worker("tests/browser/test_accessibility.py")  # a JupyterLab per theme, parametrized
    assert not runs_on_one_worker("tests/test_net.py")  # function fixtures only
    assert not runs_on_one_worker("tests/test_markers.py")


@pytest.mark.slow  # a whole pytest run with two workers
def test_a_parallel_run_keeps_a_shared_module_on_one_worker_and_spreads_the_rest():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "-v",
            "-p",
            "no:randomly",
            "-k",
            "frame or module_that",
            "tests/test_web.py",
            "tests/test_markers.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    workers = defaultdict(set)
    for worker, path in re.findall(r"\[(gw\d+)\] .*?PASSED (tests/\w+\.py)::", done.stdout):
        workers[path].add(worker)
    assert len(workers["tests/test_web.py"]) == 1, dict(workers)
    assert len(workers["tests/test_markers.py"] | workers["tests/test_web.py"]) == 2, dict(workers)
