"""What the views show of each event and block: one-line rows for EventView, and what a block keeps when it starts.

Pure functions of what the SDK gives (no widget state): ``views.py`` reduces a stream with them.
"""

from __future__ import annotations

import json

from .tables import role

# Control characters written as escapes, so a payload stays on one line; quotes and backslashes stay as they came (a
# partial_json fragment is JSON text already: escaping its quotes again showed {\"location\": ...}).
ONE_LINE = {i: f"\\x{i:02x}" for i in range(32)} | {10: "\\n", 13: "\\r", 9: "\\t", 127: "\\x7f"}


def short(value, limit: int = 60) -> str:
    """A one-line, length-capped rendering of a payload: a string as it came (control characters escaped), anything
    else as compact JSON."""
    if isinstance(value, str):
        text = value.translate(ONE_LINE)
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sdk_row(event) -> list:
    """[type, index, delta type, payload] for an SDK event, read attribute by attribute (never the whole snapshot)."""
    kind, index, delta_type, payload = as_text(event.type), getattr(event, "index", ""), "", ""
    if kind == "message_start":
        payload = f"{event.message.model} · {event.message.id}"
    elif kind == "content_block_start":
        block = event.content_block
        delta_type = block.type
        payload = getattr(block, "name", "")
    elif kind == "content_block_delta":
        delta = event.delta
        delta_type = delta.type
        value = next(
            (getattr(delta, f) for f in ("text", "thinking", "partial_json", "signature") if hasattr(delta, f)), ""
        )
        if delta_type == "citations_delta":
            value = cited(delta.citation)
        payload = short(value[:12] + "…" if delta_type == "signature_delta" else value)
    elif kind == "message_delta":
        delta_type = event.delta.stop_reason or ""
        payload = f"output_tokens {event.usage.output_tokens}"
    elif kind in {"text", "thinking"}:
        payload = short(getattr(event, kind))
    elif kind == "citation":
        payload = short(cited(event.citation))
    elif kind == "input_json":
        payload = short(event.snapshot)
    elif kind == "signature":
        payload = short(event.signature[:12] + "…")
    return [as_text(kind), index, as_text(delta_type), payload]


def as_text(value) -> str:
    """A type or a reason from a raw event's JSON: a string as it came, anything else (an object, a list) as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def raw_row(sse) -> list:
    """[type, index, delta type, payload] for a raw ServerSentEvent (data is JSON text)."""
    try:
        data = json.loads(sse.data) if sse.data else {}
    except ValueError:
        return [sse.event or "(no event)", "", "", short(sse.data)]
    if not isinstance(data, dict):
        data = {}
    delta: dict = data["delta"] if isinstance(data.get("delta"), dict) else {}
    block: dict = data["content_block"] if isinstance(data.get("content_block"), dict) else {}
    kind = as_text(sse.event or data.get("type") or "(no event)")
    delta_type = as_text(delta.get("type") or block.get("type") or delta.get("stop_reason") or "")
    value = next((delta[f] for f in ("text", "thinking", "partial_json") if f in delta), None)
    if kind == "error":
        error = data.get("error")
        value = error.get("message", "") if isinstance(error, dict) else ""
    payload = short(value) if value is not None else block.get("name", "")
    return [kind, data.get("index", ""), delta_type, payload]


def block_extra(block) -> dict:
    """What a view keeps of a block when it starts: a tool call's name and id, a server tool's results, a
    redacted thinking block's size (its data is encrypted: the view never shows it)."""
    kind = role(block.type)
    if kind == "tool":
        return {"name": str(getattr(block, "name", "")), "id": str(getattr(block, "id", "")), "snapshot": {}}
    if block.type == "container_upload":
        return {"results": [{"title": f"file {getattr(block, 'file_id', '')} uploaded to the container", "url": ""}]}
    if kind == "result":
        return {"tool_use_id": getattr(block, "tool_use_id", ""), "results": result_rows(block.content)}
    if kind == "redacted":
        return {"data_chars": len(str(getattr(block, "data", "")))}
    return {}


def cited(citation) -> object:
    """A citation's title, else its cited text; a citation that is not an object (a crafted stream's) as it came."""
    return getattr(citation, "title", None) or getattr(citation, "cited_text", citation)


def citation_row(n: int, citation) -> dict:
    """A citation as the view shows it: its number, where it points (title, URL or document), the cited text. A
    citation that is not an object (``null``, a string: a crafted stream's) is shown as it came, as its cited text."""
    kind = str(getattr(citation, "type", "citation"))
    where = getattr(citation, "url", None) or getattr(citation, "document_title", None) or ""
    title = getattr(citation, "title", None) or getattr(citation, "document_title", None) or kind
    text = getattr(citation, "cited_text", citation)
    text = text if isinstance(text, str) else json.dumps(text, default=str)  # as it came, in JSON
    return {"n": n, "type": kind, "title": str(title), "url": str(where), "cited_text": text}


def result_rows(content) -> list[dict]:
    """A server tool's result as rows of title and URL: search results, fetched page, tool references, a command's
    output and files, an editor's change, or the tool's error (every result content of the SDK's types)."""
    if isinstance(content, list):  # web search results
        return [{"title": getattr(r, "title", r.type), "url": getattr(r, "url", "")} for r in content]
    kind = getattr(content, "type", "")
    if code := getattr(content, "error_code", None):
        message = getattr(content, "error_message", None)
        return [{"title": f"error: {code}" + (f" ({message})" if message else ""), "url": ""}]
    if kind == "tool_search_tool_search_result":
        return [{"title": f"found tool {r.tool_name}", "url": ""} for r in content.tool_references] or [
            {"title": "no matching tool", "url": ""}
        ]
    if kind.endswith("_create_result"):
        return [{"title": "file updated" if content.is_file_update else "file created", "url": ""}]
    if kind.endswith("_view_result"):
        lines = f"lines {content.start_line or 1}-{(content.start_line or 1) + (content.num_lines or 0) - 1}"
        return [{"title": f"viewed {content.file_type} file ({lines} of {content.total_lines})", "url": ""}] + [
            {"title": line, "url": ""} for line in content.content.splitlines()[:8]
        ]
    if kind.endswith("_str_replace_result"):
        return [{"title": f"edited at line {content.old_start}", "url": ""}] + [
            {"title": line, "url": ""} for line in (content.lines or [])[:8]
        ]
    if kind.endswith("code_execution_result"):  # bash, Python, or encrypted (stdout hidden)
        output = getattr(content, "stdout", None)
        rows = [{"title": f"exit code {content.return_code}", "url": ""}]
        rows += [{"title": f"stdout: {output.rstrip()}", "url": ""}] if output else []
        rows += [{"title": f"stderr: {content.stderr.rstrip()[-300:]}", "url": ""}] if content.stderr else []
        rows += [{"title": f"output file {f.file_id}", "url": ""} for f in getattr(content, "content", None) or []]
        return rows
    url = getattr(content, "url", "")
    title = getattr(getattr(content, "content", None), "title", None) or kind
    return [{"title": str(title), "url": str(url or "")}]
