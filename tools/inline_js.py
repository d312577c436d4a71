"""Copy the course's one JavaScript SSE parser (helpers/web/static/sse.js) into the pages that must stay one file.

The capstone's page (notebooks/capstone/index.html) is served by the learner's own app as a single file, so it cannot
load sse.js beside it; it carries a copy between two marker comments instead, written here.

python tools/inline_js.py          # rewrite the copies
python tools/inline_js.py --check  # exit 1 if a copy differs from sse.js (a test runs this)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "helpers" / "web" / "static" / "sse.js"
PAGES = [ROOT / "notebooks" / "capstone" / "index.html"]
BLOCK = re.compile(r"^([ \t]*)// sse\.js:start[^\n]*\n.*?^[ \t]*// sse\.js:end\n", re.S | re.M)


def copy(indent: str) -> str:
    """sse.js's parser (without its file header), indented for the page, between the markers."""
    code = SOURCE.read_text().split('"use strict";\n', 1)[1].strip("\n")
    body = "\n".join(f"{indent}{line}" if line else "" for line in code.splitlines())
    start = f"{indent}// sse.js:start (copied from helpers/web/static/sse.js by tools/inline_js.py: edit that file)"
    return f"{start}\n{body}\n{indent}// sse.js:end\n"


def main(check: bool) -> int:
    stale = []
    for page in PAGES:
        text = page.read_text()
        if not BLOCK.search(text):
            raise ValueError(f"{page.relative_to(ROOT)}: expected a '// sse.js:start' ... '// sse.js:end' block")
        new = BLOCK.sub(lambda m: copy(m.group(1)), text)
        if new != text:
            stale.append(page.relative_to(ROOT).as_posix())
            if not check:
                page.write_text(new)
    if check and stale:
        print("out of date with helpers/web/static/sse.js (run `python tools/inline_js.py`): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv[1:]))
