"""Web fetch: the server fetches a URL the prompt names (an offline page) and the answer cites it when the tool
enables citations."""

from __future__ import annotations

import re

from .model import Block, Reply, Turn
from .read import server_tool

URL = re.compile(r"https?://[^\s\"'<>)]+")
FETCHED_AT = "2026-01-15T09:30:00Z"


def answer(turn: Turn) -> Reply | None:
    """The reply to a request with the web fetch tool whose prompt names a URL."""
    if (m := URL.search(turn.prompt)) and server_tool(turn.request, "web_fetch_"):
        return fetch(turn.request, m.group(0).rstrip(".,"))
    return None


def fetch(request: dict, url: str) -> Reply:
    tool = server_tool(request, "web_fetch_") or {}
    cite = bool((tool.get("citations") or {}).get("enabled"))
    page = (
        f"This is the page at {url}, as the offline API fetches it. "
        "Streaming sends the answer in small pieces as the model writes it. "
        "A client shows each piece as soon as it arrives."
    )
    name = re.sub(r"[-_]+", " ", url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]) or url
    title = f"{name} (offline copy)"
    document = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": page},
        "title": title,
    }
    if cite:
        document["citations"] = {"enabled": True}
    result = {"type": "web_fetch_result", "url": url, "retrieved_at": FETCHED_AT, "content": document}
    sentence = "Streaming sends the answer in small pieces as the model writes it."
    start = page.index(sentence)
    citation = {
        "type": "char_location",
        "cited_text": sentence,
        "document_index": 0,
        "document_title": title,
        "start_char_index": start,
        "end_char_index": start + len(sentence),
    }
    return Reply(
        [
            Block("text", "I'll fetch that page."),
            Block("server_tool_use", name="web_fetch", input={"url": url}),
            Block("web_fetch_tool_result", content=result),
            Block("text", "The page says that "),
            Block("text", "streaming sends the answer in small pieces", citations=(citation,) if cite else ()),
            Block("text", ", so a client can show it as it arrives."),
        ]
    )
