"""Checker for 03_async's "Try it": were the streams open at the same time?"""

from __future__ import annotations

from . import report


def check_concurrent(answers: list, spans: list) -> None:
    """``answers``: the texts; ``spans``: one ``(start, end)`` pair of ``time.perf_counter()`` readings per stream.
    PASS when every stream started before any of them ended."""
    if not isinstance(answers, (list, tuple)) or not all(isinstance(a, str) for a in answers):
        raise TypeError(f"check_concurrent expects answers as a list of strings, got {answers!r:.80}")
    if not isinstance(spans, list) or not all(isinstance(s, tuple) and len(s) == 2 for s in spans):
        raise TypeError(f"check_concurrent expects spans as a list of (start, end) pairs, got {spans!r:.80}")
    if len(spans) != len(answers) or len(answers) < 2:
        raise ValueError(f"expected one span per answer and at least 2 answers, got {len(answers)} and {len(spans)}")
    if not all(answers):
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
