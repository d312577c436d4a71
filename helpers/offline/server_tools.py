"""Server tools, citations and long turns: what the local API answers when a request carries web search, web fetch,
code execution or citable documents.

The tool runs "on the server": the reply holds the ``server_tool_use`` block, its ``*_tool_result`` block (fake,
deterministic results) and the text that uses them, with citations. A prompt that asks to *research* something makes
a long turn: two searches, then ``stop_reason: "pause_turn"``; sending the partial turn back as the last (assistant)
message resumes it, and the continuation cites what the paused turn found.
"""

from __future__ import annotations

import base64
import hashlib
import re

from .replies import Block, Reply, text_of

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
    title = f"Offline copy of {url}"
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


def code_execution(request: dict, prompt: str) -> Reply:
    tool = server_tool(request, "code_execution_") or {}
    m = re.search(r"(\d+)\s*(?:\*|×|x|times)\s*(\d+)", prompt)
    expr, value = (f"{m[1]} * {m[2]}", str(int(m[1]) * int(m[2]))) if m else ("sum(range(1, 101))", "5050")
    code = f"print({expr})"
    if tool.get("type") == "code_execution_20250522":
        call = Block("server_tool_use", name="code_execution", input={"code": code})
        result = Block(
            "code_execution_tool_result",
            content={
                "type": "code_execution_result",
                "stdout": value + "\n",
                "stderr": "",
                "return_code": 0,
                "content": [],
            },
        )
    else:
        call = Block("server_tool_use", name="bash_code_execution", input={"command": f"python3 -c '{code}'"})
        result = Block(
            "bash_code_execution_tool_result",
            content={
                "type": "bash_code_execution_result",
                "stdout": value + "\n",
                "stderr": "",
                "return_code": 0,
                "content": [],
            },
        )
    return Reply(
        [Block("text", "I'll run that in the sandbox."), call, result, Block("text", f"The code printed **{value}**.")]
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


def choose(request: dict, prompt: str) -> Reply | None:
    """A reply that uses the request's server tools or cited documents, or None when neither applies."""
    if (request.get("tool_choice") or {}).get("type") == "none":
        return document_answer(request)
    if (m := URL.search(prompt)) and server_tool(request, "web_fetch_"):
        return web_fetch(request, m.group(0).rstrip(".,"))
    if server_tool(request, "code_execution_") and re.search(
        r"\b(run|execute|code|python|calculate|compute)\b|\d\s*[*×]\s*\d", prompt, re.I
    ):
        return code_execution(request, prompt)
    if server_tool(request, "web_search_"):
        return web_search(request, prompt)
    return document_answer(request)
