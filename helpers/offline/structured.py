"""Structured outputs: a deterministic JSON instance of the schema a request asks for (``output_config.format``).

It covers what the SDK's ``transform_schema`` emits for a Pydantic model: objects with ``properties`` and
``required``, arrays (``minItems``/``maxItems``), ``enum``/``const``, strings (with ``format``), integers and numbers
(bounds kept in the schema or moved by the SDK into the description as ``{minimum: 0, maximum: 120}``), booleans,
null, ``anyOf``/``oneOf``/``allOf`` and ``$ref`` into ``$defs``.
"""

from __future__ import annotations

import json
import math
import re
import zlib

from .model import Block, Reply, Turn

FORMATS = {
    "date": "2026-01-15",
    "date-time": "2026-01-15T09:30:00Z",
    "time": "09:30:00",
    "duration": "P1D",
    "email": "learner@example.com",
    "hostname": "example.com",
    "uri": "https://example.com/",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_BOUND = re.compile(
    r"\b(minimum|maximum|exclusiveMinimum|exclusiveMaximum|minLength|maxLength|minItems|maxItems):\s*(-?[\d.]+)"
)


def answer(turn: Turn) -> Reply | None:
    """The answer as JSON following the schema the request asks for, or None when it asks for none."""
    if (schema := schema_of(turn.request)) is None:
        return None
    return Reply([Block("text", json.dumps(instance(schema, turn.prompt), ensure_ascii=False))])


def schema_of(request: dict) -> dict | None:
    """The JSON schema the request asks the answer to follow, or None."""
    config = request.get("output_config") or {}
    fmt = (config.get("format") if isinstance(config, dict) else None) or request.get("output_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
        return fmt["schema"]
    return None


def instance(schema: dict, hint: str = "", root: dict | None = None, name: str = "value"):
    """A value valid against ``schema``; strings say what they are (``name``) and quote ``hint`` where it fits."""
    root = root if root is not None else schema
    if "$ref" in schema:
        return instance(_resolve(root, schema["$ref"]), hint, root, name)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if options := schema.get(key):
            usable = [o for o in options if o.get("type") != "null"] or options
            return instance(usable[0], hint, root, name)
    if parts := schema.get("allOf"):
        merged: dict = {}
        for part in parts:
            merged.update(_resolve(root, part["$ref"]) if "$ref" in part else part)
        return instance(merged, hint, root, name)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    bounds = _bounds(schema)
    if kind == "object":
        props = schema.get("properties") or {}
        return {key: instance(sub, hint, root, key) for key, sub in props.items()}
    if kind == "array":
        count = max(int(bounds.get("minItems", 0)), min(2, int(bounds.get("maxItems", 2))))
        items = schema.get("items") or {}
        return [instance(items, hint, root, f"{name} {i + 1}") for i in range(count)]
    if kind in {"integer", "number"}:
        return _number(kind, bounds, name)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if fmt := schema.get("format"):
        if fmt in FORMATS:
            return FORMATS[fmt]
    text = _words(name, hint)
    low, high = int(bounds.get("minLength", 0)), int(bounds.get("maxLength", 10**6))
    return (text + "." * max(0, low - len(text)))[:high]


def _resolve(root: dict, ref: str) -> dict:
    if not ref.startswith("#/"):
        raise ValueError(f"unsupported $ref {ref!r}: expected a local reference such as '#/$defs/Name'")
    node = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _bounds(schema: dict) -> dict[str, float]:
    found = {k: float(v) for k, v in _BOUND.findall(str(schema.get("description", "")))}
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength"):
        if isinstance(schema.get(key), int | float):
            found[key] = float(schema[key])
    for key in ("minItems", "maxItems"):
        if isinstance(schema.get(key), int):
            found[key] = float(schema[key])
    return found


def _number(kind: str, b: dict[str, float], name: str = "") -> int | float:
    """A plausible small number that differs from field to field (deterministic in ``name``), inside the bounds."""
    pick = 5 + zlib.crc32(name.encode()) % 36  # 5..40: a temperature, an age, a count all look like themselves
    low = b.get("minimum", b.get("exclusiveMinimum"))
    high = b.get("maximum", b.get("exclusiveMaximum"))
    if kind == "integer":
        low_int = None if low is None else math.floor(low) + 1 if "minimum" not in b else math.ceil(low)
        high_int = None if high is None else math.ceil(high) - 1 if "maximum" not in b else math.floor(high)
        if (low_int is None or low_int <= pick) and (high_int is None or pick <= high_int):
            return pick
        return low_int if low_int is not None else high_int
    value = pick + 0.5
    if (low is None or low < value) and (high is None or value < high):
        return value
    if low is not None and high is not None:
        return (low + high) / 2
    return low + 1 if low is not None else high - 1


# Plausible values for fields whose names say what they hold; the nth item of a list takes the nth word.
SAMPLES = {
    "city": ["Paris", "Lisbon", "Kyoto"],
    "country": ["France", "Portugal", "Japan"],
    "name": ["Ada Lovelace", "Grace Hopper", "Alan Turing"],
    "hobbies": ["chess", "climbing", "baking"],
    "hobby": ["chess", "climbing", "baking"],
    "day": ["Monday", "Tuesday", "Wednesday"],
    "days": ["Monday", "Tuesday", "Wednesday"],
    "conditions": ["sunny", "light rain", "cloudy"],
    "condition": ["sunny", "light rain", "cloudy"],
    "title": ["Streaming, explained", "A short guide", "Notes"],
    "tags": ["streaming", "sse", "python"],
    "language": ["Python", "TypeScript", "Go"],
}


def _words(name: str, hint: str) -> str:
    """A plausible string for a field: a sample word for a name it knows, else a short phrase saying what it is."""
    label = re.sub(r"[_\-]+", " ", name).strip() or "value"
    base, _, index = label.rpartition(" ") if label.rsplit(" ", 1)[-1].isdigit() else (label, "", "1")
    for key, words in SAMPLES.items():
        if base.lower() == key or base.lower().endswith(" " + key):
            return words[(int(index) - 1) % len(words)]
    topic = " ".join(hint.split()[:10]).rstrip("?.!")
    return f"a {label} about {topic[:1].lower()}{topic[1:]}" if topic else f"an example {label}"
