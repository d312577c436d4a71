"""Tool search: the request lists many tools with ``defer_loading: true``; the model searches them first (regex or
BM25 variant), then calls the best match."""

from __future__ import annotations

import re
from typing import Any

from .model import Block, Reply, Turn
from .read import placeholder_input, server_tool


def answer(turn: Turn) -> Reply | None:
    """Search the deferred tools for the prompt's words, then call the best match (``stop_reason: "tool_use"``)."""
    request, prompt = turn.request, turn.prompt
    searcher = server_tool(request, "tool_search_tool_")
    if searcher is None:
        return None
    tools = [t for t in request.get("tools") or [] if isinstance(t, dict) and t.get("name")]
    deferred = [t for t in tools if t.get("defer_loading")]
    common = {"what", "whats", "with", "that", "this", "about", "please", "could", "would", "there", "tell", "find"}
    words = [w for w in re.findall(r"[a-z]{4,}", prompt.lower().replace("'", "")) if w not in common][:6] or ["tool"]
    regex = searcher["name"] == "tool_search_tool_regex"
    query = "|".join(words) if regex else " ".join(words)

    def score(tool: dict) -> int:
        about = f"{tool['name']} {tool.get('description', '')}".lower().replace("_", " ")
        return sum(w.rstrip("s") in about for w in words)

    hits = sorted((t for t in deferred if score(t)), key=score, reverse=True)[:3]
    result: dict[str, Any] = {"type": "tool_search_tool_search_result", "tool_references": []}
    result["tool_references"] = [{"type": "tool_reference", "tool_name": t["name"]} for t in hits]
    blocks = [
        Block("text", "Let me find the right tool."),
        Block("server_tool_use", name=searcher["name"], input={"query": query}),
        Block("tool_search_tool_result", content=result),
    ]
    if not hits:
        return Reply([*blocks, Block("text", "None of your tools fits this, so I'll answer without one.")])
    tool = hits[0]
    args = placeholder_input(tool.get("input_schema") or {}, prompt)
    call = Block("tool_use", name=tool["name"], input=args, eager=bool(tool.get("eager_input_streaming")))
    return Reply([*blocks, call], stop_reason="tool_use")
