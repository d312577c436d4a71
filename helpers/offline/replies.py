"""What the local API answers: a catalogue of scripted replies, chosen from the request.

A reply is a list of content blocks plus the stop reason the model would give; :mod:`helpers.offline.wire` turns it
into events (and applies ``max_tokens`` and ``stop_sequences``). Everything here is a pure function of the request,
so the same request always gets the same reply.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field

from helpers.models import MODELS  # noqa: F401 - what /v1/models and the Playground offer


@dataclass(frozen=True)
class Block:
    """One content block of a reply. ``type`` is any content block type the SDK knows:

    ``text`` (``text``; ``citations`` are sent as citations_delta events before it), ``thinking`` (``text``; empty
    when the request's thinking ``display`` is ``"omitted"``, the hidden thinking then in ``content``, billed but not
    sent), ``redacted_thinking`` (``content`` is its data),
    ``tool_use`` / ``server_tool_use`` (``name``, ``input``; ``eager`` streams it as fine-grained fragments;
    ``caller`` marks a tool_use made by the code of the server_tool_use before it), the server tools'
    ``*_tool_result`` blocks (``content`` is the result, linked to the server_tool_use before it, or to ``answers``)
    and ``container_upload`` (``content`` is the file id).
    """

    type: str
    text: str = ""  # the text, or the thinking
    name: str = ""  # tool name (tool_use, server_tool_use)
    input: dict = field(default_factory=dict)  # tool input (tool_use, server_tool_use)
    content: object = None  # a *_tool_result's content; a redacted_thinking block's data
    citations: tuple = ()  # text: the citations (dicts as the API sends them)
    eager: bool = False  # tool_use: the tool has eager_input_streaming (fine-grained tool streaming)
    caller: str = ""  # tool_use: the code execution version whose code called the tool (programmatic tool calling)
    answers: str = ""  # a *_tool_result answering a server_tool_use of an earlier turn: that call's id


@dataclass(frozen=True)
class Reply:
    blocks: list[Block]
    stop_reason: str = "end_turn"  # max_tokens / stop_sequence / model_context_window_exceeded are applied later
    stop_details: dict | None = None  # refusal: {"type": "refusal", "category": ..., "explanation": ...}


# ---------------------------------------------------------------------------------------------------------------------
# Reading the request


def text_of(content) -> str:
    """The plain text of a message's content (a string or a list of blocks)."""
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if isinstance(block, dict):
            if block.get("type") == "text":
                parts.append(str(block.get("text", "")))
            elif block.get("type") == "tool_result":
                parts.append(text_of(block.get("content", "")))
    return "\n".join(parts)


def _tool_results(content) -> list[dict]:
    if isinstance(content, str):
        return []
    return [b for b in content or [] if isinstance(b, dict) and b.get("type") == "tool_result"]


def _thinking_on(request: dict) -> bool:
    thinking = request.get("thinking") or {}
    return isinstance(thinking, dict) and thinking.get("type") in {"enabled", "adaptive"}


OMITTED_BY_DEFAULT = re.compile(r"claude-(opus-4-[7-9]|[a-z]+-5(-\d+)?$|mythos)")


def thinking_display(request: dict) -> str:
    """``summarized`` or ``omitted``: the request's ``thinking.display``, else the model's default (as documented:
    omitted on Opus 4.7 and later and the 5.x models, summarized before)."""
    display = (request.get("thinking") or {}).get("display")
    if display in {"summarized", "omitted"}:
        return display
    return "omitted" if OMITTED_BY_DEFAULT.match(str(request.get("model", ""))) else "summarized"


def _tool_named(request: dict, name: str) -> dict | None:
    return next((t for t in request.get("tools") or [] if isinstance(t, dict) and t.get("name") == name), None)


# ---------------------------------------------------------------------------------------------------------------------
# The catalogue

HAIKUS = {
    "debug": "Silent stack trace waits\nOne print statement, then the dawn\nThe bug was a typo",
    "stream": "Tokens drift like snow\nEach word lands before the next\nThe answer unfolds",
    "default": "Green light on the test\nThe notebook runs top to bottom\nNothing left to fix",
}

LONG_ANSWER = (
    "Streaming changes how an answer feels long before it changes how long it takes. "
    "Without streaming, your program sends a request and then waits for the whole completion: "
    "several seconds in which a user sees nothing but a spinner. With streaming, the first words "
    "arrive within a few hundred milliseconds and the rest follows as the model writes it.\n\n"
    "Under the hood the Messages API answers with Server-Sent Events. Each event has a name and a JSON "
    "payload: message_start opens the message, content_block_start opens a block, content_block_delta "
    "carries a small piece of it, content_block_stop closes it, message_delta reports the stop reason "
    "and the token count, and message_stop ends the stream. A ping may arrive at any time to keep the "
    "connection open.\n\n"
    "The SDK turns those events into objects for you. The text_stream iterator gives you only the text, "
    "which is what most interfaces show. Iterating the stream itself gives you every event, which is what "
    "you need for tool input, thinking, and live token counts. When the stream ends, get_final_message "
    "hands you the same Message a non-streaming call would have returned, so you never reassemble chunks "
    "by hand.\n\n"
    "Three habits make streaming robust. First, keep what has arrived: a connection can drop halfway, and "
    "a partial answer is worth showing. Second, retry only before the first token, because a retry after "
    "that would repeat text the user has already read. Third, stop reading when nobody is listening: if a "
    "browser tab closes, close the upstream stream so the model stops generating tokens that nobody will see.\n\n"
    "Finally, measure what users feel. Time to first token tells you how responsive the interface is; "
    "tokens per second tells you how fast the rest reads. Both are easy to record while you stream, and both "
    "are worth watching when you change models, prompts or infrastructure."
)

UNICODE_ANSWER = (
    'Line one says "hello" — with quotes.\n'
    "Line two has a tab:\there, and a backslash: C:\\temp.\n"
    "\n"
    "Line four is after a blank line: café, naïve, Straße, 東京, 🚀✨.\n"
    "data: this line looks like SSE framing but is just text\n"
    "The end."
)

WEATHER = {"temperature": 18, "unit": "celsius", "conditions": "partly cloudy"}


def _count_reply(n: int) -> Reply:
    return Reply([Block("text", ", ".join(str(i) for i in range(1, n + 1)) + ".")])


def _arithmetic(prompt: str) -> tuple[int, int] | None:
    m = re.search(
        r"(?<!\d)(\d{1,30})\s*(?:\*|×|x|times|multiplied by)\s*(\d{1,30})(?!\d)", prompt
    )  # int() takes 4300 digits
    return (int(m.group(1)), int(m.group(2))) if m else None


def _thinking_for(prompt: str) -> Block:
    if nums := _arithmetic(prompt):
        a, b = nums
        parts = [int(d) * 10**i for i, d in enumerate(reversed(str(b))) if d != "0"][::-1]
        steps = "\n".join(f"- {a} × {p} = {a * p:,}" for p in parts)
        return Block(
            "thinking",
            f"I need {a} × {b}. Split {b} by place value: {' + '.join(str(p) for p in parts)}.\n"
            f"{steps}\n"
            f"Add them up: {' + '.join(f'{a * p:,}' for p in parts)} = {a * b:,}.\n"
            f"Check: {a * b:,} ÷ {a} = {b}. Correct.",
        )
    return Block(
        "thinking",
        "The user wants a clear, short answer. Let me decide what matters most, "
        "then say it plainly in a few sentences.",
    )


def _answer_for(prompt: str, request: dict) -> Block:
    low = prompt.lower()
    if m := re.search(r"count (?:from 1 )?to (\d{1,9})\b", low):
        return _count_reply(min(int(m.group(1)), 20000)).blocks[0]
    if "haiku" in low:
        topic = next((k for k in HAIKUS if k in low), "default")
        return Block("text", HAIKUS[topic])
    if nums := _arithmetic(prompt):
        a, b = nums
        return Block("text", f"{a} × {b} = **{a * b:,}**.")
    if any(w in low for w in ("unicode", "newline", "multi-line", "multiline")):
        return Block("text", UNICODE_ANSWER)
    if any(w in low for w in ("long", "essay", "in detail", "explain streaming")):
        return Block("text", LONG_ANSWER)
    turns = sum(1 for m in request.get("messages", []) if m.get("role") == "user")
    quoted = prompt.strip().replace("\n", " ")
    quoted = quoted if len(quoted) <= 80 else quoted[:77] + "..."
    text = (
        f"This answer comes from the course's offline Messages API, not from Claude. "
        f'You asked: "{quoted}". '
        "Offline mode has scripted answers for the course's prompts (a haiku about debugging, the weather "
        "in Paris with the get_weather tool, 27 * 453 with thinking on, a long answer about streaming). "
        "Set ANTHROPIC_API_KEY to talk to the real model."
    )
    if turns > 1:
        text += f" (This is turn {turns} of the conversation.)"
    return Block("text", text)


def placeholder_input(schema: dict, prompt: str) -> dict:
    """A tool input that fits ``schema``: the place named in the prompt for location-like fields."""
    place = _place(prompt)
    values = {}
    for key, spec in (schema.get("properties") or {}).items():
        kind = spec.get("type") if isinstance(spec, dict) else None
        if isinstance(spec, dict) and isinstance(spec.get("enum"), list) and spec["enum"]:
            values[key] = spec["enum"][0]
        elif key in {"location", "city", "place"}:
            values[key] = place
        elif kind in {"integer", "number"}:
            values[key] = 1
        elif kind == "boolean":
            values[key] = True
        else:
            values[key] = prompt.strip()[:40] or key
    return values


def _place(prompt: str) -> str:
    m = re.search(r"\b(?:in|for|at)\s+([A-Z][\w'-]+(?:[ ,]+[A-Z][\w'-]+)*)", prompt)
    return m.group(1).strip(" ,") if m else "Paris, France"


# The documented test strings: each makes the real API answer the way it is named.
REDACTED_TRIGGER = (
    "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_46C9A13E193C177646C7398A98432ECCCE4C1253D5E2D82641AC0E52CC2876CB"
)
REFUSAL_TRIGGER = (
    "ANTHROPIC_MAGIC_STRING_TRIGGER_REFUSAL_1FAEFB6177B4672DEE07F9D3AFC62588CCD2631EDCF22E8CCC1FB35B501C9C86"
)
CYBER = re.compile(r"\b(ransomware|malware|keylogger)\b", re.I)


def _refusal(prompt: str) -> Reply | None:
    """The streaming classifiers stepping in: at once for the test string; after some text for a harmful request."""
    if REFUSAL_TRIGGER in prompt:
        return Reply([], stop_reason="refusal", stop_details={"type": "refusal", "category": None, "explanation": None})
    if CYBER.search(prompt):
        started = (
            "Ransomware is malicious software that encrypts a victim's files and demands payment for the key. "
            "To build one, you would first"
        )
        details = {
            "type": "refusal",
            "category": "cyber",
            "explanation": "The request could enable cyber harm, such as malware development (offline example).",
        }
        return Reply([Block("text", started)], stop_reason="refusal", stop_details=details)
    return None


def _tool_call(request: dict, prompt: str) -> Reply | None:
    tools = [t for t in request.get("tools") or [] if isinstance(t, dict) and t.get("name")]
    if not tools:
        return None
    choice = request.get("tool_choice") or {"type": "auto"}
    if choice.get("type") == "none":
        return None
    forced = choice.get("type") in {"any", "tool"}
    weather = _tool_named(request, "get_weather")
    if choice.get("type") == "tool":
        tool = _tool_named(request, choice.get("name", "")) or tools[0]
    elif weather and re.search(r"weather|temperature|forecast|rain|sunny", prompt, re.I):
        tool = weather
    elif forced:
        tool = tools[0]
    else:
        return None
    args = placeholder_input(tool.get("input_schema") or {}, prompt)
    lead = [] if forced else [Block("text", f"I'll look that up with the {tool['name']} tool.")]
    call = Block("tool_use", name=tool["name"], input=args, eager=bool(tool.get("eager_input_streaming")))
    return Reply([*lead, call], stop_reason="tool_use")


def _after_tool(results: list[dict], request: dict) -> Block:
    outcome = text_of(results[0].get("content", ""))
    try:
        data = json.loads(outcome)
    except ValueError:
        data = None
    if results[0].get("is_error"):
        return Block("text", f"The tool reported an error, so I can't answer reliably: {outcome}")
    if isinstance(data, dict) and "temperature" in data:
        unit = "°C" if str(data.get("unit", "celsius")).startswith("c") else "°F"
        where = data.get("location") or "there"
        conditions = data.get("conditions", "")
        warm = isinstance(data["temperature"], int | float) and data["temperature"] >= 22
        advice = "no jacket needed" if warm else "a light jacket will do"
        return Block(
            "text",
            f"It's {data['temperature']}{unit} and {conditions} in {where} right now, so {advice}.",
        )
    return Block("text", f"The tool returned: {outcome}. That's the answer to your question.")


CONTINUE = re.compile(r"\b(continue|carry on|keep going|go on|finish)\b", re.I)


MAX_CONTINUED = 64  # partial answers continued in a row; past that the last turn is answered afresh (no deep recursion)


def _continued_turns(messages: list) -> int:
    """How many partial answers in a row the conversation ends with (counted up to MAX_CONTINUED + 1)."""
    end, count = len(messages), 0
    while count <= MAX_CONTINUED:
        last = messages[end - 1]
        if last["role"] == "assistant" and end > 1:
            end -= 1
        elif end >= 3 and messages[end - 2]["role"] == "assistant" and CONTINUE.search(text_of(last["content"])):
            end -= 2
        else:
            break
        count += 1
    return count


def _continuation(request: dict) -> str | None:
    """The rest of an interrupted answer, when the user asks to go on after a partial assistant turn."""
    messages = request["messages"]
    if _continued_turns(messages) > MAX_CONTINUED:
        return None
    if messages[-1]["role"] == "assistant":  # a prefill, on models that accept one
        partial, earlier = text_of(messages[-1]["content"]), choose({**request, "messages": messages[:-1]})
    elif (
        len(messages) >= 3 and messages[-2]["role"] == "assistant" and CONTINUE.search(text_of(messages[-1]["content"]))
    ):
        partial, earlier = text_of(messages[-2]["content"]), choose({**request, "messages": messages[:-2]})
    else:
        return None
    full = "".join(b.text for b in earlier.blocks if b.type == "text")
    if partial and full.startswith(partial) and len(full) > len(partial):
        return full[len(partial) :]
    return None


def _thinking_blocks(request: dict, prompt: str, after_tool: bool = False) -> list[Block]:
    """The thinking that opens a reply: summarized or omitted (empty, signature only), redacted for the test string."""
    if not _thinking_on(request):
        return []
    if REDACTED_TRIGGER in prompt:
        return [Block("redacted_thinking", content=_opaque(prompt))]
    block = _thinking_for(prompt)
    if after_tool:  # interleaved thinking: the model reads the tool result before it answers
        block = Block("thinking", "The tool has answered. Let me check its result and reply in one or two sentences.")
    if thinking_display(request) == "omitted":  # the model still thinks (and bills it): only the text stays hidden
        return [Block("thinking", "", content=block.text)]
    return [Block("thinking", block.text)]


def _opaque(seed: str) -> str:
    return base64.b64encode(hashlib.sha512(("redacted" + seed).encode()).digest() * 4).decode()


def choose(request: dict) -> Reply:
    """The scripted reply for a (validated) Messages request."""
    from . import sandbox, server_tools, structured

    messages = request["messages"]
    last = messages[-1]
    prompt = text_of(messages[-1]["content"]) if last["role"] == "user" else text_of(messages[-2]["content"])
    system = request.get("system")
    system_text = system if isinstance(system, str) else text_of(system or [])

    if refused := _refusal(prompt):
        return refused
    results = _tool_results(last["content"]) if last["role"] == "user" else []
    thinking = _thinking_blocks(request, prompt, after_tool=bool(results))
    if resumed := server_tools.resume(request):
        return resumed
    if rest := _continuation(request):
        return Reply([*thinking, Block("text", rest)])
    if schema := structured.schema_of(request):
        return Reply([*thinking, Block("text", json.dumps(structured.instance(schema, prompt), ensure_ascii=False))])
    if results and (finished := sandbox.after_tool_calls(request)):
        return finished
    if results and (cited := server_tools.search_result_answer(request)):
        return Reply([*thinking, *cited.blocks])
    if results:
        return Reply([*thinking, _after_tool(results, request)])
    if served := server_tools.choose(request, prompt):
        return Reply([*thinking, *served.blocks], stop_reason=served.stop_reason)
    if call := _tool_call(request, prompt):
        return Reply([*thinking, *call.blocks], stop_reason=call.stop_reason)
    answer = _answer_for(prompt, request)
    if "pirate" in system_text.lower():
        answer = Block("text", "Arr! " + answer.text)
    return Reply([*thinking, answer])
