"""`make test` on a machine with only Python and make: the tests that need nothing more run, and every test whose
part is missing (chromium, nginx, git, node/npm) skips, named in one line per part with its install command.

The real Makefile target runs with a PATH that holds only python3, make and grep, on a few tests that need each
part, so it costs seconds. The install steps and the lint are taken as done (``make -o``): they are not the subject
here (CI's fresh clone runs them), and they must not re-install into an environment this checkout may share.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from .conftest import ROOT
from .parts import PARTS

pytestmark = pytest.mark.slow  # runs make and pytest in a subprocess: `make test`, not `make unit`

NEEDS = {  # a test file that needs each part, and passes or skips within seconds without it
    "chromium": "tests/test_web_browser.py",
    "nginx": "tests/test_nginx.py",
    "git": "tests/test_binder.py",
    "node/npm": "tests/test_hub.py",
}


def test_make_test_with_only_python_and_make_skips_each_missing_part_by_name(tmp_path):
    assert set(NEEDS) == set(PARTS), "every part the tests can need is exercised here"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("python3", "make", "grep"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "PATH", "PYTHONPATH", "PLAYWRIGHT_BROWSERS_PATH"}}
    env.update(PATH=str(bin_dir), PYTHONPATH=str(ROOT), PLAYWRIGHT_BROWSERS_PATH=str(tmp_path / "no-browsers"))
    stamps = ["-o", ".venv/.installed", "-o", ".venv/.hub-installed", "-o", ".venv-conformance/.installed"]
    stamps += ["-o", "lint"]  # ruff and mypy (half a minute) are not the subject either: the real `make test` ran them
    selection = f"PYTEST_ARGS=-q {' '.join(NEEDS.values())}"
    done = subprocess.run(
        [shutil.which("make"), "test", *stamps, selection],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    assert " passed" in out and " skipped" in out, out[-2000:]
    summary = out[out.index("missing parts") :]
    for name, part in PARTS.items():
        (line,) = [x for x in summary.splitlines() if x.startswith(f"{name} is missing: skipped ")]
        assert part.used_by in line and f"sudo apt-get install {' '.join(part.apt)}" in line, line
        assert f"macOS: {part.macos}" in line and f"Windows: {part.windows}" in line, line
