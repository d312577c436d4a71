"""Copy the course's one JavaScript SSE parser (helpers/web/static/sse.js) into the pages that must stay one file.

The capstone's page (notebooks/capstone/index.html) is served by the learner's own app as a single file, so it cannot
load sse.js beside it; it carries a copy between two marker comments instead, written here.

python tools/inline_js.py          # rewrite the copies
python tools/inline_js.py --check  # exit 1 if a copy differs from sse.js (a test runs this)
"""

from __future__ import annotations

import sys
from pathlib import Path

from markers import replace_between, report, update

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "helpers" / "web" / "static" / "sse.js"
PAGES = [ROOT / "notebooks" / "capstone" / "index.html"]
START = r"^(?P<indent>[ \t]*)// sse\.js:start \(copied from helpers/web/static/sse\.js by tools/inline_js\.py: edit that file\)\n"
END = r"^[ \t]*// sse\.js:end\n"


def copy(indent: str) -> str:
    """sse.js's parser (without its file header), indented for the page: what goes between the markers."""
    code = SOURCE.read_text().split('"use strict";\n', 1)[1].strip("\n")
    return "\n".join(f"{indent}{line}" if line else "" for line in code.splitlines()) + "\n"


def main(check: bool) -> int:
    stale = []
    for page in PAGES:
        name = page.relative_to(ROOT).as_posix()
        new = replace_between(page.read_text(), START, END, lambda m: copy(m.group("indent")), name)
        if update(page, new, check):
            stale.append(name)
    return report(stale, check, "python tools/inline_js.py", "helpers/web/static/sse.js")


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv[1:]))
