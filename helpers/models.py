"""The one table of the models the course knows: ids, names, release dates, limits, capabilities; the model the
course uses by default; and the server tool versions the course sends.

Where the figures come from (Anthropic's documentation, read for this table):

- Models overview, https://platform.claude.com/docs/en/about-claude/models/overview: Haiku 4.5 has a 200k-token
  context window and 64k max output; Opus 4.6, 4.7 and 4.8 1M and 128k; Opus 4.5 and
  Sonnet 4.5 200k and 64k.
- Claude Sonnet 4.6's own page, https://platform.claude.com/docs/en/models/sonnet-4-6/overview: 1M tokens and 128k
  max output (clients' model tables default max_tokens to that 128,000).
- "Introducing Claude Fable 5 and Claude Mythos 5" (about-claude/models): both 1M and up to 128k output, released
  June 9, 2026. "What's new in Claude Sonnet 5": 1M (default and maximum) and 128k.
- Context windows page: the 1M-token window for Fable 5.1, Mythos 5.1, Opus 5 and Haiku 5.5 as well.
- Claude Sonnet 5.5's own page, https://platform.claude.com/docs/en/models/sonnet-5-5/overview ("Latest"; older
  Sonnet pages, e.g. Sonnet 4.5's and Sonnet 5's, call it "the current Sonnet model" and their recommended
  replacement): 1M tokens, 128K max output, adaptive thinking steered by effort (default ``high``). "Choosing a model"
  (about-claude/models/choosing-a-model) names it among the models to start from at their default effort. Its
  release date is not on that page: it is placed by the SDK's order (``documented=False``).
- Where no page we read gives a figure (the 5.1, 5.2 and the other 5.5 models' output limits), the family's latest
  documented figure is used, and ``documented=False`` says so. Release dates we did not find are placed in the SDK's own
  newest-first order of its ``Model`` type and marked the same way.

``DEFAULT_MODEL`` is the single place that picks the course's model: the current Sonnet (the best combination of
speed and intelligence, the docs say), which the course used before as ``claude-sonnet-4-6``, now legacy. ``MODELS`` lists the current models the
installed SDK names and this table knows (undated, none that the SDK marks deprecated: it warns for those).
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass
from datetime import datetime

from anthropic.types import ThinkingConfigParam
from anthropic.types.model import Model

DEFAULT_MODEL = "claude-sonnet-5-5"

# The thinking setting the course sends: Claude decides how much to think, and the thinking block carries a summary
# of it (the course shows it; from Opus 4.7 on, the models' default display is "omitted": an empty block). {"type": "enabled", "budget_tokens": N}
# is the legacy form, which only the models whose Spec.thinking is "manual" or "both" accept.
THINKING: ThinkingConfigParam = {"type": "adaptive", "display": "summarized"}
LEGACY_THINKING: ThinkingConfigParam = {"type": "enabled", "budget_tokens": 1024}  # the smallest budget the API accepts

# The server tools' versions the course sends, oldest first (the last is the current one).
SERVER_TOOLS: dict[str, tuple[str, ...]] = {
    "web_search": ("web_search_20250305", "web_search_20260209"),
    "web_fetch": ("web_fetch_20250910",),
    "code_execution": ("code_execution_20250522", "code_execution_20250825", "code_execution_20260120"),
    "tool_search_tool_regex": ("tool_search_tool_regex_20251119",),
    "tool_search_tool_bm25": ("tool_search_tool_bm25_20251119",),
}

# The server tool versions whose calls run code in a container (web search's 2026 version filters its results with
# code): a response that used one carries ``container``, and resuming its ``pause_turn`` must send that id back.
CONTAINER_TOOLS: frozenset[str] = frozenset({*SERVER_TOOLS["code_execution"], "web_search_20260209"})


def uses_container(request: dict) -> bool:
    """True when one of ``request``'s tools runs in a container (see CONTAINER_TOOLS)."""
    return any(isinstance(t, dict) and t.get("type") in CONTAINER_TOOLS for t in request.get("tools") or [])


def current_tool(name: str) -> str:
    """The current version of server tool ``name`` (``web_search`` -> ``web_search_20260209``)."""
    if name not in SERVER_TOOLS:
        raise ValueError(f"server tool {name!r} is not in SERVER_TOOLS: expected one of {list(SERVER_TOOLS)}")
    return SERVER_TOOLS[name][-1]


K, M = 1_000, 1_000_000


@dataclass(frozen=True)
class Spec:
    """One model: what ``/v1/models`` says of it and the limits the local API enforces for it."""

    released: str  # YYYY-MM-DD: ModelInfo.created_at
    context_window: int  # input tokens: ModelInfo.max_input_tokens
    max_tokens: int  # the largest max_tokens a request may ask for: ModelInfo.max_tokens
    line: str | None  # ModelInfo.line
    thinking: str = "both"  # "manual" (budget_tokens only), "adaptive" (only), or "both"
    documented: bool = True  # False: a figure or date not found in the pages above (see the module's docstring)


SPECS: dict[str, Spec] = {
    "claude-fable-5-2": Spec("2026-11-17", M, 128 * K, "fable", "adaptive", documented=False),
    "claude-mythos-5-2": Spec("2026-11-10", M, 128 * K, "mythos", "adaptive", documented=False),
    "claude-haiku-5-5": Spec("2026-10-20", M, 128 * K, "haiku", "adaptive", documented=False),
    "claude-sonnet-5-5": Spec("2026-10-06", M, 128 * K, "sonnet", "adaptive", documented=False),
    "claude-fable-5-1": Spec("2026-09-08", M, 128 * K, "fable", "adaptive", documented=False),
    "claude-opus-5-5": Spec("2026-08-25", M, 128 * K, "opus", "adaptive", documented=False),
    "claude-mythos-5-1": Spec("2026-08-11", M, 128 * K, "mythos", "adaptive", documented=False),
    "claude-sonnet-5": Spec("2026-07-14", M, 128 * K, "sonnet", "adaptive", documented=False),
    "claude-fable-5": Spec("2026-06-09", M, 128 * K, "fable", "adaptive"),
    "claude-mythos-5": Spec("2026-06-09", M, 128 * K, "mythos", "adaptive"),
    "claude-opus-5": Spec("2026-06-02", M, 128 * K, "opus", "adaptive", documented=False),
    "claude-opus-4-8": Spec("2026-05-07", M, 128 * K, "opus", "adaptive", documented=False),
    "claude-opus-4-7": Spec("2026-04-16", M, 128 * K, "opus", "adaptive"),
    "claude-mythos-preview": Spec("2026-04-07", M, 128 * K, "mythos", "adaptive"),
    "claude-sonnet-4-6": Spec("2026-02-17", M, 128 * K, "sonnet"),
    "claude-opus-4-6": Spec("2026-02-05", M, 128 * K, "opus"),
    "claude-opus-4-5": Spec("2025-11-24", 200 * K, 64 * K, "opus", "manual"),
    "claude-opus-4-5-20251101": Spec("2025-11-24", 200 * K, 64 * K, "opus", "manual"),
    "claude-haiku-4-5": Spec("2025-10-15", 200 * K, 64 * K, "haiku", "manual"),
    "claude-haiku-4-5-20251001": Spec("2025-10-15", 200 * K, 64 * K, "haiku", "manual"),
    "claude-sonnet-4-5": Spec("2025-09-29", 200 * K, 64 * K, "sonnet", "manual"),
    "claude-sonnet-4-5-20250929": Spec("2025-09-29", 200 * K, 64 * K, "sonnet", "manual"),
}


def thinking_for(model: str) -> ThinkingConfigParam:
    """The thinking setting to send ``model``: adaptive, or the legacy budget for the models that only take that."""
    if model not in SPECS:
        raise ValueError(f"model {model!r} is not in the course's table: expected one of {list(SPECS)}")
    return LEGACY_THINKING if SPECS[model].thinking == "manual" else THINKING


def display_name(model: str) -> str:
    """``claude-sonnet-4-6`` -> ``Claude Sonnet 4.6`` (a dated id names its alias's model)."""
    words = re.sub(r"-\d{8}$", "", model).split("-")
    family = [w.capitalize() for w in words if not w.isdigit()]
    version = ".".join(w for w in words if w.isdigit())
    return " ".join([*family, version]) if version else " ".join(family)


def deprecated_models() -> dict[str, str]:
    """The models the SDK warns about when you use them, each with its end-of-life date. The SDK has no public list,
    so this is the one place that reads its private table; tests/test_private_apis.py fails if the table moves or
    stops matching the SDK's warnings."""
    from anthropic._data import DEPRECATED_MODELS

    return dict(DEPRECATED_MODELS)


def sdk_models() -> list[str]:
    """Every model name of the installed SDK's ``Model`` type, newest first."""
    literal = next(arg for arg in typing.get_args(Model) if typing.get_origin(arg) is typing.Literal)
    return list(typing.get_args(literal))


def _current() -> list[str]:
    deprecated = deprecated_models()
    names = [m for m in sdk_models() if m in SPECS and m not in deprecated and not re.search(r"-\d{8}$", m)]
    return sorted(names, key=lambda m: m != DEFAULT_MODEL)  # the default first, then the SDK's order


MODELS: dict[str, str] = {m: display_name(m) for m in _current()}

if DEFAULT_MODEL not in MODELS:
    raise RuntimeError(
        f"DEFAULT_MODEL {DEFAULT_MODEL!r} is not a current model of the installed SDK: expected one of {list(MODELS)}"
    )


def _stamp(day: str) -> str:
    return f"{day}T00:00:00Z"


def _retires_at(model: str) -> str | None:
    """The retirement date the SDK gives a deprecated model ("June 30th, 2026"), as RFC 3339."""
    text = deprecated_models().get(model)
    if not text:
        return None
    day = datetime.strptime(re.sub(r"(\d+)(st|nd|rd|th)", r"\1", text), "%B %d, %Y")
    return _stamp(day.strftime("%Y-%m-%d"))


def capabilities(spec: Spec) -> dict:
    """The capability tree of ``ModelInfo.capabilities`` (every key the SDK's beta type has, so both types parse)."""
    yes, no = {"supported": True}, {"supported": False}
    adaptive_only = spec.thinking == "adaptive"
    newer = spec.thinking != "manual"  # adaptive thinking, effort levels and 1M context came with the 4.6 models
    return {
        "batch": yes,
        "citations": yes,
        "code_execution": yes,
        "compaction": {"supported": newer, "summarize": {"supported": newer}},
        "context_management": {
            "supported": True,
            "clear_thinking_20251015": yes,
            "clear_tool_uses_20250919": yes,
            "compact_20260112": {"supported": newer},
        },
        "effort": {
            "supported": newer,
            "low": {"supported": newer},
            "medium": {"supported": newer},
            "high": {"supported": newer},
            "max": {"supported": newer},
            "xhigh": {"supported": adaptive_only},
        },
        "image_input": yes,
        "pdf_input": yes,
        "server_tools": {"supported": True, "code_execution": yes, "web_search": yes},
        "structured_outputs": yes,
        "thinking": {
            "supported": True,
            "types": {
                "adaptive": {"supported": newer},
                "between_tools": {"supported": adaptive_only},
                "disabled": yes,
                "enabled": no if adaptive_only else yes,
            },
        },
    }


def model_info(model: str) -> dict:
    """``model`` as ``GET /v1/models/{id}`` returns it: every field of the SDK's ``ModelInfo`` (and ``BetaModelInfo``)."""
    spec = SPECS[model]
    retires = _retires_at(model)
    return {
        "type": "model",
        "id": model,
        "display_name": display_name(model),
        "created_at": _stamp(spec.released),
        "lifecycle": "deprecated" if retires else "active",
        "deprecated_at": _stamp(spec.released) if retires else None,  # no date found: the earliest it can be
        "retires_at": retires,
        "line": spec.line,
        "max_input_tokens": spec.context_window,
        "max_tokens": spec.max_tokens,
        "capabilities": capabilities(spec),
        "allowed_fallback_models": [],
    }


def catalogue() -> list[str]:
    """Every model ``GET /v1/models`` lists, newest first (as the API lists them)."""
    return sorted(SPECS, key=lambda m: (SPECS[m].released, m), reverse=True)
