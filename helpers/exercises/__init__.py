"""Checkers for the notebooks' "Try it" exercises: one module per lesson, each printing PASS or NOT YET with a hint.

Every checker reports through :func:`report`, so all lessons speak the same way, and runs the learner's own code
through :func:`call_learner`, so a mistake in it comes back as a NOT YET line that names it, never as a traceback
from inside the checker.
"""

from __future__ import annotations

import sys
import traceback

from helpers.gateway.learner import report_verdict


def report(ok: bool, what: str, hint: str = "") -> bool:
    """Print one line: ``PASS ✓ what`` or ``NOT YET ✗ what — hint: …``; return ``ok``. Behind a class gateway,
    also tell it the verdict, named by the checker that called (``lesson01.check_is_complete``), for the
    instructor's dashboard."""
    caller = sys._getframe(1)
    report_verdict(f"{caller.f_globals.get('__name__', '').rsplit('.', 1)[-1]}.{caller.f_code.co_name}", ok)
    if ok:
        print(f"PASS ✓ {what}")
    else:
        print(f"NOT YET ✗ {what}" + (f" — hint: {hint}" if hint else ""))
    return ok


class LearnerError(Exception):
    """The learner's function raised: ``str()`` is the NOT YET line's text (``your function raised …``)."""

    def __init__(self, name: str, exc: BaseException, filename: str | None = None):
        frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
        own = [f for f in frames if f.filename == filename]  # the learner's line, not the library's that raised
        frame = (own or frames)[-1] if own or frames else None
        where = f" (line {frame.lineno}: {frame.line})" if frame and frame.line else ""
        super().__init__(f"your function {name} raised {type(exc).__name__}: {_text_of(exc)}{where}")
        self.original = exc


def _text_of(exc: BaseException) -> str:
    """``str(exc)``, or a line saying it could not be had: the learner's exception class may define a ``__str__``
    that raises, which must not turn into a traceback from inside the checker."""
    try:
        return str(exc)
    except Exception as err:  # the learner's __str__ may raise anything
        return f"(its str() raised {type(err).__name__})"


def call_learner(fn, *args, name: str | None = None):
    """Call the learner's ``fn(*args)``; if it raises, raise :class:`LearnerError` naming it, for the checker to
    report (``except LearnerError as err: report(False, str(err), hint)``)."""
    try:
        return fn(*args)
    except Exception as exc:  # the learner's code may raise anything: it is reported, not re-raised
        code = getattr(fn, "__code__", None)
        raise LearnerError(name or str(getattr(fn, "__name__", "?")), exc, code.co_filename if code else None) from exc
