"""Checkers for the notebooks' "Try it" exercises: one module per lesson, each printing PASS or NOT YET with a hint.

Every checker reports through :func:`report`, so all lessons speak the same way, and runs the learner's own code
through :func:`call_learner`, so a mistake in it comes back as a NOT YET line that names it, never as a traceback
from inside the checker. What the learner's code returns is judged as :func:`plain` data and shown with
:func:`brief`: none of its own methods run, so a value whose ``__eq__`` lies or whose ``__repr__`` raises gets a
NOT YET line like any other wrong answer, and a huge one costs no more to show than a short one.
"""

from __future__ import annotations

import reprlib
import sys
import traceback
from typing import Any

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


LEARNER_ERRORS = (Exception, SystemExit, KeyboardInterrupt)  # what a learner's function may raise: a NOT YET line
DEPTH = 12  # levels of lists, tuples and dicts judged as data; deeper ones count as a value of another type
TEXT = 200  # characters of an exception's text, or of a source line, a NOT YET line quotes


_NAME = type.__dict__["__name__"]  # the descriptor behind every class's __name__


class Opaque:
    """A learner's value that is not plain data (or nested too deep): equal only to itself, shown by its type's
    name, so no method of its own (``__eq__``, ``__repr__``, ``__bool__``...) runs inside a checker."""

    __slots__ = ("kind",)

    def __init__(self, value: object):
        self.kind = str.__str__(_NAME.__get__(type(value)))  # type's own: a metaclass may make __name__ code

    def __repr__(self) -> str:
        return f"<{self.kind} object>"


def plain(value: object, depth: int = DEPTH) -> Any:
    """``value`` as plain data: ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``, and lists, tuples and dicts
    of them, each of the exact built-in type; a subclass of one (a ``str`` whose ``__eq__`` says yes to anything) is
    copied as its base type without calling any of its methods. Anything else, or deeper than ``depth`` levels,
    becomes an :class:`Opaque`."""
    kind = type(value)  # its real type: isinstance() would also ask the value's own __class__, which may be code
    data: Any = value  # narrowed by kind, which a type checker does not follow
    if value is None or kind in (bool, int, float, str, bytes, Opaque):
        return value
    if issubclass(kind, str):
        return str.__str__(data)
    if issubclass(kind, int) and not issubclass(kind, bool):
        return int.__int__(data)
    if issubclass(kind, float):
        return float.__float__(data)
    if issubclass(kind, bytes):
        return bytes(memoryview(data))
    if depth > 0 and (raw := items_of(value)) is not None:
        items = [plain(item, depth - 1) for item in raw]
        return items if issubclass(kind, list) else tuple(items)
    if depth > 0 and issubclass(kind, dict):
        return {plain(k, depth - 1): plain(v, depth - 1) for k, v in dict.items(data)}
    return Opaque(value)


def items_of(value: object) -> list | None:
    """The items of a list or tuple as they are stored (a subclass's own ``__iter__`` or ``__len__`` does not run),
    or ``None`` for any other value."""
    data: Any = value  # its real type is checked: isinstance() would also ask its own __class__, which may be code
    if issubclass(type(value), list):
        return list.copy(data)
    if issubclass(type(value), tuple):
        return list(tuple.__iter__(data))
    return None


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxlong, _REPR.maxother = 4, 80, 40, 80


def brief(value: object, width: int = 60) -> str:
    """The learner's ``value`` for a NOT YET line: the repr of its :func:`plain` data, at most ``width`` characters
    (a 100 MB string or a list nested 100,000 deep is cut before it is written out)."""
    text = _REPR.repr(plain(value))
    return text if len(text) <= width else text[: width - 1] + "…"


class LearnerError(Exception):
    """The learner's function raised: ``str()`` is the NOT YET line's text (``your function raised …``)."""

    def __init__(self, name: str, exc: BaseException, filename: str | None = None):
        frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
        own = [f for f in frames if f.filename == filename]  # the learner's line, not the library's that raised
        frame = (own or frames)[-1] if own or frames else None
        where = f" (line {frame.lineno}: {_cut(frame.line)})" if frame and frame.line else ""
        super().__init__(f"your function {name} raised {type(exc).__name__}: {_text_of(exc)}{where}")
        self.original = exc


def _text_of(exc: BaseException) -> str:
    """``str(exc)``, or a line saying it could not be had: the learner's exception class may define a ``__str__``
    that raises, which must not turn into a traceback from inside the checker."""
    try:
        text = str(exc)
    except LEARNER_ERRORS as err:  # the learner's __str__ may raise anything
        return f"(its str() raised {type(err).__name__})"
    return _cut(str.__str__(text)) if isinstance(text, str) else "(its str() is no str)"


def _cut(text: str) -> str:
    text = one_line(text)
    return text if len(text) <= TEXT else text[: TEXT - 1] + "…"


# Control characters (a newline would start a line of its own, "\x1b[" colours or hides text, "\r" writes over the
# line) and bidirectional overrides, shown as escapes: a learner's text in a verdict line stays inside that line
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if c != 0x09}
_ESCAPES |= {0x0A: "\\n", 0x0D: "\\r"} | {c: f"\\u{c:04x}" for c in (0x2028, 0x2029, *range(0x202A, 0x202F))}
_ESCAPES |= {c: f"\\u{c:04x}" for c in range(0x2066, 0x206A)}


def one_line(text: str) -> str:
    """``text`` for a verdict line: control characters and bidirectional overrides shown as escapes."""
    return text.translate(_ESCAPES)


def call_learner(fn, *args, name: str | None = None):
    """Call the learner's ``fn(*args)``; if it raises, raise :class:`LearnerError` naming it, for the checker to
    report (``except LearnerError as err: report(False, str(err), hint)``)."""
    try:
        return fn(*args)
    except LEARNER_ERRORS as exc:  # the learner's code may raise anything, exit() too: it is reported, not re-raised
        code = getattr(fn, "__code__", None)
        raise LearnerError(name or str(getattr(fn, "__name__", "?")), exc, code.co_filename if code else None) from exc
