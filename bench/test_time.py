"""Wall time of the test suite: `make unit` (the inner loop), the nbval part (every notebook, strictly) and the whole
of `make test`, each as a developer runs it (`make` runs pytest on JOBS workers, pytest-xdist; see the Makefile).

Baselines: `make unit` within 90 s and `make test` within 12 minutes on 2 cores; the nbval part within 3 minutes.

    python bench/test_time.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = {
    "make unit (no browser, hub, nbval or slow)": (["make", "-s", "unit"], 90),
    "nbval part (pytest --nbval notebooks/)": (
        [sys.executable, "-m", "pytest", "-q", "-rfE", "--nbval", "notebooks/"],
        180,
    ),
    "make test, lint included (whole suite)": (["make", "-s", "test", "PYTEST_ARGS=-q -rfE"], 12 * 60),
}


def timed(command: list[str]) -> tuple[float, int, str]:
    """Seconds, exit code, and pytest's summary line with the tests that failed, if any."""
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    summary = lines[-1] if lines else done.stderr.strip()[-200:]
    return time.monotonic() - started, done.returncode, "\n".join([summary, *failed])


def main() -> int:
    failed = 0
    for label, (command, baseline) in RUNS.items():
        seconds, code, summary = timed(command)
        verdict = "within" if seconds <= baseline else "OVER"
        limit = f"{baseline // 60} min" if baseline >= 120 else f"{baseline} s"
        print(f"{label:<42}: {seconds:6.0f} s  ({verdict} the {limit} baseline)  {summary}", flush=True)
        failed |= code
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
