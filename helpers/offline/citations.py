"""Citations of what the request itself carries: documents with ``citations: {"enabled": true}`` (char, page or
content block locations) and ``search_result`` blocks (in user messages or inside tool results)."""

from __future__ import annotations

import re

from .model import Block, Reply, Turn
from .read import text_of


def answer(turn: Turn) -> Reply | None:
    """After tool results, an answer citing a search result they carry; otherwise one citing the last citable
    document or search result; None when nothing is citable."""
    if turn.results:
        return search_result_answer(turn.request)
    return document_answer(turn.request) or search_result_answer(turn.request)


def documents(request: dict) -> list[dict]:
    """Every document block of the request, in order (their positions are the citations' ``document_index``)."""
    out = []
    for message in request["messages"]:
        if isinstance(message.get("content"), list):
            out += [b for b in message["content"] if isinstance(b, dict) and b.get("type") == "document"]
    return out


def document_answer(request: dict) -> Reply | None:
    """An answer citing the last document that has ``citations: {"enabled": true}``, or None."""
    docs = documents(request)
    cited = [(i, d) for i, d in enumerate(docs) if (d.get("citations") or {}).get("enabled")]
    if not cited:
        return None
    index, doc = cited[-1]
    source = doc.get("source") or {}
    title = doc.get("title")
    if source.get("type") == "text":
        text = str(source.get("data", ""))
        sentence = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0] or text[:80]
        start = text.index(sentence) if sentence in text else 0
        location = {"type": "char_location", "start_char_index": start, "end_char_index": start + len(sentence)}
    elif source.get("type") == "content":
        parts = source.get("content") or []
        sentence = text_of(parts if isinstance(parts, list) else str(parts)).split("\n")[0]
        location = {"type": "content_block_location", "start_block_index": 0, "end_block_index": 1}
    else:  # a PDF (base64 or URL): the offline API cannot read pages, so it cites the first one
        sentence = "the first page of the document"
        location = {"type": "page_location", "start_page_number": 1, "end_page_number": 2}
    citation = {"type": location["type"], "cited_text": sentence, "document_index": index, "document_title": title}
    citation.update({k: v for k, v in location.items() if k != "type"})
    return Reply(
        [
            Block("text", "According to the document, "),
            Block("text", sentence.rstrip(".") or "it says what you quoted", citations=(citation,)),
            Block("text", ". That is the passage your question is about."),
        ]
    )


def search_results_of(request: dict) -> list[dict]:
    """Every ``search_result`` block of the request, in order: in user messages and inside tool results (their
    positions are the citations' ``search_result_index``)."""
    out = []
    for message in request["messages"]:
        content = message.get("content")
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "search_result":
                out.append(block)
            elif block.get("type") == "tool_result" and isinstance(block.get("content"), list):
                out += [b for b in block["content"] if isinstance(b, dict) and b.get("type") == "search_result"]
    return out


def search_result_answer(request: dict) -> Reply | None:
    """An answer citing the last search result that has ``citations: {"enabled": true}`` (the way to give a model
    your own retrieval results and get ``search_result_location`` citations back), or None."""
    found = [(i, r) for i, r in enumerate(search_results_of(request)) if (r.get("citations") or {}).get("enabled")]
    if not found:
        return None
    index, result = found[-1]
    parts = [b for b in result.get("content") or [] if isinstance(b, dict) and b.get("type") == "text"]
    if not parts:
        return None
    citation = {
        "type": "search_result_location",
        "cited_text": str(parts[0].get("text", "")),
        "search_result_index": index,
        "source": str(result.get("source", "")),
        "title": result.get("title"),
        "start_block_index": 0,
        "end_block_index": 1,
    }
    said = str(citation["cited_text"]).strip().rstrip(".") or "the result says what you asked"
    return Reply(
        [
            Block("text", f'From the search result "{result.get("title") or result.get("source")}": '),
            Block("text", said, citations=(citation,)),
            Block("text", "."),
        ]
    )
