"""What some tests need beyond Python, and the one way a test goes without it.

``need("chromium")`` returns the part (a path) or skips the test with a reason that names the part, what it is for
and how to install it; under ``CI=true`` it fails instead, because CI installs every part (``tools/install-test-parts.sh``)
and a skipped test there would prove nothing. ``skip_or_fail(reason)`` does the same for anything else a test lacks.
At the end of a run, the root conftest prints one line per missing part: the tests it skipped and the install
commands (``summary``).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

MISSING = "MISSING PART"  # every skip for a missing part starts with this, then the part's name in brackets
WINDOWS_UNSUPPORTED = "not on Windows: run the tests in WSL"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> NoReturn:
    """Skip with a loud reason; under CI=true, fail with it (CI must run every test)."""
    import pytest

    if in_ci():
        pytest.fail(f"{reason} (CI=true: nothing may be skipped)", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class Part:
    name: str
    used_by: str  # which tests skip without it
    find: Callable[[], str | None]  # the path of the part, or None
    apt: tuple[str, ...]  # Debian/Ubuntu packages
    macos: str
    windows: str

    def install(self) -> str:
        debian = f"sudo apt-get install {' '.join(self.apt)}"
        return f"Debian/Ubuntu: {debian} · macOS: {self.macos} · Windows: {self.windows} (then run make test again)"


@functools.cache
def playwright_chromium() -> str | None:
    """The Chromium of `playwright install chromium`, if it was installed."""
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            path = p.chromium.executable_path
    except Exception:  # no driver, or a browser build Playwright cannot name: treat as not installed
        return None
    return path if path and Path(path).is_file() else None


def find_chromium() -> str | None:
    """Playwright's own Chromium when installed (the usual way on a laptop), else the system's (Debian's, in CI)."""
    return playwright_chromium() or shutil.which("chromium") or shutil.which("chromium-browser")


def find_hub_proxy() -> str | None:
    """configurable-http-proxy as the hub finds it (`make` installs it from npm), and node, which runs it."""
    from helpers.hub import proxy_command

    try:
        found = proxy_command()
    except RuntimeError:
        return None
    return found if shutil.which("node") else None


PYTHON = r".venv\Scripts\python" if sys.platform == "win32" else ".venv/bin/python"
PARTS = {
    part.name: part
    for part in (
        Part(
            "chromium",
            "the browser tests",
            find_chromium,
            ("chromium",),
            macos=f"{PYTHON} -m playwright install chromium",
            windows=r".venv\Scripts\python -m playwright install chromium",
        ),
        Part(
            "nginx",
            "the buffering-proxy test",
            lambda: shutil.which("nginx"),
            ("nginx",),
            macos="brew install nginx",
            windows=WINDOWS_UNSUPPORTED,
        ),
        Part(
            "git",
            "the Binder and nbgitpuller tests",
            lambda: shutil.which("git"),
            ("git",),
            macos="xcode-select --install",
            windows="winget install --id Git.Git -e",
        ),
        Part(
            "node/npm",
            "the JupyterHub tests and the TypeScript SDK's conformance test: `make` installs the hub's proxy and the SDK"
            " with npm; Node.js >= 20",
            find_hub_proxy,
            ("nodejs", "npm"),
            macos="brew install node",
            windows=WINDOWS_UNSUPPORTED,
        ),
    )
}


def need(name: str) -> str:
    """The part's path; without it, skip (fail under CI) naming the part, the tests and the install command."""
    part = PARTS[name]
    found = part.find()
    if found:
        return found
    skip_or_fail(f"{MISSING} [{name}], needed by {part.used_by}. Install: {part.install()}")


def summary(skip_reasons: Iterable[str]) -> list[str]:
    """One line per missing part: how many tests it skipped and how to install it."""
    counts: dict[str, int] = {}
    for reason in skip_reasons:
        match = re.search(re.escape(MISSING) + r" \[([^\]]+)\]", reason)
        if match:
            counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    return [
        f"{name} is missing: skipped {n} test{'s' * (n != 1)} ({PARTS[name].used_by}). Install: {PARTS[name].install()}"
        for name, n in counts.items()
    ]
