"""Checkers for the notebooks' "Try it" exercises: one module per lesson, each printing PASS or NOT YET with a hint.

Every checker reports through :func:`report`, so all lessons speak the same way.
"""

from __future__ import annotations


def report(ok: bool, what: str, hint: str = "") -> bool:
    """Print one line: ``PASS ✓ what`` or ``NOT YET ✗ what — hint: …``; return ``ok``."""
    if ok:
        print(f"PASS ✓ {what}")
    else:
        print(f"NOT YET ✗ {what}" + (f" — hint: {hint}" if hint else ""))
    return ok
