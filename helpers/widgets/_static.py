"""The static rendering a view leaves behind: markdown (and an SVG for the timeline), deterministic offline.

No timings appear here except in the timeline's labels, printed as ``123 ms`` / ``1.2 s`` so that nbval's
sanitizer (tests/sanitize.cfg) can replace them; the timeline's geometry sits in ``d="M…"`` path attributes, which
the sanitizer replaces too.
"""

from __future__ import annotations

import json
import re

MAX_ROWS = 40  # event rows kept in the static rendering


def fence(text: str, lang: str = "") -> str:
    """A fenced code block that survives backticks inside ``text``."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    ticks = "`" * (longest + 1)
    return f"{ticks}{lang}\n{text}\n{ticks}"


def markdown_text(text: str) -> str:
    """Model text as markdown: line breaks kept (a haiku stays three lines) outside code fences, and a fence left
    open by a cut-off stream closed again."""
    if len(re.findall(r"^\s*```", text, flags=re.M)) % 2:
        text += "\n```"
    lines, in_code = text.split("\n"), False
    for i, line in enumerate(lines[:-1]):
        in_code ^= line.lstrip().startswith("```")
        if not in_code and line.strip() and lines[i + 1].strip() and not line.lstrip().startswith("```"):
            lines[i] = line + "  "  # a hard line break
    return "\n".join(lines)


def footer(state: dict, chars: int) -> str:
    foot = state["footer"]
    if foot.get("stop_reason"):
        line = f"**stop_reason** `{foot['stop_reason']}`"
        if foot.get("output_tokens") is not None:
            line += f" · **usage** {foot['input_tokens']} input, {foot['output_tokens']} output tokens"
        return line
    return f"**{state['status']}** · {chars} chars"


def banner(state: dict, chars: int) -> str:
    if state["status"] == "error":
        return f"> **⚠ `{state['error']}`** — the output above is what arrived before the error."
    if state["status"] == "stopped":
        return f"> **■ Stopped** after {chars} chars."
    return ""


def block_markdown(block: dict) -> str:
    if block["type"] == "text":
        return markdown_text(block["text"])
    if block["type"] == "thinking":
        signature = f" · signature received ({block['signature']} chars)" if block.get("signature") else ""
        summary = f"Thinking · {len(block['thinking'])} chars{signature}"
        return f"<details><summary>{summary}</summary>\n\n{fence(block['thinking'], 'text')}\n\n</details>"
    if block["type"] == "tool_use":
        parts = [
            f"**tool_use** `{block['name']}` · input:",
            fence(json.dumps(block.get("snapshot") or {}, indent=2, ensure_ascii=False), "json"),
        ]
        if block.get("truncated"):
            parts += [
                "> **⚠ Cut off by max_tokens**: this input is incomplete. Check `stop_reason` before running a tool. "
                "The partial JSON that arrived:",
                fence(block["partial_json"], "json"),
            ]
        return "\n\n".join(parts)
    return f"*({block['type']} block)*"


def message_markdown(blocks: list[dict], state: dict, chars: int) -> str:
    parts = [block_markdown(b) for b in blocks] or ["*(nothing arrived)*"]
    parts += [banner(state, chars), "---", footer(state, chars)]
    return "\n\n".join(p for p in parts if p)


def events_markdown(rows: list[list], counts: dict, state: dict) -> str:
    """Counts per event type, then the first rows as a log (no times: those go in the live view)."""
    head = f"**{len(rows)} events** · " + " · ".join(f"`{k}` {v}" for k, v in counts.items())
    lines = [f"{r[1]:<20} {r[2]!s:>2}  {r[3]:<18} {r[4]}".rstrip() for r in rows[:MAX_ROWS]]
    if len(rows) > MAX_ROWS:
        lines.append(f"… {len(rows) - MAX_ROWS} more events")
    parts = [head, fence("\n".join(lines), "text") if lines else "", banner(state, 0)]
    if state["footer"].get("stop_reason"):
        parts.append(footer(state, 0))
    return "\n\n".join(p for p in parts if p)


def duration(seconds: float) -> str:
    """``850 ms`` or ``1.2 s``: the forms tests/sanitize.cfg replaces."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def timeline_svg(arrivals: list[tuple[float, int]], width: int = 640) -> str:
    """Token arrival over time: a tick per delta (height ~ its size) above, the gap before each delta below.

    The shaded band is the time to first token. Small (a few KB at most: deltas are binned per pixel column).
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
    label = "font: 11px sans-serif; fill: #555"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
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
