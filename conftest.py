"""Project-wide pytest settings, here at the root so that `pytest --nbval notebooks/` gets them too.

nbval starts the notebooks' kernels as subprocesses that inherit this environment, so the mode is set in
pytest_configure (a fixture would be too late): offline, at instant pace, whatever .env says.
"""

import os
import sys
from pathlib import Path

# The tools are scripts (`python tools/nav.py`) that import their shared step as `markers` (tools/markers.py), as a
# script's own folder allows; tests import them as `tools.nav`, so that folder is on the path for them too.
sys.path.append(str(Path(__file__).resolve().parent / "tools"))


def pytest_configure(config):
    os.environ["COURSE_OFFLINE"] = "1"
    os.environ["COURSE_PACE"] = "instant"
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")


def pytest_collection_modifyitems(config, items):
    """Every notebook cell nbval collects gets the ``nbval`` marker (`make unit` leaves them out with -m)."""
    import pytest

    for item in items:
        if item.nodeid.split("::")[0].endswith(".ipynb"):
            item.add_marker(pytest.mark.nbval)


def pytest_terminal_summary(terminalreporter):
    """One line per part this machine lacks: what it skipped and the command that installs it."""
    from tests.parts import summary

    reasons = [str(report.longrepr[-1]) for report in terminalreporter.stats.get("skipped", [])]
    lines = summary(reasons)
    if lines:
        terminalreporter.section("missing parts")
        for line in lines:
            terminalreporter.write_line(line)
