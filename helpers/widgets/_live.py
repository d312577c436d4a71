"""What every live view shares: ops batched to the browser, the final state kept in sync, errors, a stable repr.

The kernel never re-sends what the browser already has. A view sends small *ops* in custom messages
(``{"seq": n, "o": [op, ...]}``), at most ``MAX_RATE`` times a second, and the commonest message, more text for the
field that the last append went to, in short form: ``[n, text]``; ``views.js`` applies the same ops to its
copy of the state. When the stream ends, one last message carries the remaining ops and the final figures, and
the kernel stores the same final state in the widget's traits *without* sending it again (the browser has it), so
re-displaying the view, or reloading the page, shows the finished result. If the browser ever misses a message it
asks for the whole state (``{"resync": n}``).

The five ops (``views.js`` and ``meter.replay`` implement the same):
``["b", block]`` add a block · ``["+", i, key, text]`` append to a block's field · ``["=", i, key, value]`` set a
block's field · ``["a", i, key, item]`` append an item to a block's list field (a citation: sending the whole list
again cost O(n²) bytes, 400 MB for 5,000 citations) · ``["r", row]`` append a row to ``items``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import anthropic
import anywidget
import traitlets
from anthropic.lib import streaming

from ..offline.read import count_tokens
from .tables import for_browser

HERE = Path(__file__).parent
MAX_RATE = 15  # messages per second, at most: a delta waits at most 1/MAX_RATE s; at realistic pace this sends fewer,
# larger messages than the print loop does (bench/widgets.py; README, Figures)
UNTIMED = 0.002  # seconds: a first token sooner than this after a view started came before the view did
FIGURES_EVERY = 0.5  # seconds between refreshes of the live figures

SYNC_STREAMS = (streaming.MessageStream, streaming.BetaMessageStream)
SYNC_MANAGERS = (streaming.MessageStreamManager, streaming.BetaMessageStreamManager)
ASYNC_STREAMS = (streaming.AsyncMessageStream, streaming.BetaAsyncMessageStream)
ASYNC_MANAGERS = (streaming.AsyncMessageStreamManager, streaming.BetaAsyncMessageStreamManager)


def describe(exc: BaseException) -> str:
    """``APIStatusError: Overloaded (overloaded_error, mid-stream)``: the type and the API's own message."""
    name = type(exc).__name__
    if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
        return f"{name}: stopped"
    body = getattr(exc, "body", None)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        status = getattr(exc, "status_code", None)
        where = "mid-stream" if status == 200 else f"HTTP {status}"
        return f"{name}: {error['message']} ({error.get('type', 'error')}, {where})"
    text = str(exc).strip()
    return f"{name}: {text}" if text else name


def show_static(bundle: dict) -> None:
    """Leave a static output in the notebook (outside IPython, print its text/plain)."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display

    if InteractiveShell.initialized():
        display(bundle, raw=True)
    else:
        print(bundle["text/plain"])


def check_message(method: str, message) -> None:
    if message is not None and not (hasattr(message, "stop_reason") and hasattr(message, "usage")):
        raise TypeError(
            f"{method} expects the final Message from stream.get_final_message() (or nothing), "
            f"got {type(message).__name__}"
        )


def usage_of(message) -> dict:
    """The part of a final Message the footer shows."""
    if message is None:
        return {}
    usage = message.usage
    details = getattr(message, "stop_details", None)
    server = getattr(usage, "server_tool_use", None)
    output_details = getattr(usage, "output_tokens_details", None)
    as_dict = lambda value: value.to_dict() if isinstance(value, anthropic.BaseModel) else value  # noqa: E731
    server = as_dict(server)
    return {
        "stop_reason": message.stop_reason,
        "model": getattr(message, "model", ""),
        "input_tokens": getattr(usage, "input_tokens", None),
        "output_tokens": getattr(usage, "output_tokens", None),
        "thinking_tokens": getattr(output_details, "thinking_tokens", None),  # of the output, shown or not
        "cache_creation_input_tokens": getattr(usage, "cache_creation_input_tokens", None),
        "cache_read_input_tokens": getattr(usage, "cache_read_input_tokens", None),
        "server_tool_use": {k: v for k, v in server.items() if v} if isinstance(server, dict) else {},
        "stop_details": as_dict(details),
        "stop_sequence": getattr(message, "stop_sequence", None),
    }


class LiveView(anywidget.AnyWidget):
    """Base of the live views. Subclasses add what they accept (``append``/``add``) and how they look when done."""

    # The views' code and style (views.js, views.css: ~20 kB) travel with the kernel's first view only; every later
    # view ships the small loader.js, which waits for that code on the page (sent with every view, 50 views cost 1 MB).
    # Set per instance in __init__, before anywidget reads them.
    KIND = "text"  # which renderer views.js uses

    kind = traitlets.Unicode("text").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    # Sent as ops while streaming and stored at the end without a second send (echo_update=False keeps it quiet).
    status = traitlets.Unicode("streaming").tag(sync=True, echo_update=False)
    error = traitlets.Unicode("").tag(sync=True, echo_update=False)
    footer = traitlets.Dict().tag(sync=True, echo_update=False)
    figures = traitlets.Dict().tag(sync=True, echo_update=False)
    # Names this view's static rendering (data-cw-view), which views.js hides wherever the live view renders.
    view_id = traitlets.Unicode("").tag(sync=True)
    code_version = traitlets.Unicode("").tag(sync=True)
    blocks = traitlets.List[dict]().tag(sync=True, echo_update=False)
    items = traitlets.List[dict]().tag(sync=True, echo_update=False)
    svg = traitlets.Unicode("").tag(sync=True, echo_update=False)
    seq = traitlets.Int(0).tag(sync=True, echo_update=False)

    def __init__(self, *, title: str = "", display: bool = True):
        if not isinstance(title, str):
            raise TypeError(f"{type(self).__name__}(title=...) expects a str, got {type(title).__name__}")
        code = views_code()
        self._esm, self._css = code.pop("module"), code.pop("css")
        super().__init__(
            title=title, kind=self.KIND, view_id=uuid.uuid4().hex, code_version=code["version"], layout=shared_layout()
        )
        self._lock = threading.RLock()
        self._pending: list[list] = []
        self._timer: threading.Timer | None = None
        self._last_send = -math.inf
        self._last_figures = -math.inf
        self._t0 = time.monotonic()
        self._arrivals: list[tuple[float, int]] = []  # (seconds since t0, chars) per delta
        self._first_text: float | None = None  # when the first text arrived (after thinking, in a ThinkingView)
        self._tokens = 0  # the tokens that arrived, estimated as the local API counts them, until usage is known
        self._seq = 0
        self._target: tuple | None = None  # (block, field) of the last "+" op sent: what a short message appends to
        self._state: dict[str, Any] = {"status": "streaming", "error": "", "footer": {}}
        self._static_shown = display
        self.on_msg(self._from_browser)
        if display:
            from IPython.display import display as show

            show(self)

    # -- what subclasses implement ----------------------------------------------------------------------------

    def add(self, event) -> None:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def _json_state(self) -> dict:
        """The accumulated state as JSON (``blocks``/``items``/``svg``), for the final sync and resyncs."""
        return {}

    def _summary(self) -> str:
        """A short deterministic description: the repr's body and the static output's text/plain."""
        raise NotImplementedError

    def _static(self) -> dict:
        """The mime bundle left in the notebook when the view finishes (markdown or SVG, plus text/plain)."""
        raise NotImplementedError

    # -- state --------------------------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self._state["status"] != "streaming"

    def _check_open(self, method: str) -> None:
        if self.done:
            raise RuntimeError(
                f"{type(self).__name__} is finished ({self._state['status']}): {method} needs a new view"
            )

    def _arrived(self, text: str, field: str = "text") -> None:
        self._arrivals.append((time.monotonic() - self._t0, len(text)))
        if field == "text" and self._first_text is None:
            self._first_text = self._arrivals[-1][0]
        self._tokens += count_tokens(text)

    def _figures(self, now: float | None = None) -> dict:
        """Time to first token, elapsed, deltas, chars, tokens and tokens/s.

        TTFT means one thing in every view: from the request (the view's start: ``watch()`` opening the stream, else
        the view's creation) to the first token of any kind, thinking included. When thinking came first,
        ``first_text_ms`` says when the answer's text began. A first token within ``UNTIMED`` of the view's start
        means the view was made for it, after the request: no TTFT is shown then, rather than a false one.
        Until usage is known, tokens are estimated
        from the text as the local API counts them (words, groups of up to 3 digits, punctuation), not as a flat number
        of chars a token, which numbers are far from."""
        arrivals = self._arrivals
        chars = sum(n for _, n in arrivals)
        out: dict[str, Any] = {
            "deltas": len(arrivals),
            "chars": chars,
            "ttft_ms": None,
            "elapsed_ms": None,
            "tok_s": None,
        }
        if not arrivals:
            return out
        first, last = arrivals[0][0], arrivals[-1][0]
        end = last if now is None else max(last, now - self._t0)
        counted = self._state["footer"].get("output_tokens")
        counted = counted if is_count(counted) and counted > 0 else None  # a server may send anything here
        tokens = counted or self._tokens
        out.update(elapsed_ms=round(end * 1000), estimated=counted is None, tokens=tokens)
        out["ttft_ms"] = round(first * 1000) if first >= UNTIMED else None
        if self._first_text is not None and self._first_text > first:
            out["first_text_ms"] = round(self._first_text * 1000)
        if last > first:
            out["tok_s"] = round(tokens / (last - first), 1)
        return out

    # -- batching -----------------------------------------------------------------------------------------------

    def _op(self, op: list) -> None:
        """Queue one op; send now if the last send was at least 1/MAX_RATE s ago, else within that time."""
        with self._lock:
            last = self._pending[-1] if self._pending else None
            if op[0] == "+" and last and last[0] == "+" and last[1:3] == op[1:3]:
                last[3] += op[3]
            elif op[0] == "=" and (same := next((p for p in self._pending if p[0] == "=" and p[1:3] == op[1:3]), None)):
                same[3] = op[3]
            else:
                self._pending.append(list(op))
            wait = self._last_send + 1 / MAX_RATE - time.monotonic()
            if wait <= 0:
                self._flush()
            elif self._timer is None:
                # A timer, not the next op, sends what is pending: a blocked cell or a stalled stream still shows it.
                self._timer = timer = threading.Timer(wait, lambda: self._on_timer(timer))
                timer.daemon = True
                timer.start()

    def _on_timer(self, timer: threading.Timer) -> None:
        with self._lock:
            if self._timer is timer:
                self._flush()

    def _flush(self, end: dict | None = None) -> None:
        """Send the pending ops (and the final state, if ``end``). The caller holds the lock."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending and end is None:
            return
        now = time.monotonic()
        self._seq += 1
        pending, self._pending = self._pending, []
        # live figures from the first delta on, then every FIGURES_EVERY s
        first = bool(self._arrivals) and self._last_figures == -math.inf
        figures = end is None and (first or now - self._last_figures >= FIGURES_EVERY)
        if not figures and end is None and len(pending) == 1 and short_for(pending[0], self._target):
            message: list | dict = [self._seq, pending[0][3]]
        else:
            message = {"seq": self._seq, "o": pending}
            if end is not None:
                message["end"] = end
            elif figures:
                message["f"] = self._figures(now)
                self._last_figures = now
        self._target = last_target(pending, self._target)
        self.send(message)
        self._last_send = time.monotonic()  # after sending: the gap between two sends never falls below 1/MAX_RATE

    def _from_browser(self, _widget, content, _buffers) -> None:
        """The browser missed a message (it connected late, or reloaded mid-stream): send it the whole state."""
        if isinstance(content, dict) and "resync" in content:
            with self._lock:
                self._flush()
                self._target = None  # the browser's state is replaced: the next append names its field again
                state = {
                    **self._state,
                    **self._json_state(),
                    "figures": self._figures(time.monotonic()),
                    "seq": self._seq,
                }
                self.set_state(state)
                self.send_state(list(state))

    # -- ending -------------------------------------------------------------------------------------------------

    def _settle(self, status: str, *, footer: dict | None = None, error: str = "") -> None:
        """Send the last ops with the final state, store it in the traits, and leave the static rendering."""
        with self._lock:
            if self.done:
                return
            wait = self._last_send + 1 / MAX_RATE - time.monotonic()
            if wait > 0:
                time.sleep(wait)  # keep the rate bound for the last message too (at most 1/MAX_RATE s)
            self._state.update(status=status, error=error, footer=footer or {})
            self._on_settle()
            end = {
                "status": status,
                "error": error,
                "footer": self._state["footer"],
                "figures": self._figures(),
                **{k: v for k, v in self._json_state().items() if k == "svg"},
            }
            self._flush(end)
            self.set_state({**self._json_state(), **end, "seq": self._seq})
        if self._static_shown:
            show_static(self._static())

    def _on_settle(self) -> None:
        """Hook: last changes to the state before it is frozen (e.g. drawing the timeline)."""

    def finish(self, message=None) -> None:
        """End the view: footer with stop_reason and usage from ``message`` (``stream.get_final_message()``)."""
        check_message(f"{type(self).__name__}.finish()", message)
        if not self.done:
            self._settle("done", footer=usage_of(message))

    def fail(self, exc: BaseException) -> None:
        """End the view with a banner naming the error; what arrived stays visible. Does not raise."""
        if not isinstance(exc, BaseException):
            raise TypeError(f"{type(self).__name__}.fail() expects an exception, got {type(exc).__name__}")
        stopped = isinstance(exc, asyncio.CancelledError | KeyboardInterrupt)
        self._settle("stopped" if stopped else "error", error=describe(exc))

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:  # None: the exception, if any, propagates
        if exc is not None:
            self.fail(exc)
        else:
            self.finish()

    # -- consuming a whole stream -------------------------------------------------------------------------------

    def watch(self, stream):
        """Show a whole ``MessageStream`` (or the manager ``client.messages.stream(...)``); returns the final Message.

        On an error the banner shows it, the partial output stays, and the error is raised again.
        """
        name = f"{type(self).__name__}.watch()"
        if isinstance(stream, ASYNC_STREAMS + ASYNC_MANAGERS):
            raise TypeError(f"{name} got an async stream: use `await view.awatch(stream)`")
        if isinstance(stream, SYNC_MANAGERS):
            self._t0 = time.monotonic() if not self._arrivals else self._t0
            try:
                with stream as opened:
                    return self.watch(opened)
            except BaseException as exc:
                self.fail(exc)  # no-op when the inner call already failed the view
                raise
        if not isinstance(stream, SYNC_STREAMS):
            raise TypeError(
                f"{name} expects the MessageStream from `with client.messages.stream(...) as stream` "
                f"(or the `client.messages.stream(...)` manager), got {type(stream).__name__}"
            )
        try:
            for event in stream:
                self.add(event)
            message = stream.get_final_message()
        except BaseException as exc:
            self.fail(exc)
            raise
        self.finish(message)
        return message

    async def awatch(self, stream):
        """Like :meth:`watch` for an ``AsyncMessageStream`` (or ``client.messages.stream(...)`` of AsyncAnthropic)."""
        name = f"{type(self).__name__}.awatch()"
        if isinstance(stream, SYNC_STREAMS + SYNC_MANAGERS):
            raise TypeError(f"{name} got a sync stream: use `view.watch(stream)`")
        if isinstance(stream, ASYNC_MANAGERS):
            self._t0 = time.monotonic() if not self._arrivals else self._t0
            try:
                async with stream as opened:
                    return await self.awatch(opened)
            except BaseException as exc:
                self.fail(exc)
                raise
        if not isinstance(stream, ASYNC_STREAMS):
            raise TypeError(
                f"{name} expects the AsyncMessageStream from `async with client.messages.stream(...) as stream` "
                f"(or the manager itself, from AsyncAnthropic), got {type(stream).__name__}"
            )
        try:
            async for event in stream:
                self.add(event)
            message = await stream.get_final_message()
        except BaseException as exc:
            self.fail(exc)
            raise
        self.finish(message)
        return message

    # -- representations ----------------------------------------------------------------------------------------

    def __repr__(self) -> str:
        title = f", title={self.title!r}" if self.title else ""
        if self._state["status"] == "streaming" and not self._arrivals:
            # What a reader without widgets (GitHub, nbconvert) sees where the live view was.
            return f"{type(self).__name__}(live view; its static result follows when the stream ends{title})"
        return f"{type(self).__name__}({self._summary()}{title})"

    def _plain(self) -> str:
        return f"{type(self).__name__}: {self._summary()}"


_SHIPPED: set[str] = set()  # versions of the views' code a view of this kernel has carried already
_LAYOUT: list = []  # the one Layout every view of this kernel shares


def shared_layout():
    """One ``Layout`` for all views: each widget would otherwise open a Layout of its own, a second comm per view
    (bench/widgets.py measures what a second view costs to open; README, Figures). Views never change their layout."""
    if not _LAYOUT:
        import ipywidgets

        _LAYOUT.append(ipywidgets.Layout())
    return _LAYOUT[0]


def views_code() -> dict:
    """The module and style for a new view: the whole code for the kernel's first view, the loader after that.

    ``version`` (a hash of the code) keys the page's slot for it, so a new version of the package loads anew.
    """
    read = lambda name: (HERE / name).read_text()  # noqa: E731
    tables = f"const TABLES = {json.dumps(for_browser(), sort_keys=True)};\n"  # the tables views.js reads
    code, css, registry = tables + read("views.js"), read("views.css"), read("registry.js")
    version = hashlib.sha256((code + css).encode()).hexdigest()[:16]
    if version in _SHIPPED:
        return {"module": registry + read("loader.js"), "css": "", "version": version}
    _SHIPPED.add(version)
    full = f"{registry}{code}\nslot({version!r}).resolve({{ initialize, render }});\n"
    return {"module": full, "css": css, "version": version}


def is_count(value) -> bool:
    """Whether a usage field is a real count (an int, not a bool), which figures can be computed from."""
    return isinstance(value, int) and not isinstance(value, bool)


def short_for(op: list, target: tuple | None) -> bool:
    """Whether ``op`` appends to ``target``, so that it can travel as a short message ``[seq, text]``."""
    return op[0] == "+" and target is not None and tuple(op[1:3]) == target


def last_target(ops: list, default: tuple | None) -> tuple | None:
    """(block, field) of the last "+" op in ``ops``, or ``default`` when there is none."""
    return next((tuple(op[1:3]) for op in reversed(ops) if op[0] == "+"), default)


def expand(messages) -> list[dict]:
    """Messages as the views send them, with short ones (``[seq, text]``) written out as ``{"seq", "o"}``."""
    out: list[dict] = []
    target: tuple | None = None
    for message in messages:
        if isinstance(message, list):
            if target is None:
                raise ValueError(f"short message {message!r} before any '+' op: it has no block to append to")
            message = {"seq": message[0], "o": [["+", *target, message[1]]]}
        target = last_target(message.get("o", []), target)
        out.append(message)
    return out


def is_event(event) -> bool:
    """An SDK stream event (``for event in stream``): a pydantic model with a string ``type``."""
    return isinstance(event, anthropic.BaseModel) and isinstance(getattr(event, "type", None), str)


def event_error(view: LiveView, event) -> TypeError:
    hint = " For text from stream.text_stream use view.append(text)." if isinstance(event, str) else ""
    return TypeError(
        f"{type(view).__name__}.add() expects a stream event from `for event in stream` "
        f"(e.g. a content_block_delta), got {type(event).__name__}.{hint}"
    )
