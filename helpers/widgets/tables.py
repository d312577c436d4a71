"""The tables the views share with their browser code: which stream block types they know and how each is drawn.

This is the one place to edit for a new block type: add a row to ``BLOCKS`` with the renderer it uses (its *role*)
and the field its deltas append to. ``views.py``, ``_static.py`` and ``views.js`` read these tables (views.js gets
them as ``TABLES``, written into its module by ``_live.views_code``), so they cannot drift apart.

Nothing a stream carries chooses markup: a block or event type that is not in these tables is drawn by the plain
``other`` renderer and shown as text, never turned into a class name, attribute or element.
"""

from __future__ import annotations

# type: (role, the field its deltas append to). Roles: text, thinking, redacted, tool (a call and its input),
# result (a server tool's result or an uploaded file, drawn as a list of rows).
BLOCKS: dict[str, tuple[str, str | None]] = {
    "text": ("text", "text"),
    "thinking": ("thinking", "thinking"),
    "redacted_thinking": ("redacted", None),
    "tool_use": ("tool", "partial_json"),
    "server_tool_use": ("tool", "partial_json"),
    "mcp_tool_use": ("tool", None),
    "web_search_tool_result": ("result", None),
    "web_fetch_tool_result": ("result", None),
    "code_execution_tool_result": ("result", None),
    "bash_code_execution_tool_result": ("result", None),
    "text_editor_code_execution_tool_result": ("result", None),
    "tool_search_tool_result": ("result", None),
    "mcp_tool_result": ("result", None),
    "container_upload": ("result", None),
}
OTHER = ("other", None)  # any type not above: a labelled block, its type shown as text

# The delta types whose text a block appends: delta type -> (field, the delta's attribute that carries it).
DELTAS = {
    "text_delta": ("text", "text"),
    "thinking_delta": ("thinking", "thinking"),
    "input_json_delta": ("partial_json", "partial_json"),
}

# Event types EventView colours (views.css has a rule per name); any other type is drawn as "other".
EVENTS = (
    *("message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta"),
    *("message_stop", "ping", "error", "text", "thinking", "input_json", "signature", "citation"),
)

# Stop reasons that are not a plain end: the word the header shows, and the notice that says what to do (a refusal's
# notice is built from its stop_details).
STOPS: dict[str, tuple[str, str]] = {
    "refusal": ("refused", ""),
    "pause_turn": (
        "paused",
        "Paused (pause_turn): a long server-tool turn. Send this turn back as the last assistant message to resume it.",
    ),
    "max_tokens": (
        "cut off (max_tokens)",
        "Cut off (max_tokens): the answer hit max_tokens. Raise it, or ask Claude to continue.",
    ),
    "model_context_window_exceeded": (
        "cut off (context window)",
        "Cut off (model_context_window_exceeded): the context window is full.",
    ),
}

KINDS = ("text", "thinking", "tool", "structured", "timeline", "events")  # the views' renderers (LiveView.KIND)


def role(block_type) -> str:
    """The renderer for a block type: from ``BLOCKS``, or ``other`` for anything else (any value at all)."""
    return BLOCKS.get(block_type, OTHER)[0] if isinstance(block_type, str) else OTHER[0]


def appended(block_type) -> str | None:
    """The field a block type's deltas append to, if any."""
    return BLOCKS.get(block_type, OTHER)[1] if isinstance(block_type, str) else None


def for_browser() -> dict:
    """The tables as views.js reads them (``TABLES``)."""
    return {
        "blocks": {name: {"role": r, "field": f} for name, (r, f) in BLOCKS.items()},
        "events": list(EVENTS),
        "stops": {name: {"word": w, "notice": n} for name, (w, n) in STOPS.items()},
        "kinds": list(KINDS),
    }
