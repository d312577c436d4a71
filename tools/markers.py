"""Rewrite the marked regions of a file: the one step tools/figures.py, tools/inline_js.py and tools/nav.py share.

A region is a start marker, anything, an end marker. The markers stay as they are; what lies between them is
replaced. Each tool says what its markers look like (regular expressions: the start marker's groups are the
region's name or indent, which the end marker may refer back to) and what goes between them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path


def replace_between(text: str, start: str, end: str, fill: Callable[[re.Match], str], where: str = "") -> str:
    """``text`` with the inside of every region from ``start`` to ``end`` replaced by ``fill(match)`` (the match of the
    whole region: its groups are the start marker's). ValueError naming the markers if ``text`` has no region."""
    pattern = re.compile(f"(?P<_start>{start})(?P<_inside>.*?)(?P<_end>{end})", re.S | re.M)
    if not pattern.search(text):
        raise ValueError(f"{where or 'text'}: expected a region from {start!r} to {end!r}")
    return pattern.sub(lambda m: m.group("_start") + fill(m) + m.group("_end"), text)


def update(path: Path, new: str, check: bool) -> bool:
    """True if ``path`` differs from ``new``; then it is rewritten, unless ``check``."""
    if path.read_text() == new:
        return False
    if not check:
        path.write_text(new)
    return True


def report(stale: list[str], check: bool, fix: str, source: str = "") -> int:
    """The exit code of a ``--check`` run: 1, and a line naming the stale files, what they come from (``source``) and
    the command that rewrites them (``fix``), if any."""
    if check and stale:
        print(f"out of date{f' with {source}' if source else ''} (run `{fix}`): " + ", ".join(stale))
        return 1
    return 0
