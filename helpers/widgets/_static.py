"""The static rendering a view leaves behind: sanitized HTML (and an SVG for the timeline), deterministic offline.

Everything a stream carries is untrusted: the model's answer and thinking may hold a prompt injection, and a proxy or
server can put anything in a tool name, a stop reason or an error message. JupyterLab renders HTML and markdown made
in the live session as *trusted* (unsanitized), so a raw ``<img onerror=…>`` in an output would run with the page's
access to the Jupyter server. Hence two rules, both here:

1. Build with escaping. The model's answer is rendered from markdown by markdown-it-py with raw HTML off (it shows
   as text), images off (an image URL loads by itself, a classic way to leak data), and links only for
   http, https and mailto. Everything else (tool names, thinking, stop reasons, errors, titles) goes through
   :func:`html.escape` into fixed markup.
2. Sanitize at the boundary. :func:`safe_html`, which every renderer's result passes through, cleans the finished
   HTML with nh3 (the Ammonia sanitizer) against a short allowlist of tags and attributes, whatever the builders did.

No timings appear here except in the timeline's labels, printed as ``123 ms`` / ``1.2 s`` so that nbval's sanitizer
(tests/sanitize.cfg) can replace them; the timeline's geometry sits in ``d="M…"`` path attributes, which the
sanitizer replaces too.
"""

from __future__ import annotations

import json
import re
from html import escape
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt

from .tables import STOPS, role

MAX_ROWS = 40  # event rows kept in the static rendering
LINK_SCHEMES = {"http", "https", "mailto"}
TAGS = {
    *("p", "br", "hr", "em", "strong", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a"),
    *("h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "details", "summary"),
    *("div", "span", "b", "small"),
}
ATTRIBUTES = {
    "a": {"href", "title"},
    "div": {"class", "data-cw-view", "data-cw-block"},
    "span": {"class"},
    "ol": {"start"},
}


def safe_link(url: str) -> bool:
    """Whether a markdown link may become a link: an absolute http(s) URL or a mailto address, nothing else."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in LINK_SCHEMES and (parts.scheme.lower() == "mailto" or bool(parts.netloc))


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable("table").enable("strikethrough")
    md.disable("image")  # ![x](url) stays text: an image would load its URL without a click
    md.validateLink = safe_link  # type: ignore[method-assign]  # markdown-it-py's documented hook is this assignment
    return md


MARKDOWN = _markdown()
NO_REFERENCES = _markdown().disable("reference")  # a reference definition stays text, its uses too
LINK_BUDGET = 10  # link targets may add this many characters per character of the answer (percent-encoding: 9)


def safe_html(fragment: str) -> str:
    """The one boundary every static rendering passes: nh3 keeps only the allowlisted tags and attributes."""
    return nh3.clean(
        fragment,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=LINK_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def markdown_html(text: str) -> str:
    """The model's answer as HTML: its markdown formatting kept, its raw HTML shown as text, line breaks kept.

    A reference link (``[a]: URL`` once, ``[a]`` many times) copies its URL into every use: 100 KB of answer
    rendered to 390 MB of HTML, enough to exhaust the kernel and the browser tab and to bloat the saved notebook.
    When the link targets would outweigh the answer itself many times over, references stay text."""
    env: dict = {}
    tokens = MARKDOWN.parse(text, env)
    targets = sum(
        len(str(t.attrs.get("href", ""))) + len(str(t.attrs.get("title", "")))
        for line in tokens
        for t in line.children or ()
        if t.type == "link_open"
    )
    if targets > LINK_BUDGET * len(text) + 65_536:
        return NO_REFERENCES.render(text)
    return MARKDOWN.renderer.render(tokens, MARKDOWN.options, env)


def wrapper(view: str, body: str) -> str:
    """The static rendering's root. ``view`` names the live view(s) it stands for: views.js hides it where they render."""
    return safe_html(f'<div class="cw-static" data-cw-view="{escape(view)}">{body}</div>')


# Bidi controls, zero-width and other invisible format characters, and Unicode tag characters (invisible letters)
_HIDDEN = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\U000e0000-\U000e007f]")


def visible(text) -> str:
    """A name from the stream with its invisible characters shown as escapes (as views.js's ``ident``): U+202E in a
    tool name would reverse the rest of the line, and ``get_weather`` + U+200B would pass for ``get_weather``."""
    return _HIDDEN.sub(lambda m: f"\\u{ord(m[0]):04x}" if ord(m[0]) <= 0xFFFF else f"\\U{ord(m[0]):08x}", str(text))


def code(text) -> str:
    """A name or value from the stream as code, its invisible characters shown as escapes (see :func:`visible`)."""
    return f"<code>{escape(visible(text))}</code>"


def pre(text: str) -> str:
    return f"<pre>{escape(text)}</pre>"


def number(value, grouped: bool = False) -> str:
    """A count from the stream as HTML text: an int as itself (``1,200`` when ``grouped``), anything else (a string,
    a float, null) escaped as it came: a server may send what it likes, and the footer shows it, never fails on it."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}" if grouped else str(value)
    return escape(str(value))


def usage_words(foot: dict) -> str:
    """``12 input, 40 output tokens (8 of them thinking) · cache: 1,200 written, 0 read · web_search_requests 1``: the
    usage a footer shows."""
    words = f"{number(foot['input_tokens'])} input, {number(foot['output_tokens'])} output tokens"
    if foot.get("thinking_tokens"):
        words += f" ({number(foot['thinking_tokens'])} of them thinking)"
    written, read = foot.get("cache_creation_input_tokens") or 0, foot.get("cache_read_input_tokens") or 0
    if written or read:
        words += f" · cache: {number(written, True)} written, {number(read, True)} read"
    server = foot.get("server_tool_use")
    for name, count in (server if isinstance(server, dict) else {}).items():
        words += f" · {escape(str(name))} {number(count)}"
    return words


def footer(state: dict, chars: int) -> str:
    foot = state["footer"]
    if foot.get("stop_reason"):
        line = f"<b>stop_reason</b> {code(foot['stop_reason'])}"
        if foot.get("stop_sequence"):
            line += f" ({code(foot['stop_sequence'])})"
        if foot.get("output_tokens") is not None:
            line += f" · <b>usage</b> {usage_words(foot)}"
        return f"<p>{line}</p>"
    return f"<p><b>{escape(state['status'])}</b> · {chars} chars</p>"


def notice(foot: dict) -> str:
    """A banner for a refusal or a stop that needs the client to act; '' for end_turn, tool_use, stop_sequence."""
    reason = foot.get("stop_reason")
    if reason == "refusal":
        details: dict = foot["stop_details"] if isinstance(foot.get("stop_details"), dict) else {}
        category = f" ({escape(str(details['category']))})" if details.get("category") else ""
        explanation = f": {escape(str(details['explanation']).rstrip('.'))}" if details.get("explanation") else ""
        return (
            f"<blockquote><b>Refused{category}</b>{explanation}. What arrived before the refusal is above; "
            "do not send it back as if it were complete.</blockquote>"
        )
    said = STOPS[reason][1] if isinstance(reason, str) and reason in STOPS else ""
    return f"<blockquote>{escape(said)}</blockquote>" if said else ""


def banner(state: dict, chars: int) -> str:
    if state["status"] == "done":
        return notice(state["footer"])
    if state["status"] == "error":
        return (
            f"<blockquote><b>⚠ {code(state['error'])}</b> — the output above is what arrived before the error."
            "</blockquote>"
        )
    if state["status"] == "stopped":
        return f"<blockquote><b>■ Stopped</b> after {chars} chars.</blockquote>"
    return ""


def link_or_text(text: str, url: str) -> str:
    text = escape(text)
    return f'<a href="{escape(url)}">{text}</a>' if url and safe_link(url) else text


def citations_html(citations: list[dict]) -> str:
    """Numbered references under a text block: title (a link when it is an http(s) URL), then the cited text."""
    items = "".join(
        f"<li>[{number(c['n'])}] {link_or_text(c['title'], c.get('url', ''))} — “{escape(c['cited_text'])}”</li>"
        for c in citations
    )
    return f"<ul>{items}</ul>" if items else ""


def block_html(block: dict, name: str = "") -> str:
    """One block. A text block's rendering is named ``VIEW:INDEX``: the live view shows it once its answer is
    complete (views.js copies it over), so the kernel never sends the rendered text twice."""
    kind = role(block["type"])
    if kind == "text":
        cites = citations_html(block.get("citations") or [])
        return f'<div class="cw-md" data-cw-block="{escape(name)}">{markdown_html(block.get("text", ""))}{cites}</div>'
    if kind == "thinking" and not block["thinking"]:
        signature = f" ({number(block['signature'])} chars)" if block.get("signature") else ""
        return f"<p><em>Thinking omitted</em> (display: omitted): only its signature arrived{signature}.</p>"
    if kind == "redacted":
        return (
            f"<p><em>Redacted thinking</em>: {number(block.get('data_chars', 0))} chars of encrypted data, "
            "sent back unchanged in the next turn.</p>"
        )
    if block["type"] == "server_tool_use":
        snapshot: dict = block["snapshot"] if isinstance(block.get("snapshot"), dict) else {}
        query = snapshot.get("query") or snapshot.get("url")
        what = f" · {code(query)}" if query else ""
        return f"<p><b>server tool</b> {code(block['name'])}{what}</p>"
    if kind == "result":
        rows = "".join(f"<li>{link_or_text(r['title'], r.get('url', ''))}</li>" for r in block.get("results", []))
        return f"<p><b>{escape(block['type'])}</b></p><ul>{rows}</ul>"
    if kind == "thinking":
        signature = f" · signature received ({number(block['signature'])} chars)" if block.get("signature") else ""
        summary = f"Thinking · {len(block['thinking'])} chars{signature}"
        return f"<details><summary>{summary}</summary>{pre(block['thinking'])}</details>"
    if kind == "tool":
        parts = [
            f"<p><b>{escape(block['type'])}</b> {code(block['name'])} · input:</p>",
            pre(json.dumps(block.get("snapshot") or {}, indent=2, ensure_ascii=False)),
        ]
        if block.get("truncated"):
            parts += [
                "<blockquote><b>⚠ Cut off by max_tokens</b>: this input is incomplete. Check <code>stop_reason</code> "
                "before running a tool. The partial JSON that arrived:</blockquote>",
                pre(block.get("partial_json", "")),
            ]
        return "".join(parts)
    return f"<p><em>({escape(str(block['type']))} block)</em></p>"


def message_body(blocks: list[dict], state: dict, chars: int, view: str = "") -> str:
    parts = [block_html(b, f"{view}:{i}") for i, b in enumerate(blocks)] or ["<p><em>(nothing arrived)</em></p>"]
    parts += [banner(state, chars), "<hr>", footer(state, chars)]
    return "".join(parts)


def message_html(blocks: list[dict], state: dict, chars: int, view: str = "") -> str:
    """A finished message: its blocks, the error banner if any, and the footer."""
    return wrapper(view, message_body(blocks, state, chars, view))


def panes_html(panes: list[tuple[str, str, list[dict], dict, int]]) -> str:
    """Several messages (SideBySide): a titled section for each (title, view, blocks, state, chars)."""
    sections = "".join(f"<h4>{escape(title)}</h4>{message_body(b, s, n, view)}" for title, view, b, s, n in panes)
    return wrapper(" ".join(p[1] for p in panes), sections)


def events_html(rows: list[list], counts: dict, state: dict, view: str = "") -> str:
    """Counts per event type, then the first rows as a log (no times: those go in the live view)."""
    head = f"<p><b>{len(rows)} events</b> · " + " · ".join(f"{code(k)} {v}" for k, v in counts.items()) + "</p>"
    lines = [f"{r[1]:<20} {r[2]!s:>2}  {r[3]:<18} {r[4]}".rstrip() for r in rows[:MAX_ROWS]]
    if len(rows) > MAX_ROWS:
        lines.append(f"… {len(rows) - MAX_ROWS} more events")
    parts = [head, pre("\n".join(lines)) if lines else "", banner(state, 0)]
    if state["footer"].get("stop_reason"):
        parts.append(footer(state, 0))
    return wrapper(view, "".join(parts))


def duration(seconds: float) -> str:
    """``850 ms`` or ``1.2 s``: the forms tests/sanitize.cfg replaces."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def timeline_svg(arrivals: list[tuple[float, int]], width: int = 640, view: str = "") -> str:
    """Token arrival over time: a tick per delta (height ~ its size) above, the gap before each delta below.

    The shaded band is the time to first token. Small (a few KB at most: deltas are binned per pixel column).
    Built from numbers only: no text from the stream appears in it.
    """
    left, plot_w, top_h, gap_h = 8, width - 16, 44, 36
    height = 22 + top_h + 18 + gap_h + 22
    end = max(arrivals[-1][0] if arrivals else 0, 1e-3)
    x_of = lambda t: left + plot_w * t / end  # noqa: E731
    sizes: dict[int, int] = {}
    gaps: dict[int, float] = {}
    for i, (t, n) in enumerate(arrivals):
        col = min(int(x_of(t)), left + plot_w - 1)
        sizes[col] = sizes.get(col, 0) + n
        if i:
            gaps[col] = max(gaps.get(col, 0.0), t - arrivals[i - 1][0])
    big = max(sizes.values(), default=1)
    longest = max(gaps.values(), default=0.0)
    base1, base2 = 22 + top_h, 22 + top_h + 18 + gap_h
    ticks = "".join(f"M{c} {base1}v-{max(1, round(top_h * n / big))}" for c, n in sorted(sizes.items()))
    bars = "".join(f"M{c} {base2}v-{max(1, round(gap_h * g / longest))}" for c, g in sorted(gaps.items()) if longest)
    ttft = arrivals[0][0] if arrivals else 0.0
    band = f"M{left} 22h{x_of(ttft) - left:.1f}v{top_h}h-{x_of(ttft) - left:.1f}z"
    label = "font: 11px sans-serif; fill: #888"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'data-cw-view="{escape(view)}">'
        f"<title>Token arrival timeline</title>"
        f'<path class="tl-band" d="{band}" fill="#f2d98c" opacity="0.6"/>'
        f'<path class="tl-ticks" d="{ticks or "M0 0"}" stroke="#3b6fb6" stroke-width="1"/>'
        f'<path class="tl-gaps" d="{bars or "M0 0"}" stroke="#c0504d" stroke-width="1"/>'
        f'<line x1="{left}" y1="{base1}" x2="{left + plot_w}" y2="{base1}" stroke="#999"/>'
        f'<line x1="{left}" y1="{base2}" x2="{left + plot_w}" y2="{base2}" stroke="#999"/>'
        f'<text x="{left}" y="14" style="{label}">arrivals: {len(arrivals)} deltas · time to first token {duration(ttft)}</text>'
        f'<text x="{left}" y="{base1 + 14}" style="{label}">gap before each delta · longest {duration(longest)}</text>'
        f'<text x="{left}" y="{height - 6}" style="{label}">0 ms</text>'
        f'<text x="{left + plot_w}" y="{height - 6}" text-anchor="end" style="{label}">{duration(end)}</text>'
        "</svg>"
    )
