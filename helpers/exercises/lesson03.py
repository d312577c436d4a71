"""Checker for 03_async's "Try it": the learner writes ``ask_all(client, prompts, show)``, which streams every prompt
at the same time with an ``AsyncAnthropic`` client, hands each piece of answer ``i`` to ``show(i, piece)`` as it
arrives, and returns the answers' texts in the order of the prompts.

It runs the function against the local API at a realistic pace (in live mode too), with a heartbeat task beside it,
and watches the HTTP responses: were all the streams open at once, did the event loop stay free, did each piece
reach ``show`` while its stream was open, and did the texts come back whole and in order."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable

import anthropic

from helpers import connect
from helpers.models import DEFAULT_MODEL as MODEL

from . import LEARNER_ERRORS, LearnerError, brief, items_of, plain, report

PROMPTS = ["Write a haiku about debugging.", "Write a haiku about streaming.", "Write a haiku about tests."]
DEADLINE = 60  # seconds: a function that never returns is reported, not waited for
SHAPE = "ask_all returns a list with one str per prompt, in the order of prompts"


class _Watched:
    """An ``AsyncAnthropic`` on the local API, paced like the real API, that counts the responses open at once."""

    def __init__(self) -> None:
        self.responses: list = []
        self.most_open = 0
        local = connect.async_client(offline=True, quiet=True)
        self.client = local.with_options(
            http_client=anthropic.DefaultAsyncHttpxClient(event_hooks={"response": [self._opened]}),
            default_headers={"x-offline-pace": "realistic"},
            max_retries=0,
        )

    async def _opened(self, response) -> None:
        self.responses.append(response)
        self.most_open = max(self.most_open, self.open())

    def open(self) -> int:
        return sum(not r.is_closed for r in self.responses)


async def expected_texts(prompts: list[str] = PROMPTS) -> list[str]:
    """The local API's answer to each prompt (it answers the same prompt the same way)."""
    client = connect.async_client(offline=True, quiet=True)
    texts = []
    for prompt in prompts:
        async with client.messages.stream(
            model=MODEL,
            max_tokens=1024,
            messages=[{"role": "user", "content": prompt}],
            extra_headers={"x-offline-pace": "instant"},
        ) as stream:
            texts.append(await stream.get_final_text())
    return texts


async def check(ask_all: Callable) -> None:
    """``await lesson03.check(ask_all)``: run ``ask_all`` on three prompts and print PASS or NOT YET."""
    if not callable(ask_all):
        raise TypeError(f"check expects your function ask_all(client, prompts, show), got {type(ask_all).__name__}")
    report(*await _verdict(ask_all))


async def _verdict(ask_all: Callable) -> tuple[bool, str, str]:
    watched = _Watched()
    shown: list[tuple[int, object, int]] = []  # (i, piece, streams open at that moment)
    ticks: list[float] = []

    def show(i, piece):
        shown.append((i, piece, watched.open()))

    async def heartbeat():
        while True:
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.02)

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.05)
    before, started = len(ticks), time.perf_counter()
    try:
        result = ask_all(watched.client, list(PROMPTS), show)
        if not inspect.isawaitable(result):
            return (
                False,
                f"ask_all returned {type(result).__name__} without awaiting anything",
                "an AsyncAnthropic stream is opened with async with, inside an async def",
            )
        async with asyncio.timeout(DEADLINE):  # runs it in this task: an exit() it raises comes here, not to the loop
            result = await result
    except TimeoutError:
        return False, f"ask_all did not return within {DEADLINE} s", "is some stream never read to its end?"
    except LEARNER_ERRORS as exc:  # the learner's code may raise anything: it is reported, not re-raised
        err = LearnerError("ask_all", exc, getattr(ask_all, "__code__", None) and ask_all.__code__.co_filename)
        return False, str(err), _hint_for(exc)
    finally:
        beat.cancel()
        await watched.client.close()
    ticked = len(ticks) - before
    if pending := _pending(result):
        return (
            False,
            f"ask_all returned {type(pending[0]).__name__} objects nobody awaited, not the answers' texts",
            "the answers are still pending: what turns them into results?",
        )
    result = plain(result)
    if not (isinstance(result, list | tuple) and all(isinstance(t, str) for t in result)):
        return False, f"ask_all returned {brief(result)}", SHAPE
    if len(result) != len(PROMPTS):
        return False, f"ask_all returned {len(result)} answers for {len(PROMPTS)} prompts", SHAPE
    if not ticked and time.perf_counter() - started > 0.1:
        return (
            False,
            "the event loop froze while ask_all ran: the heartbeat never ticked",
            "a blocking call (a sync client, time.sleep) holds the loop: use the client you are given, and await",
        )
    if watched.most_open < len(PROMPTS):
        return (
            False,
            f"the streams ran one after another: at most {watched.most_open} open at a time",
            "section 2 starts its streams with one awaited call that runs coroutines together",
        )
    expected = await expected_texts()
    if list(result) != expected:
        if sorted(result) == sorted(expected):
            return False, "the answers came back out of order", "answer i belongs to prompts[i]: keep the order"
        return (
            False,
            "the texts returned are not the answers' whole texts",
            "return each stream's whole text: its pieces joined, or its final text",
        )
    return _judge_shown(shown, expected)


def _judge_shown(shown: list, expected: list[str]) -> tuple[bool, str, str]:
    if not shown:
        return False, "show was never called", "hand show(i, piece) each piece of answer i as it arrives"
    for i, text in enumerate(expected):
        pieces = [p for j, p, _ in shown if j == i]
        if "".join(p for p in pieces if isinstance(p, str)) != text:
            return (
                False,
                f"show got {len(pieces)} pieces for prompt {i}, which do not spell its answer",
                "call show(i, piece) with the index of the prompt and each piece of its text",
            )
    if max(open_ for _, _, open_ in shown) < 2:
        return (
            False,
            "show got the pieces only after the streams had ended",
            "call show inside each stream's async for loop, the moment a piece arrives",
        )
    return True, f"all {len(expected)} streams were open at once, the loop stayed free, every piece was shown", ""


def _pending(result) -> list:
    items = items_of(result) or []
    pending = [a for a in items if inspect.isawaitable(a)]
    for awaitable in pending:
        if isinstance(awaitable, asyncio.Future):
            awaitable.cancel()
        elif inspect.iscoroutine(awaitable):
            awaitable.close()  # it never started; closing it also avoids the "never awaited" warning
    return pending


def _hint_for(exc: BaseException) -> str:
    if isinstance(exc, AttributeError | TypeError) and any(
        word in str(exc) for word in ("__enter__", "__exit__", "context manager")
    ):
        return "an AsyncAnthropic stream opens with async with, not with"
    if isinstance(exc, TypeError) and "async for" in str(exc):
        return "text_stream of an async stream is read with async for"
    if isinstance(exc, NameError):
        return "use what ask_all gets (client, prompts, show), the notebook's MODEL and asyncio"
    return "one async with stream per prompt, its async for loop feeding show, and one awaited call that runs them all"
