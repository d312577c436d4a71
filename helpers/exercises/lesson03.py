"""Checker for 03_async's "Try it": were the streams open at the same time?"""

from __future__ import annotations

import asyncio
import inspect

from . import report


def _pending(answers) -> list:
    """What in ``answers`` was never awaited: the value itself (``asyncio.gather(...)`` without ``await``) or its items
    (a list of coroutines or tasks)."""
    if inspect.isawaitable(answers):
        return [answers]
    if isinstance(answers, (list, tuple)):
        return [a for a in answers if inspect.isawaitable(a)]
    return []


def _drop(awaitable) -> None:
    """Stop a stream nobody awaits: left alone it would run after the cell and add its span to the next run's list."""
    if isinstance(awaitable, asyncio.Future):  # a task, or gather's future (cancelling it cancels its tasks)
        awaitable.cancel()
        awaitable.add_done_callback(_retrieve)  # gather ends with CancelledError as its exception: read, not logged
    elif inspect.iscoroutine(awaitable):
        awaitable.close()  # it never started; closing it also avoids the "never awaited" warning


def _retrieve(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()


def check_concurrent(answers, spans: list) -> None:
    """``answers``: the texts; ``spans``: one ``(start, end)`` pair of ``time.perf_counter()`` readings per stream.
    PASS when every stream started before any of them ended."""
    if pending := _pending(answers):
        for awaitable in pending:
            _drop(awaitable)
        kind = type(pending[0]).__name__
        what = f"answers is a {kind}" if pending[0] is answers else f"answers holds {kind} objects"
        report(
            False,
            f"{what} that nobody awaited, not the answers' texts",
            "answers is still pending: what turns it into results?",
        )
        return
    if not isinstance(answers, (list, tuple)) or not all(isinstance(a, str) for a in answers):
        raise TypeError(f"check_concurrent expects answers as a list of strings, got {answers!r:.80}")
    if not isinstance(spans, list) or not all(isinstance(s, tuple) and len(s) == 2 for s in spans):
        raise TypeError(f"check_concurrent expects spans as a list of (start, end) pairs, got {spans!r:.80}")
    if len(answers) < 2:
        report(False, f"len(answers) is {len(answers)}: fewer than the prompts", "ask every prompt in PROMPTS")
    elif len(spans) != len(answers):
        report(
            False,
            f"{len(answers)} answers but {len(spans)} (start, end) spans",
            "re-run the whole cell: it starts a fresh spans list, and each ask() adds one span",
        )
    elif not all(answers):
        report(False, "some answers are empty", "return the streamed text from ask()")
    elif max(start for start, _ in spans) < min(end for _, end in spans):
        report(True, f"all {len(answers)} streams were open at the same time")
    else:
        report(
            False,
            f"the {len(answers)} streams ran one after another: each waited for the one before",
            "section 2 starts its three streams with one awaited call that runs coroutines together: "
            "do the same with one ask(prompt) per prompt",
        )
