"""The models the course offers, taken from the SDK's own list, and the one it uses by default.

``DEFAULT_MODEL`` is the single place that picks the course's model. ``MODELS`` lists every current model the pinned
SDK names (its ``Model`` type): undated aliases only, none that the SDK marks deprecated (it warns for those).
"""

from __future__ import annotations

import re
import typing

from anthropic.types.model import Model

DEFAULT_MODEL = "claude-sonnet-4-6"


def display_name(model: str) -> str:
    """``claude-sonnet-4-6`` -> ``Claude Sonnet 4.6``."""
    words = model.split("-")
    family = [w.capitalize() for w in words if not w.isdigit()]
    version = ".".join(w for w in words if w.isdigit())
    return " ".join([*family, version]) if version else " ".join(family)


def deprecated_models() -> dict[str, str]:
    """The models the SDK warns about when you use them, each with its end-of-life date. The SDK has no public list,
    so this is the one place that reads its private table; tests/test_private_apis.py fails if the table moves or
    stops matching the SDK's warnings."""
    from anthropic._data import DEPRECATED_MODELS

    return dict(DEPRECATED_MODELS)


def _current() -> list[str]:
    literal = next(arg for arg in typing.get_args(Model) if typing.get_origin(arg) is typing.Literal)
    deprecated = deprecated_models()
    names = [m for m in typing.get_args(literal) if m not in deprecated and not re.search(r"-\d{8}$", m)]
    return sorted(names, key=lambda m: m != DEFAULT_MODEL)  # the default first, then the SDK's order


MODELS: dict[str, str] = {m: display_name(m) for m in _current()}

if DEFAULT_MODEL not in MODELS:
    raise RuntimeError(
        f"DEFAULT_MODEL {DEFAULT_MODEL!r} is not a current model of the installed SDK: expected one of {list(MODELS)}"
    )
