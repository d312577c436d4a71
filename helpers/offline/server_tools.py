"""Server tools, citations and long turns: what the local API answers when a request carries web search, web fetch,
tool search, code execution (see ``sandbox``), citable documents or search results.

The tool runs "on the server": the reply holds the ``server_tool_use`` block, its ``*_tool_result`` block (fake,
deterministic results) and the text that uses them, with citations. A prompt that asks to *research* something makes
a long turn: two searches, then ``stop_reason: "pause_turn"``; sending the partial turn back as the last (assistant)
message resumes it, and the continuation cites what the paused turn found.
"""

from __future__ import annotations

import base64
import hashlib
import re
import typing

from anthropic.types import ContentBlock

from .replies import Block, Reply, placeholder_input, text_of

RESEARCH = re.compile(r"\b(research|in depth|thorough(ly)?|deep dive)\b", re.I)
URL = re.compile(r"https?://[^\s\"'<>)]+")
PAGE_AGE = ("January 12, 2026", "2 weeks ago", "March 3, 2026")
FETCHED_AT = "2026-01-15T09:30:00Z"
# What each fake search result says: its title, path and the sentence a citation quotes from it.
SOURCES = (
    (
        "{topic}: a practical overview",
        "guides/{slug}",
        "{Topic} is easiest to understand by trying it on a small example first.",
    ),
    (
        "What changed in {topic} this year",
        "news/{slug}-2026",
        "The main change this year is better defaults and clearer error messages.",
    ),
    ("{topic} explained step by step", "learn/{slug}", "Each step builds on the previous one, so order matters."),
)


def opaque(*parts: str, size: int = 3) -> str:
    """A deterministic opaque string shaped like the API's encrypted fields."""
    digest = hashlib.sha512("|".join(parts).encode()).digest()
    return base64.b64encode(digest * size).decode()


def server_tool(request: dict, name_prefix: str) -> dict | None:
    """The request's server tool whose ``type`` starts with ``name_prefix`` (e.g. ``web_search_``), or None."""
    tools = request.get("tools") or []
    return next((t for t in tools if isinstance(t, dict) and str(t.get("type", "")).startswith(name_prefix)), None)


def topic_of(prompt: str) -> str:
    words = re.findall(r"[A-Za-z][\w'-]*", prompt)
    skip = {"what", "is", "the", "a", "an", "of", "about", "for", "me", "tell", "search", "web", "please", "and", "on"}
    skip |= {"research", "in", "depth", "thoroughly", "latest", "news", "find", "look", "up", "how", "does", "do"}
    kept = [w for w in words if w.lower() not in skip][:4]
    return " ".join(kept) or "streaming"


def search_results(query: str, offset: int = 0) -> list[dict]:
    topic = query
    slug = re.sub(r"[^a-z0-9]+", "-", topic.lower()).strip("-") or "topic"
    out = []
    for i, (title, path, _) in enumerate(SOURCES):
        n = i + offset
        out.append(
            {
                "type": "web_search_result",
                "title": title.format(topic=topic.capitalize(), slug=slug),
                "url": f"https://{('docs', 'news', 'learn')[n % 3]}.example.com/{path.format(slug=slug)}"
                + (f"?page={offset // 3 + 1}" if offset else ""),
                "encrypted_content": opaque("content", query, str(n), size=4),
                "page_age": PAGE_AGE[n % len(PAGE_AGE)],
            }
        )
    return out


def _search_pair(query: str, offset: int = 0) -> list[Block]:
    return [
        Block("server_tool_use", name="web_search", input={"query": query}),
        Block("web_search_tool_result", content=search_results(query, offset)),
    ]


def _cited_answer(results: list[dict], lead: str) -> list[Block]:
    """Text that cites the first two results: plain text, a cited sentence, plain text, a cited sentence."""
    blocks = [Block("text", lead)]
    for n, result in enumerate(results[:2]):
        said = SOURCES[n % len(SOURCES)][2].format(Topic=result["title"].split(":")[0].split(" explained")[0])
        citation = {
            "type": "web_search_result_location",
            "cited_text": said,
            "url": result["url"],
            "title": result["title"],
            "encrypted_index": opaque("index", result["url"], size=1),
        }
        blocks.append(Block("text", said, citations=(citation,)))
        blocks.append(Block("text", " " if n == 0 else "\n\nBoth sources are recent, so this should still hold."))
    return blocks


def web_search(request: dict, prompt: str) -> Reply:
    topic = topic_of(prompt)
    if RESEARCH.search(prompt):  # a long turn: two searches, then the server pauses it
        return Reply(
            [
                Block("text", f"I'll research {topic} with a few searches."),
                *_search_pair(topic),
                *_search_pair(f"{topic} recent changes", 3),
            ],
            stop_reason="pause_turn",
        )
    results = search_results(topic)
    return Reply(
        [
            Block("text", f"I'll search the web for {topic}."),
            *_search_pair(topic),
            *_cited_answer(results, f"Here is what I found about {topic}. "),
        ]
    )


def is_paused_turn(message: dict) -> bool:
    """True for an assistant turn that ends in a server tool's result: a ``pause_turn`` answer sent back to resume
    it (the real API accepts it as the last message even where it refuses a prefill)."""
    content = message.get("content")
    if message.get("role") != "assistant" or not isinstance(content, list) or not content:
        return False
    return isinstance(content[-1], dict) and str(content[-1].get("type", "")).endswith("_tool_result")


def resume(request: dict) -> Reply | None:
    """The continuation of a paused turn: the last message is the assistant's partial turn, sent back as it was."""
    last = request["messages"][-1]
    if not is_paused_turn(last):
        return None
    blocks = [b for b in last["content"] if isinstance(b, dict)]
    found = [r for b in blocks if b.get("type") == "web_search_tool_result" for r in (b.get("content") or [])]
    found = [r for r in found if isinstance(r, dict) and r.get("url")]
    if not found:
        return Reply([Block("text", "The tool returned nothing I can use, so I'll stop here.")])
    return Reply(_cited_answer(found, f"After {len(found)} results, here is the summary. "))


def web_fetch(request: dict, url: str) -> Reply:
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
    said = citation["cited_text"].strip().rstrip(".") or "the result says what you asked"
    return Reply(
        [
            Block("text", f'From the search result "{result.get("title") or result.get("source")}": '),
            Block("text", said, citations=(citation,)),
            Block("text", "."),
        ]
    )


# ---------------------------------------------------------------------------------------------------------------------
# Tool search: the request lists many tools with ``defer_loading: true``; the model searches them first


def tool_search(request: dict, prompt: str) -> Reply | None:
    """Search the deferred tools for the prompt's words, then call the best match (``stop_reason: "tool_use"``)."""
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
    result = {"type": "tool_search_tool_search_result", "tool_references": []}
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


# ---------------------------------------------------------------------------------------------------------------------
# A server tool that fails: the ``toolerror`` fault


def _error_codes() -> dict[str, tuple[str, tuple[str, ...], bool]]:
    """For each ``*_tool_result`` block the SDK knows: its error object's type, the error codes the SDK accepts and
    whether the object has an ``error_message`` (read from the SDK's own types, so a new one is never missed)."""
    codes = {}
    for block in typing.get_args(typing.get_args(ContentBlock)[0]):
        (kind,) = typing.get_args(block.model_fields["type"].annotation)
        if not kind.endswith("_tool_result"):
            continue
        pending = [block.model_fields["content"].annotation]
        while pending:
            item = pending.pop()
            if isinstance(item, type) and "error_code" in getattr(item, "model_fields", {}):
                (error_type,) = typing.get_args(item.model_fields["type"].annotation)
                values = typing.get_args(item.model_fields["error_code"].annotation)
                codes[kind] = (error_type, values, "error_message" in item.model_fields)
            else:
                pending += [a for a in typing.get_args(item) if not isinstance(a, str)]
    return codes


ERROR_CODES = _error_codes()
ALL_ERROR_CODES = sorted({c for _, values, _ in ERROR_CODES.values() for c in values})


def fail_tools(reply: Reply, code: str = "unavailable") -> Reply:
    """``reply`` with its first server tool result replaced by that tool's error object (``code`` if the SDK accepts
    it for that tool, else ``unavailable``) and the rest of the turn replaced by a short apology, as a model says it."""
    for n, block in enumerate(reply.blocks):
        if block.type in ERROR_CODES:
            error_type, values, has_message = ERROR_CODES[block.type]
            error = {"type": error_type, "error_code": code if code in values else "unavailable"}
            if has_message:
                error["error_message"] = f"The tool failed: {error['error_code']} (the toolerror fault)."
            name = block.type.removesuffix("_tool_result").replace("_", " ")
            said = f"The {name} tool failed ({error['error_code']}), so I can't use its result."
            return Reply([*reply.blocks[:n], Block(block.type, content=error), Block("text", said)])
    return reply


def choose(request: dict, prompt: str) -> Reply | None:
    """A reply that uses the request's server tools, cited documents or search results, or None when none applies."""
    from .sandbox import code_execution

    if (request.get("tool_choice") or {}).get("type") == "none":
        return document_answer(request) or search_result_answer(request)
    if (m := URL.search(prompt)) and server_tool(request, "web_fetch_"):
        return web_fetch(request, m.group(0).rstrip(".,"))
    if ran := code_execution(request, prompt):
        return ran
    if found := tool_search(request, prompt):
        return found
    if server_tool(request, "web_search_"):
        return web_search(request, prompt)
    return document_answer(request) or search_result_answer(request)
