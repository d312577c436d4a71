"""Web search: the server searches (fake, deterministic results) and the answer cites them. A prompt that asks to
*research* something makes a long turn: two searches, then ``stop_reason: "pause_turn"``; sending the partial turn
back as the last (assistant) message resumes it (:func:`resume`), and the continuation cites what the paused turn
found.
"""

from __future__ import annotations

import re

from .model import Block, Reply, Turn
from .read import is_paused_turn, opaque, server_tool

RESEARCH = re.compile(r"\b(research|in depth|thorough(ly)?|deep dive)\b", re.I)
PAGE_AGE = ("January 12, 2026", "2 weeks ago", "March 3, 2026")
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


def answer(turn: Turn) -> Reply | None:
    """The reply to a request with the web search tool."""
    if server_tool(turn.request, "web_search_") is None:
        return None
    prompt = turn.prompt
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


def resume(turn: Turn) -> Reply | None:
    """The continuation of a paused turn: the last message is the assistant's partial turn, sent back as it was."""
    last = turn.request["messages"][-1]
    if not is_paused_turn(last):
        return None
    blocks = [b for b in last["content"] if isinstance(b, dict)]
    found = [r for b in blocks if b.get("type") == "web_search_tool_result" for r in (b.get("content") or [])]
    found = [r for r in found if isinstance(r, dict) and r.get("url")]
    if not found:
        return Reply([Block("text", "The tool returned nothing I can use, so I'll stop here.")])
    return Reply(_cited_answer(found, f"After {len(found)} results, here is the summary. "))
