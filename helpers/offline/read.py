"""Reading a (validated) request: its text, tools and thinking settings, its token count, and the stable ids and
opaque strings derived from it.

The bottom of the stack, beside :mod:`helpers.offline.model`: it imports nothing of the package.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_TOKEN = re.compile(r" ?[A-Za-z]+| ?\d{1,3}| ?[^\sA-Za-z\d]|\s+")
OMITTED_BY_DEFAULT = re.compile(r"claude-(opus-4-[7-9]|[a-z]+-5(-\d+)?$|mythos)")


def text_of(content, sep: str = "\n") -> str:
    """The plain text of a message's content: a string, or its text blocks (and tool results' text) joined by ``sep``
    (``""`` gives a streamed answer's text back whole); anything else has none."""
    if isinstance(content, str):
        return content
    parts = []
    for block in content if isinstance(content, list) else []:
        if isinstance(block, dict):
            if block.get("type") == "text":
                parts.append(str(block.get("text", "")))
            elif block.get("type") == "tool_result":
                parts.append(text_of(block.get("content", ""), sep))
    return sep.join(parts)


def tool_results(content) -> list[dict]:
    """The tool_result blocks of a message's content."""
    if isinstance(content, str):
        return []
    return [b for b in content or [] if isinstance(b, dict) and b.get("type") == "tool_result"]


def thinking_on(request: dict) -> bool:
    thinking = request.get("thinking") or {}
    return isinstance(thinking, dict) and thinking.get("type") in {"enabled", "adaptive"}


def thinking_display(request: dict) -> str:
    """``summarized`` or ``omitted``: the request's ``thinking.display``, else the model's default (as documented:
    omitted on Opus 4.7 and later and the 5.x models, summarized before)."""
    display = (request.get("thinking") or {}).get("display")
    if display in {"summarized", "omitted"}:
        return display
    return "omitted" if OMITTED_BY_DEFAULT.match(str(request.get("model", ""))) else "summarized"


def tools(request: dict) -> list[dict]:
    """The request's named tools (client tools and named server tools)."""
    return [t for t in request.get("tools") or [] if isinstance(t, dict) and t.get("name")]


def tool_named(request: dict, name: str) -> dict | None:
    return next((t for t in request.get("tools") or [] if isinstance(t, dict) and t.get("name") == name), None)


def server_tool(request: dict, name_prefix: str) -> dict | None:
    """The request's server tool whose ``type`` starts with ``name_prefix`` (e.g. ``web_search_``), or None."""
    found = request.get("tools") or []
    return next((t for t in found if isinstance(t, dict) and str(t.get("type", "")).startswith(name_prefix)), None)


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


def is_paused_turn(message: dict) -> bool:
    """True for an assistant turn that ends in a server tool's result: a ``pause_turn`` answer sent back to resume
    it (the real API accepts it as the last message even where it refuses a prefill)."""
    content = message.get("content")
    if message.get("role") != "assistant" or not isinstance(content, list) or not content:
        return False
    return isinstance(content[-1], dict) and str(content[-1].get("type", "")).endswith("_tool_result")


def fingerprint(request: dict) -> str:
    """A stable hash of what determines the answer (the request minus transport details)."""
    keep = {k: v for k, v in request.items() if k not in {"stream", "metadata"}}
    return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()


def make_id(prefix: str, seed: str, salt: str = "") -> str:
    """An id shaped like the real ones (``msg_01`` + 22 base58 characters), derived from ``seed``."""
    digest = hashlib.sha256((seed + salt).encode()).digest()
    return prefix + "01" + "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:22])


def opaque(*parts: str, size: int = 3) -> str:
    """A deterministic opaque string shaped like the API's encrypted fields."""
    digest = hashlib.sha512("|".join(parts).encode()).digest()
    return base64.b64encode(digest * size).decode()


def tokens(text: str) -> list[str]:
    """Split text into token-sized pieces (words with their leading space, numbers, punctuation, whitespace)."""
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    return sum(1 for _ in _TOKEN.finditer(text))  # no list: a 32 MB prompt would hold millions of strings


def input_tokens(request: dict) -> int:
    """The input tokens the request is billed for (system, messages, tools)."""
    system = request.get("system")
    total = count_tokens(system if isinstance(system, str) else text_of(system or []))
    total += sum(count_tokens(text_of(m.get("content"))) + 4 for m in request["messages"])
    total += sum(count_tokens(json.dumps(t)) for t in request.get("tools") or [])
    return max(total, 1)
