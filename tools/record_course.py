"""Record once, replay for the class: run the course live and save every stream as a cassette.

    ANTHROPIC_API_KEY=... python tools/record_course.py [--out cassettes] [NAME ...]   (or: make record)

Each notebook runs in a fresh kernel in live mode with ``COURSE_RECORD`` set, so every complete stream the lessons
make is saved, byte for byte, under ``--out`` (headers and keys are never saved). The notebooks themselves are not
changed. Then anyone can replay the real streams offline, with no key:

    COURSE_CASSETTES=cassettes make lab
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the course live and save every stream as a cassette.")
    parser.add_argument("--out", default="cassettes", help="folder for the recordings (default: cassettes/)")
    parser.add_argument("names", nargs="*", help="only notebooks whose names contain one of these words")
    args = parser.parse_args(argv)

    from helpers.connect import load_env

    load_env()
    if not os.environ.get("ANTHROPIC_API_KEY"):
        print("recording needs live mode: set ANTHROPIC_API_KEY (environment or .env) first", file=sys.stderr)
        return 2
    out = Path(args.out).resolve()
    os.environ["COURSE_RECORD"] = str(out)
    os.environ.pop("COURSE_OFFLINE", None)
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for path in (p for p in notebooks if not args.names or any(n in p.name for n in args.names)):
        before = len(list(out.glob("*.sse"))) if out.is_dir() else 0
        nb = nbformat.read(path, as_version=4)
        NotebookClient(
            nb,
            kernel_name="python3",
            timeout=600,
            allow_errors=True,
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
        errors = sum(
            1
            for c in nb.cells
            for o in c.get("outputs", [])
            if o.get("output_type") == "error" and "raises-exception" not in c.metadata.get("tags", [])
        )
        after = len(list(out.glob("*.sse"))) if out.is_dir() else 0
        print(
            f"{path.name}: {after - before} new recordings" + (f", {errors} cells failed" if errors else ""), flush=True
        )
    print(f"replay them with: COURSE_CASSETTES={os.path.relpath(out)} make lab")
    return 0


if __name__ == "__main__":
    sys.exit(main())
