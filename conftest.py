"""Project-wide pytest settings, here at the root so that `pytest --nbval notebooks/` gets them too.

nbval starts the notebooks' kernels as subprocesses that inherit this environment, so the mode is set in
pytest_configure (a fixture would be too late): offline, at instant pace, whatever .env says.
"""

import ast
import functools
import os
import sys
from pathlib import Path

import pytest

# The tools are scripts (`python tools/nav.py`) that import their shared step as `markers` (tools/markers.py), as a
# script's own folder allows; tests import them as `tools.nav`, so that folder is on the path for them too.
ROOT = Path(__file__).resolve().parent
sys.path.append(str(ROOT / "tools"))


def pytest_configure(config):
    os.environ["COURSE_OFFLINE"] = "1"
    os.environ["COURSE_PACE"] = "instant"
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")


def pytest_collection_modifyitems(config, items):
    """Every notebook cell nbval collects gets the ``nbval`` marker (`make unit` leaves them out with -m). In an
    xdist worker, the long tests come first, so that the quick ones fill the gaps at the end of a parallel run."""
    for item in items:
        if item.nodeid.split("::")[0].endswith(".ipynb"):
            item.add_marker(pytest.mark.nbval)
    if hasattr(config, "workerinput"):  # the controller hands out work in the workers' collection order
        items.sort(key=lambda item: not any(item.get_closest_marker(name) for name in LONG))


LONG = ("nbval", "browser", "hub", "slow")


@functools.cache
def runs_on_one_worker(path: str) -> bool:
    """Whether the tests of a file (relative to the root) must share one worker under ``-n``: a notebook's cells share
    a kernel and run in order; a module's fixtures scoped beyond one test (a JupyterLab, a hub, a built environment)
    start once per worker that runs it. Decided from the file itself, so that nothing has to be marked by hand."""
    if path.endswith(".ipynb"):
        return True
    source = ROOT / path
    if source.suffix != ".py" or not source.is_file():
        return False
    tree = ast.parse(source.read_text())
    return any(
        ast.unparse(decorator.func) == "pytest.fixture"
        and any(k.arg == "scope" and ast.unparse(k.value) != "'function'" for k in decorator.keywords)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        for decorator in node.decorator_list
        if isinstance(decorator, ast.Call)
    )


def pytest_xdist_make_scheduler(config, log):
    """Under ``-n``: one work unit per file whose tests share state (``runs_on_one_worker``), one per test otherwise.
    (pytest-xdist's own ``--dist loadgroup`` ignores its ``xdist_group`` marks with pytest 9.2: pytest-xdist#1386.)"""
    from xdist.scheduler import LoadScopeScheduling

    class SharedStateTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return path if runs_on_one_worker(path) else nodeid

    return SharedStateTogether(config, log)


def pytest_terminal_summary(terminalreporter):
    """One line per part this machine lacks: what it skipped and the command that installs it."""
    from tests.parts import summary

    reasons = [str(report.longrepr[-1]) for report in terminalreporter.stats.get("skipped", [])]
    lines = summary(reasons)
    if lines:
        terminalreporter.section("missing parts")
        for line in lines:
            terminalreporter.write_line(line)
