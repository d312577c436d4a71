"""A playground for exploratory prompting: watch each answer stream in, stop it mid-way, keep the conversation.

The stream runs as an asyncio task on the kernel's event loop, so the cell is free and the Stop button's click
is processed while tokens arrive. Errors are shown in the transcript, never raised.
"""

from __future__ import annotations

import asyncio
import html
import json
import math
import pprint
from urllib.parse import urlsplit

import anthropic
import ipywidgets as W

from ..connect import public_url
from ..demo_tool import WEATHER_TOOL, get_weather
from ..models import thinking_for
from ._live import describe
from ._static import visible
from .views import ThinkingView

MAX_TOOL_ROUNDS = 4
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class Literal(pprint.PrettyPrinter):
    """``pprint`` whose output is Python that runs: non-finite floats (NaN and infinities, which JSON tool input can
    hold) are written ``float("nan")``, where ``repr`` gives a bare ``nan``; strings are ``repr``'d, which any str
    survives."""

    def format(self, obj, context, maxlevels, level):
        if isinstance(obj, float) and not math.isfinite(obj):
            return f'float("{obj!r}")', True, False
        return super().format(obj, context, maxlevels, level)


def literal(value, indent: str = "    ") -> str:
    """``value`` as Python source (dicts keep their order), continuation lines indented by ``indent``."""
    return Literal(width=96, sort_dicts=False).pformat(value).replace("\n", "\n" + indent)


def json_safe(value):
    """``value`` with NaN and infinities as None: the API takes JSON, which has no such numbers, so a tool input that
    held one would make every later turn of the conversation fail."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def block_param(block) -> dict:
    """A content block of a reply, as the request expects it back in the next turn."""
    if block.type == "text":
        return {"type": "text", "text": block.text}
    if block.type == "thinking":
        return {"type": "thinking", "thinking": block.thinking, "signature": block.signature}
    if block.type == "redacted_thinking":
        return {"type": "redacted_thinking", "data": block.data}
    if block.type == "tool_use":
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": json_safe(block.input)}
    return block.to_dict()


def client_code(base_url: str) -> tuple[list[str], str]:
    """The imports and the line that makes the client, for code that runs outside this kernel.

    The course's local API lives in the kernel, on a port of the moment: the code asks the course for a client
    instead (offline it starts its own local API; with a key it is the real API). A URL with credentials in it is
    never printed: the client reads it from ``ANTHROPIC_BASE_URL``, as the SDK does.
    """
    url = base_url.rstrip("/")
    host = (urlsplit(url).hostname or "") if "://" in url else ""
    if url == "https://api.anthropic.com":
        return ["import anthropic"], "client = anthropic.Anthropic()  # reads ANTHROPIC_API_KEY from the environment"
    if host in {h.strip("[]") for h in LOCAL_HOSTS}:
        return (
            ["from helpers import connect"],
            "client = connect.client()  # the course's client: its local API offline, the real API with your key",
        )
    if public_url(url) != url:
        return (
            ["import anthropic"],
            "client = anthropic.Anthropic()  # base_url from ANTHROPIC_BASE_URL (it holds credentials: not shown)",
        )
    return ["import anthropic"], f"client = anthropic.Anthropic(base_url={url!r})  # key from ANTHROPIC_API_KEY"


def default_models() -> list[str]:
    from helpers.models import MODELS

    return list(MODELS)


class Playground:
    """Prompt and system boxes, model, max_tokens, thinking and tools switches, Send and Stop, and a transcript.

    >>> pg = Playground(async_client())
    >>> await pg.send("Write a haiku about debugging.")   # what the Send button does; returns the final Message
    >>> pg.stop()                                          # what the Stop button does
    """

    def __init__(self, client: anthropic.AsyncAnthropic, models: list[str] | None = None, *, display: bool = True):
        if not isinstance(client, anthropic.AsyncAnthropic):
            raise TypeError(
                f"Playground needs an anthropic.AsyncAnthropic client (helpers.connect.async_client()), got {type(client).__name__}"
            )
        if isinstance(models, str) or not isinstance(models, list | tuple | type(None)):
            raise TypeError(
                f"Playground(models=...) expects a list of model names, e.g. ['{default_models()[0]}'], "
                f"got {type(models).__name__} {models!r}"
            )
        models = list(models) if models is not None else default_models()
        if not models or not all(isinstance(m, str) and m for m in models):
            raise TypeError(f"Playground(models=...) expects a non-empty list of model names (str), got {models!r}")
        self.client = client
        self.messages: list[dict] = []  # the conversation, as sent with the next request
        self.turns = 0
        self.history: list[dict] = []  # one row per answer of this session: prompt, model, figures, stop reason
        # width "auto" with box-sizing border-box: a 100% width plus the widget's own margin overflowed the panel
        full = W.Layout(width="auto", max_width="100%")
        self.prompt = W.Textarea(
            placeholder="Your prompt…", layout=W.Layout(width="auto", max_width="100%", height="5em")
        )
        self.system = W.Textarea(placeholder="System prompt (optional)", layout=full)
        self.model = W.Dropdown(options=models, value=models[0], description="model")
        self.max_tokens = W.BoundedIntText(value=2048, min=1, max=128_000, description="max_tokens")
        self.thinking = W.Checkbox(value=False, description="thinking (adaptive)", indent=False)
        self.tools = W.Checkbox(value=False, description="tools (get_weather)", indent=False)
        self.send_button = W.Button(description="Send", button_style="primary", icon="paper-plane")
        self.stop_button = W.Button(description="Stop", icon="stop", disabled=True, tooltip="Nothing is streaming")
        self.new_button = W.Button(description="New conversation")
        self.code_button = W.Button(description="Show as code", icon="code", tooltip="The SDK call for these settings")
        self.status = W.HTML()
        self.transcript = W.VBox()
        self.code_box = W.Textarea(layout=W.Layout(width="auto", max_width="100%", height="16em", display="none"))
        self.history_table = W.HTML()
        self.send_button.on_click(lambda _button: self._spawn())
        self.stop_button.on_click(lambda _button: self.stop())
        self.new_button.on_click(lambda _button: self.reset())
        self.code_button.on_click(lambda _button: self._show_code())
        self.box = W.VBox(
            [
                self.transcript,
                self.prompt,
                self.system,
                W.HBox([self.model, self.max_tokens, self.thinking, self.tools], layout=W.Layout(flex_flow="row wrap")),
                W.HBox(
                    [self.send_button, self.stop_button, self.new_button, self.code_button, self.status],
                    layout=W.Layout(flex_flow="row wrap"),
                ),
                self.code_box,
                self.history_table,
            ]
        )
        self.box.add_class("cw-playground")
        self._task: asyncio.Task | None = None
        if display:
            from IPython.display import display as show

            show(self)

    # -- what the buttons do --------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    async def send(self, prompt: str | None = None):
        """Send ``prompt`` (default: the prompt box) and stream the answer; returns the final Message, or None."""
        prompt = self.prompt.value if prompt is None else prompt
        if not isinstance(prompt, str):
            raise TypeError(f"Playground.send() expects the prompt as str, got {type(prompt).__name__}")
        if not prompt.strip():
            self._say("Type a prompt first.")
            return None
        if self.busy:
            self._say("Still streaming: press Stop first.")
            return None
        self._task = task = asyncio.ensure_future(self._turn(prompt))
        self._busy(True)
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            self._busy(False)
        return None if task.cancelled() else task.result()

    def stop(self) -> bool:
        """Stop the answer that is streaming (closes the stream); True if there was one."""
        if not self.busy or self._task is None:  # busy implies a task; the second test tells mypy
            return False
        self._task.cancel()
        return True

    def reset(self) -> None:
        """Start a new conversation."""
        if self.busy:
            self._say("Still streaming: press Stop first.")
            return
        self.messages.clear()
        self.transcript.children = ()
        self.turns = 0
        self._say("New conversation.")

    def _spawn(self) -> None:
        try:
            asyncio.get_running_loop().create_task(self.send())
        except RuntimeError:
            self._say("The playground needs a running event loop (a Jupyter kernel).")

    # -- one turn -------------------------------------------------------------------------------------------------

    async def _turn(self, prompt: str):
        self.prompt.value = ""
        self.messages.append({"role": "user", "content": prompt})
        self._show(f"<b>You:</b> {html.escape(prompt)}")
        for round_ in range(MAX_TOOL_ROUNDS):
            view = ThinkingView(title=self.model.value, display=False)
            self.transcript.children = (*self.transcript.children, view)
            self._say("Streaming…")
            try:
                message = await view.awatch(self.client.messages.stream(**self._params()))
            except asyncio.CancelledError:
                self._keep_partial(view, first=round_ == 0)
                self._say(f"Stopped after {len(view.text)} chars.")
                raise
            except Exception as exc:  # errors are shown, not raised: the playground stays usable
                self._keep_partial(view, first=round_ == 0)
                self._say(describe(exc))
                return None
            self.messages.append({"role": "assistant", "content": [block_param(b) for b in message.content]})
            calls = [b for b in message.content if b.type == "tool_use"]
            if message.stop_reason == "tool_use" and calls:
                self.messages.append({"role": "user", "content": [self._run_tool(b) for b in calls]})
                continue
            self.turns += 1
            self._record(prompt, view, message)
            usage = message.usage
            self._say(f"Done: {message.stop_reason} · {usage.input_tokens} in / {usage.output_tokens} out tokens.")
            return message
        self._say(f"Stopped after {MAX_TOOL_ROUNDS} tool rounds.")
        return None

    def _params(self) -> dict:
        params = {"model": self.model.value, "max_tokens": int(self.max_tokens.value), "messages": self.messages}
        if self.system.value.strip():
            params["system"] = self.system.value
        if self.thinking.value:
            params["thinking"] = thinking_for(self.model.value)
        if self.tools.value:
            params["tools"] = [WEATHER_TOOL]
        return params

    def _run_tool(self, call) -> dict:
        if call.name == "get_weather" and isinstance(call.input, dict) and isinstance(call.input.get("location"), str):
            result, is_error = json.dumps(get_weather(call.input["location"], call.input.get("unit", "celsius"))), False
        else:
            result, is_error = f"unknown tool or bad input: {call.name}({json.dumps(call.input)})", True
        self._show(
            f"🔧 <code>{html.escape(visible(call.name))}({html.escape(json.dumps(call.input))})</code> → "
            f"<code>{html.escape(result)}</code>"
        )
        return {"type": "tool_result", "tool_use_id": call.id, "content": result, "is_error": is_error}

    def _keep_partial(self, view: ThinkingView, first: bool) -> None:
        """Keep what arrived in the conversation; a turn where nothing arrived is taken back."""
        if view.text:
            self.messages.append({"role": "assistant", "content": view.text})
        elif first and self.messages and self.messages[-1]["role"] == "user":
            self.messages.pop()

    # -- display --------------------------------------------------------------------------------------------------

    def _busy(self, busy: bool) -> None:
        self.send_button.disabled = busy
        self.stop_button.disabled = not busy
        self.stop_button.button_style = "danger" if busy else ""  # grey while nothing runs
        self.stop_button.tooltip = "Stop the answer" if busy else "Nothing is streaming"

    # -- copy as code and history ---------------------------------------------------------------------------------

    def code(self, prompt: str | None = None) -> str:
        """The SDK call for the current settings and conversation, runnable as is (no key in it, ever).

        Everything sits inside ``main()``, so running it in a notebook cell rebinds none of the notebook's names.
        The next user turn is ``prompt``, else what the prompt box holds, else a placeholder to edit. Every value is
        written as Python that runs (see :class:`Literal`), and no credential is printed: not the key, not a user
        name or password in ``base_url``.
        """
        prompt = prompt if prompt is not None else self.prompt.value
        edit = "" if prompt else "  # <- your prompt here"
        messages = [*self.messages, {"role": "user", "content": prompt or "Your prompt here"}]
        imports, make = client_code(str(self.client.base_url))
        args = [f"model={self.model.value!r}", f"max_tokens={int(self.max_tokens.value)}"]
        if self.system.value.strip():
            args.append(f"system={self.system.value!r}")
        if self.thinking.value:
            args.append(f"thinking={thinking_for(self.model.value)!r}")
        if self.tools.value:
            args.append("tools=tools")
        args.append("messages=messages")
        lines = [*imports, "", "", "def main():", f"    {make}"]
        if self.tools.value:
            lines.append(f"    tools = {literal([WEATHER_TOOL])}")
        lines += [
            f"    messages = {literal(messages)}{edit}",
            "    with client.messages.stream(",
            *(f"        {a}," for a in args),
            "    ) as stream:",
            "        for text in stream.text_stream:",
            '            print(text, end="", flush=True)',
            "        message = stream.get_final_message()  # inside the with block, where the stream is open",
            '    print("\\nstop_reason:", message.stop_reason, "·", message.usage.output_tokens, "output tokens")',
            "",
            "",
            "main()",
        ]
        return "\n".join(lines) + "\n"

    def _show_code(self) -> None:
        self.code_box.value = self.code()
        self.code_box.layout.display = ""
        self._say("The SDK call for these settings is below: click in the box, Ctrl+A, Ctrl+C, and run it anywhere.")

    def _record(self, prompt: str, view: ThinkingView, message) -> None:
        figures = view._figures()
        self.history.append(
            {
                "prompt": prompt,
                "model": self.model.value,
                "ttft_ms": figures.get("ttft_ms"),
                "tok_s": figures.get("tok_s"),
                "output_tokens": message.usage.output_tokens,
                "stop_reason": message.stop_reason,
            }
        )
        cells = lambda row: "".join(f"<td>{html.escape(str(v if v is not None else '–'))}</td>" for v in row)  # noqa: E731
        rows = "".join(
            f"<tr>{cells([r['prompt'][:40], r['model'], r['ttft_ms'], r['tok_s'], r['output_tokens'], r['stop_reason']])}</tr>"
            for r in self.history
        )
        head = "".join(f"<th>{h}</th>" for h in ("prompt", "model", "TTFT ms", "tok/s", "tokens", "stop_reason"))
        self.history_table.value = (
            f"<table class='cw-pg-history'><caption>This session's answers</caption><tr>{head}</tr>{rows}</table>"
        )

    def _say(self, text: str) -> None:
        """The status line: plain text (it often carries what the server sent), escaped into the HTML widget."""
        self.status.value = f"<span class='cw-pg-status'>{html.escape(text)}</span>"

    def _show(self, markup: str) -> None:
        self.transcript.children = (*self.transcript.children, W.HTML(f"<div class='cw-pg-line'>{markup}</div>"))

    def __repr__(self) -> str:
        return f"Playground({self.model.value}, {self.turns} turns)"

    def _repr_mimebundle_(self, **kwargs):
        data = self.box._repr_mimebundle_(**kwargs)
        data["text/plain"] = repr(self)
        return data
