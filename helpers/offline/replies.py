"""The conversation itself: scripted answers to the course's prompts, refusals, tool calls and the answer after a
tool's result, continuations of a partial answer, and the thinking that opens a reply.

Each rule takes a :class:`~helpers.offline.model.Turn` and returns a :class:`~helpers.offline.model.Reply` or None;
:mod:`helpers.offline.router` lists them in order among the other capabilities'. Everything here is a pure function
of the request, so the same request always gets the same reply.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re

from .model import Block, Reply, Turn
from .read import placeholder_input, text_of, thinking_display, thinking_on, tool_named

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


# The documented test strings: each makes the real API answer the way it is named.
REDACTED_TRIGGER = (
    "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_46C9A13E193C177646C7398A98432ECCCE4C1253D5E2D82641AC0E52CC2876CB"
)
REFUSAL_TRIGGER = (
    "ANTHROPIC_MAGIC_STRING_TRIGGER_REFUSAL_1FAEFB6177B4672DEE07F9D3AFC62588CCD2631EDCF22E8CCC1FB35B501C9C86"
)
CYBER = re.compile(r"\b(ransomware|malware|keylogger)\b", re.I)


def refusal(turn: Turn) -> Reply | None:
    """The streaming classifiers stepping in: at once for the test string; after some text for a harmful request."""
    prompt = turn.prompt
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


def _named_in(tools: list[dict], prompt: str) -> dict | None:
    """The first tool the prompt names as a word: a run of word characters (as ``\\b...\\b`` finds a name without
    hyphens), or a run with hyphens (a hyphenated name written whole). One pass over the prompt: a search per tool
    took 25 ms for each of 10,000 tools over a 3 MB prompt (4 minutes of CPU for one request, a worker thread and
    the GIL held; eight at once left no thread to read anyone else's request)."""
    words = set(re.findall(r"\w+", prompt)) | set(re.findall(r"[\w-]+", prompt))
    return next((t for t in tools if t["name"] in words), None)


def tool_call(turn: Turn) -> Reply | None:
    """A call of the request's client tool the prompt asks for (or the one ``tool_choice`` forces)."""
    request, prompt = turn.request, turn.prompt
    tools = [t for t in request.get("tools") or [] if isinstance(t, dict) and t.get("name")]
    if not tools:
        return None
    choice = request.get("tool_choice") or {"type": "auto"}
    if choice.get("type") == "none":
        return None
    forced = choice.get("type") in {"any", "tool"}
    weather = tool_named(request, "get_weather")
    if choice.get("type") == "tool":
        tool = tool_named(request, choice.get("name", "")) or tools[0]
    elif weather and re.search(r"weather|temperature|forecast|rain|sunny", prompt, re.I):
        tool = weather
    elif named := _named_in(tools, prompt):
        tool = named  # the prompt asks for a tool by its name
    elif forced:
        tool = tools[0]
    else:
        return None
    both = re.search(r"\b(?:in|for|at)\s+([A-Z][\w'-]+) and ([A-Z][\w'-]+)", prompt)  # two places: one call each
    asks = [f"in {both[1]}", f"in {both[2]}"] if both else [prompt]
    lead = [] if forced else [Block("text", f"I'll look that up with the {tool['name']} tool.")]
    eager = bool(tool.get("eager_input_streaming"))
    calls = [
        Block("tool_use", name=tool["name"], input=placeholder_input(tool.get("input_schema") or {}, ask), eager=eager)
        for ask in asks
    ]
    return Reply([*lead, *calls], stop_reason="tool_use")


def after_tool(turn: Turn) -> Reply | None:
    """The answer that reads a tool's result (the last user message's first tool_result)."""
    if not turn.results:
        return None
    return Reply([_after_tool(turn.results)])


def _after_tool(results: list[dict]) -> Block:
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


# A system prompt that makes Claude a pirate: it names one (or a famous one, or what sailors call one, or how one
# talks) and does not forbid it. "Never break character" and "never apologise for being a pirate" are no ban: the
# negation must not be about breaking, dropping, leaving, hiding or apologising; "no matter what" negates nothing.
PIRATE_PERSONA = re.compile(
    r"\b(pirat|buccaneer|blackbeard|corsair|privateer|sea dog|sea wolf|swashbuckl|jack sparrow|long john silver"
    r"|captain hook|jolly roger|arr+\b|matey|ahoy)",
    re.I,
)
NOT_A_PIRATE = re.compile(
    r"\b(no(?! matter)|not|never|don'?t|do not|avoid|without|stop|nothing like)\b"
    r"(?![^.!?\n]*\b(break|breaking|drop|dropping|leave|leaving|forget|forgetting|hide|hiding|apologi[sz]e|apologi[sz]ing"
    r"|deny|denying)\b)[^.!?\n]*\b(pirat|swashbuckl|buccaneer)",
    re.I,
)


def asks_for_a_pirate(system: str) -> bool:
    """Whether a system prompt asks for a pirate's voice (what the local API answers with "Arr!")."""
    return bool(PIRATE_PERSONA.search(system)) and not NOT_A_PIRATE.search(system)


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


def continuation(turn: Turn) -> Reply | None:
    """The rest of an interrupted answer, when the user asks to go on after a partial assistant turn."""
    rest = _continuation(turn.request, turn.again)
    return Reply([Block("text", rest)]) if rest else None


def _continuation(request: dict, again) -> str | None:
    messages = request["messages"]
    if _continued_turns(messages) > MAX_CONTINUED:
        return None
    if messages[-1]["role"] == "assistant":  # a prefill, on models that accept one
        partial, earlier = text_of(messages[-1]["content"]), again({**request, "messages": messages[:-1]})
    elif (
        len(messages) >= 3 and messages[-2]["role"] == "assistant" and CONTINUE.search(text_of(messages[-1]["content"]))
    ):
        partial, earlier = text_of(messages[-2]["content"]), again({**request, "messages": messages[:-2]})
    else:
        return None
    full = "".join(b.text for b in earlier.blocks if b.type == "text")
    if partial and full.startswith(partial) and len(full) > len(partial):
        return full[len(partial) :]
    return None


def thinking(request: dict, prompt: str, after_tool: bool = False) -> list[Block]:
    """The thinking that opens a reply: summarized or omitted (empty, signature only), redacted for the test string."""
    if not thinking_on(request):
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


def answer(turn: Turn) -> Reply:
    """The scripted answer to the prompt (the last rule: it always answers)."""
    request = turn.request
    system = request.get("system")
    system_text = system if isinstance(system, str) else text_of(system or [])
    said = _answer_for(turn.prompt, request)
    if asks_for_a_pirate(system_text):
        said = Block("text", "Arr! " + said.text)
    return Reply([said])
