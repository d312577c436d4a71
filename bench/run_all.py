"""``make bench``: the machine, then every benchmark in bench/ in turn, each printing its figures and baselines.

    python bench/run_all.py            # all of them
    python bench/run_all.py api relay  # the ones whose names contain a word

The wall time of the test suite (bench/test_time.py) runs last: it runs the whole suite, which takes minutes.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
LAST = "test_time.py"


def machine() -> str:
    """One line: CPU count, CPU model, RAM, OS and Python — the figures mean little without it."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "")
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    kib = next((int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal:")), 0)
    ram = f"{kib / 1024**2:.1f} GiB RAM" if kib else "RAM unknown"
    return (
        f"machine: nproc {len(os.sched_getaffinity(0))}, {model or platform.processor() or 'CPU model unknown'}, "
        f"{ram}, {platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def scripts(words: list[str]) -> list[Path]:
    found = sorted(p for p in BENCH.glob("*.py") if p.name != Path(__file__).name)
    found.sort(key=lambda p: p.name == LAST)  # the slow one last
    return [p for p in found if not words or any(w in p.stem for w in words)]


def main(words: list[str]) -> int:
    print(machine(), flush=True)
    failed = []
    for script in scripts(words):
        print(f"\n## {script.stem}", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(script)], cwd=BENCH.parent)
        print(f"({script.name}: {time.monotonic() - started:.0f} s{'' if code == 0 else f', exit code {code}'})")
        if code:
            failed.append(script.name)
    if failed:
        print(f"\nFAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
