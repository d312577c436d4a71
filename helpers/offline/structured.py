"""Structured outputs: a deterministic JSON instance of the schema a request asks for (``output_config.format``).

It covers what the SDK's ``transform_schema`` emits for a Pydantic model: objects with ``properties`` and
``required``, arrays (``minItems`` 0 or 1 kept, other bounds moved into the description), ``enum``/``const``, strings
(with ``format``), integers and numbers, booleans, null, ``anyOf``/``oneOf``/``allOf`` and ``$ref`` into ``$defs``.
What the SDK moves into the description as ``{minimum: 0, maximum: 120, pattern: ^[A-Z]{3}$}`` is honoured too, as a
model would; a raw ``pattern`` is honoured (see the last section).

:func:`check` refuses, as the real API does, with a message naming where and what was expected, what a schema sent
as a dict can hold and the API does not support (numeric and length constraints, ``minItems`` other than 0 or 1,
recursive or remote ``$ref``, regex features outside the API's subset), and anything malformed. Generation is
bounded: at most ``MAX_VALUES`` values and ``MAX_CHARS`` characters per answer, else a 400 in microseconds.

Why home-made and not a maintained generator (hypothesis-jsonschema, jsf): the lessons show these answers, so they
must be plausible (a city field holds "Paris") and the same on every run; those libraries draw random data.
"""

from __future__ import annotations

import json
import math
import random
import re
import string
import zlib

from .model import Block, Reply, Turn

try:
    from re import _parser as sre_parse  # type: ignore[attr-defined]  # 3.11+: private, typeshed omits it
except ImportError:  # Python 3.10
    import sre_parse

MAX_VALUES = 10_000  # values in one generated answer (objects, arrays and scalars alike)
MAX_CHARS = 100_000  # characters of string content in one generated answer
MAX_NESTING = 200  # schema levels followed while generating ($ref included); deeper is refused, not a RecursionError

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
TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}
# Keywords the API's structured outputs refuse when sent in the schema itself (the SDK moves them into descriptions).
UNSUPPORTED = {
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "maxItems",
    "uniqueItems", "contains", "minContains", "maxContains", "prefixItems", "minProperties", "maxProperties",
    "patternProperties", "propertyNames", "dependentRequired", "dependentSchemas", "not", "if", "then", "else",
    "unevaluatedItems", "unevaluatedProperties", "$dynamicRef", "$recursiveRef",
}  # fmt: skip
SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf")
_NUMBER = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"  # a bound the SDK writes into a description


class SchemaError(ValueError):
    """A schema the API refuses; the message says where (a JSON pointer) and what was expected."""


def answer(turn: Turn) -> Reply | None:
    """The answer as JSON following the schema the request asks for, or None when it asks for none."""
    if (schema := schema_of(turn.request)) is None:
        return None
    return Reply([Block("text", json.dumps(instance(schema, turn.prompt), ensure_ascii=False))])


def schema_of(request: dict) -> dict | None:
    """The JSON schema the request asks the answer to follow, or None."""
    config = request.get("output_config") or {}
    fmt = (config.get("format") if isinstance(config, dict) else None) or request.get("output_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema" and "schema" in fmt:
        return fmt["schema"]
    return None


def check_schema(schema) -> None:
    """Refuse (:class:`SchemaError`) a schema the API would refuse, or whose answer would be too large to make."""
    _check_tree(schema)
    instance(schema)  # a dry run: bounded, and it finds what only generating shows (minItems: 3000000 in a description)


# ---------------------------------------------------------------------------------------------------------------------
# Checking a schema: one pass over every node, then a cycle search over the $ref graph (both linear in its size)


def _check_tree(root) -> None:
    edges: dict[int, list[dict]] = {}  # a node's subschemas and its $ref target: the graph generation would follow
    stack = [(root, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict) and id(node) in edges:
            continue  # reached again through a $ref: checked once
        _check_node(node, where)
        follows = edges.setdefault(id(node), [])
        for key in ("$defs", "definitions"):
            if key in node:
                if not isinstance(node[key], dict):
                    raise SchemaError(f"{where}/{key}: expected an object of named schemas")
                stack.extend((sub, f"{where}/{key}/{name}") for name, sub in node[key].items())
        for path, sub in _subschemas(node, where):
            stack.append((sub, path))
            follows.append(sub)
        if "$ref" in node:
            target = _resolve(root, node["$ref"], where)
            follows.append(target)
            stack.append((target, node["$ref"][1:]))  # a target outside $defs and the subschemas is checked too
    _refuse_cycles(root, edges)


def _check_node(node, where: str) -> None:
    at = where or "/"
    if not isinstance(node, dict):
        raise SchemaError(f"{at}: expected a schema (a JSON object), got {type(node).__name__}")
    if found := sorted(UNSUPPORTED & node.keys()):
        raise SchemaError(
            f"{at}: '{found[0]}' is not supported in structured outputs (put the constraint in the description)"
        )
    kind = node.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind is not None else []
    if "type" in node and (not kinds or any(not isinstance(k, str) or k not in TYPES for k in kinds)):
        raise SchemaError(f"{where}/type: expected one of {', '.join(sorted(TYPES))} (or a non-empty list of them)")
    if "minItems" in node and (node["minItems"] not in (0, 1) or isinstance(node["minItems"], bool)):
        raise SchemaError(f"{where}/minItems: only 0 or 1 is supported, got {node['minItems']!r}")
    if node.get("additionalProperties", False) is not False:
        raise SchemaError(f"{where}/additionalProperties: only false is supported")
    if "enum" in node and (
        not isinstance(node["enum"], list) or not node["enum"] or not all(map(_primitive, node["enum"]))
    ):
        raise SchemaError(f"{where}/enum: expected a non-empty list of strings, numbers, booleans or null")
    if "const" in node and not _primitive(node["const"]):
        raise SchemaError(f"{where}/const: expected a string, number, boolean or null")
    for key in SUBSCHEMA_LISTS:
        if key in node and (not isinstance(node[key], list) or not node[key]):
            raise SchemaError(f"{where}/{key}: expected a non-empty list of schemas")
    if "properties" in node and not isinstance(node["properties"], dict):
        raise SchemaError(f"{where}/properties: expected an object mapping names to schemas")
    required = node.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise SchemaError(f"{where}/required: expected a list of property names")
    if missing := [r for r in required if r not in (node.get("properties") or {})]:
        raise SchemaError(f"{where}/required: '{missing[0]}' is not one of the object's properties")
    for key in ("description", "title", "$ref", "format", "pattern"):
        if key in node and not isinstance(node[key], str):
            raise SchemaError(f"{where}/{key}: expected a string")
    if "format" in node and node["format"] not in FORMATS and node["format"] != "text":
        raise SchemaError(f"{where}/format: expected one of {', '.join(FORMATS)}, got {node['format'][:40]!r}")
    if "pattern" in node:
        try:
            check_pattern(node["pattern"])
        except SchemaError as err:
            raise SchemaError(f"{where}/pattern: {err}") from None


def _primitive(value) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _subschemas(node: dict, where: str):
    for name, sub in (node.get("properties") or {}).items():
        yield f"{where}/properties/{name}", sub
    if "items" in node:
        yield f"{where}/items", node["items"]
    for key in SUBSCHEMA_LISTS:
        for i, sub in enumerate(node.get(key) or []):
            yield f"{where}/{key}/{i}", sub


def _refuse_cycles(root: dict, edges: dict[int, list[dict]]) -> None:
    """A schema that reaches itself through ``$ref`` is recursive: the API refuses those (iterative, O(size))."""
    state: dict[int, int] = {}  # 1 on the current path, 2 finished
    stack = [(root, iter(edges[id(root)]))]
    state[id(root)] = 1
    while stack:
        node, children = stack[-1]
        child = next(children, None)
        if child is None:
            state[id(node)] = 2
            stack.pop()
        elif state.get(id(child)) == 1:
            raise SchemaError("recursive schemas are not supported (a $ref leads back to a schema that contains it)")
        elif id(child) not in state:
            state[id(child)] = 1
            stack.append((child, iter(edges.get(id(child), ()))))


def _resolve(root: dict, ref, where: str = "") -> dict:
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise SchemaError(f"{where}/$ref: expected a local reference such as '#/$defs/Name', got {ref!r:.60}")
    node = root
    for part in ref[2:].split("/") if len(ref) > 1 else []:
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            raise SchemaError(f"{where}/$ref: {ref[:60]!r} points at nothing in the schema")
    if not isinstance(node, dict):
        raise SchemaError(f"{where}/$ref: {ref[:60]!r} does not point at a schema")
    return node


# ---------------------------------------------------------------------------------------------------------------------
# Generating an instance


class _Budget:
    def __init__(self) -> None:
        self.values, self.chars = 0, 0

    def spend(self, values: int = 0, chars: int = 0, why: str = "") -> None:
        self.values += values
        self.chars += chars
        if self.values > MAX_VALUES or self.chars > MAX_CHARS:
            raise SchemaError(
                f"the schema asks for an answer of more than {MAX_VALUES:,} values or {MAX_CHARS:,} characters"
                + (f" ({why})" if why else "")
            )


def instance(schema: dict, hint: str = "", root: dict | None = None, name: str = "value", budget=None, depth=0):
    """A value valid against ``schema``; strings say what they are (``name``) and quote ``hint`` where it fits."""
    root = root if root is not None else schema
    budget = budget or _Budget()
    if depth > MAX_NESTING:
        raise SchemaError(f"the schema nests deeper than {MAX_NESTING} levels")
    if not isinstance(schema, dict):
        raise SchemaError(f"expected a schema (a JSON object), got {type(schema).__name__}")
    deeper = {"hint": hint, "root": root, "budget": budget, "depth": depth + 1}
    budget.spend(values=1)
    if "$ref" in schema:
        return instance(_resolve(root, schema["$ref"]), name=name, **deeper)
    if "const" in schema or schema.get("enum"):  # given whole: its characters count (a 30 MB const was answered)
        value = schema["const"] if "const" in schema else schema["enum"][0]
        budget.spend(chars=len(value) if isinstance(value, str) else 0, why=f"a fixed value for {name!r}")
        return value
    for key in ("anyOf", "oneOf"):
        if options := schema.get(key):
            usable = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")] or options
            return instance(usable[0], name=name, **deeper)
    if parts := schema.get("allOf"):  # every part applies, and the keywords beside allOf too
        merged: dict = {k: v for k, v in schema.items() if k != "allOf"}
        for part in parts:
            part = _resolve(root, part["$ref"]) if isinstance(part, dict) and "$ref" in part else part
            if not isinstance(part, dict):
                raise SchemaError(f"expected a schema (a JSON object) in allOf, got {type(part).__name__}")
            for key, value in part.items():
                if key == "properties" and isinstance(value, dict):
                    merged["properties"] = {**(merged.get("properties") or {}), **value}
                elif key == "required" and isinstance(value, list):
                    merged["required"] = [*(merged.get("required") or []), *value]
                else:
                    merged[key] = value
        return instance(merged, name=name, **deeper)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    extras = _description_extras(schema.get("description"))
    bounds = _bounds(schema, extras)
    if kind == "object":
        props = schema.get("properties") or {}
        return {key: instance(sub, name=key, **deeper) for key, sub in props.items()}
    if kind == "array":
        count = max(int(bounds.get("minItems", 0)), min(2, int(bounds.get("maxItems", 2))))
        budget.spend(values=count, why=f"{count:,} items for {name!r}")
        items = schema.get("items") or {}
        return [instance(items, name=f"{name} {i + 1}", **deeper) for i in range(count)]
    if kind in {"integer", "number"}:
        return _number(kind, bounds, name, extras.get("multipleOf"))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if pattern := schema.get("pattern", extras.get("pattern")):
        try:
            text = from_pattern(pattern, seed=name, limit=MAX_CHARS - budget.chars)
        except SchemaError as err:
            raise SchemaError(f"pattern for {name!r}: {err}") from None
        budget.spend(chars=len(text))
        return text
    if (fmt := schema.get("format")) in FORMATS:
        return FORMATS[fmt]
    text = _words(name, hint)
    low, high = int(bounds.get("minLength", 0)), int(bounds.get("maxLength", MAX_CHARS))
    budget.spend(chars=max(low, len(text)), why=f"minLength {low:,} for {name!r}")
    return (text + "." * max(0, low - len(text)))[:high]


_EXTRA_KEY = re.compile(r", (?=[A-Za-z$]\w*: )")


def _description_extras(description) -> dict[str, str]:
    """What the SDK appended to a description as ``{key: value, ...}`` (a pattern may itself hold ', ' or braces)."""
    if not isinstance(description, str) or not description.endswith("}"):
        return {}
    start = description.rfind("\n\n{")
    block = description[start + 3 : -1] if start >= 0 else description[1:-1] if description.startswith("{") else ""
    out: dict[str, str] = {}
    key = None
    for piece in _EXTRA_KEY.split(block):
        name, sep, value = piece.partition(": ")
        if sep and re.fullmatch(r"[A-Za-z$]\w*", name) and (key != "pattern" or name in _BOUND_KEYS):
            key, out[name] = name, value
        elif key:  # a ', ' inside a pattern
            out[key] += ", " + piece
    return out


_BOUND_KEYS = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems"}
_BOUND_KEYS |= {"maxItems", "multipleOf", "uniqueItems", "format", "default", "examples"}


def _bounds(schema: dict, extras: dict[str, str]) -> dict[str, float]:
    found = {}
    for key in _BOUND_KEYS - {"uniqueItems", "format", "default", "examples", "multipleOf"}:
        value = schema.get(key, extras.get(key))
        if isinstance(value, str) and re.fullmatch(_NUMBER, value.strip()):
            value = float(value)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            found[key] = float(value)
    return found


def _number(kind: str, b: dict[str, float], name: str = "", multiple: str | None = None) -> int | float:
    """A plausible small number that differs from field to field (deterministic in ``name``), inside the bounds."""
    pick = 5 + zlib.crc32(name.encode()) % 36  # 5..40: a temperature, an age, a count all look like themselves
    low = b.get("minimum", b.get("exclusiveMinimum"))
    high = b.get("maximum", b.get("exclusiveMaximum"))
    if kind == "integer":
        step = int(float(multiple)) if multiple and re.fullmatch(r"\d+(\.0*)?", multiple) and float(multiple) else 1
        low_int = None if low is None else math.floor(low) + 1 if "minimum" not in b else math.ceil(low)
        high_int = None if high is None else math.ceil(high) - 1 if "maximum" not in b else math.floor(high)
        pick -= pick % step
        if (low_int is None or low_int <= pick) and (high_int is None or pick <= high_int):
            return pick
        if low_int is not None:
            return low_int + (-low_int) % step
        return high_int - high_int % step if high_int is not None else pick
    value = pick + 0.5
    if (low is None or low < value) and (high is None or value < high):
        return value
    if low is not None and high is not None:
        return (low + high) / 2
    if low is not None:
        return low + 1
    return high - 1 if high is not None else value


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


# ---------------------------------------------------------------------------------------------------------------------
# Patterns
#
# A string that matches a JSON Schema ``pattern``, made from the regex's own parse tree (Python's ``re`` parser).
#
# The API's structured outputs accept a subset of regular expressions: no backreferences, lookaround, word boundaries,
# conditionals, atomic groups or possessive quantifiers. :func:`check_pattern` refuses the rest; :func:`from_pattern` builds
# a match, deterministic in ``seed``, with a bounded number of steps and characters. The walk that makes the string is
# its own proof of a match (every character is one its node accepts, every anchor stands where it holds), so no
# regular expression engine runs: ``re`` backtracks, and ``re.search`` of ``(a|a){40}$b`` on the string made took 2**40
# steps, holding the GIL (every other client of the server waited) for days.
#
# Why not a maintained library: ``bench/structured.py`` runs exrex and rstr on the same patterns and prints what each
# does. exrex draws from the process-wide ``random`` (a local API must give the same bytes to the same request) and
# bounds neither time nor size on nested repeats; rstr takes a seeded generator but fails on long repeats. Both would
# still need the refusals and bounds below, and ``re``'s parser does the hard part, so the walk stays short.

MAX_PATTERN = 1_000  # characters in one pattern
MAX_STEPS = 100_000  # parse-tree nodes visited while making one string
SOFT_LENGTH = 64  # past this many characters, repeats take their minimum count

_REFUSED = {
    "GROUPREF": "backreferences",
    "GROUPREF_EXISTS": "conditional groups",
    "ASSERT": "lookahead and lookbehind",
    "ASSERT_NOT": "lookahead and lookbehind",
    "ATOMIC_GROUP": "atomic groups",
    "POSSESSIVE_REPEAT": "possessive quantifiers",
}
_CATEGORIES = {
    "CATEGORY_DIGIT": string.digits,
    "CATEGORY_NOT_DIGIT": string.ascii_letters,
    "CATEGORY_WORD": string.ascii_letters + string.digits + "_",
    "CATEGORY_NOT_WORD": " -.",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": string.ascii_letters + string.digits,
}
_POOL = string.ascii_letters + string.digits + " -_.@"  # what a negated class or "." picks from
_UNCASED = string.digits + " -_.@"  # the same ignoring case: no case folding maps another character onto these


def _parse(pattern: str):
    if len(pattern) > MAX_PATTERN:
        raise SchemaError(f"expected a regular expression of at most {MAX_PATTERN} characters, got {len(pattern):,}")
    try:
        tree = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError) as err:
        raise SchemaError(f"not a valid regular expression: {err}") from None
    stack = [tree]
    while stack:  # refuse what the API's regex subset lacks, anywhere in the tree
        for op, av in stack.pop():
            name = str(op)
            if name in _REFUSED:
                raise SchemaError(f"{_REFUSED[name]} are not supported in patterns")
            if name == "AT" and str(av) in {"AT_BOUNDARY", "AT_NON_BOUNDARY"}:
                raise SchemaError("word boundaries (\\b, \\B) are not supported in patterns")
            stack.extend(_children(name, av))
    return tree


def _children(name: str, av) -> list:
    if name in {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}:
        return [av[2]]
    if name == "SUBPATTERN":
        return [av[-1]]
    if name == "BRANCH":
        return list(av[1])
    if name in {"ASSERT", "ASSERT_NOT"}:
        return [av[1]]
    if name == "ATOMIC_GROUP":
        return [av]
    return []


def check_pattern(pattern: str) -> None:
    """:class:`SchemaError` if the API would refuse the pattern."""
    _parse(pattern)


def from_pattern(pattern: str, seed: str = "", limit: int = 100_000) -> str:
    """A string ``re.search(pattern, ...)`` accepts, at most ``limit`` characters long."""
    tree = _parse(pattern)
    if tree.getwidth()[0] > limit:
        raise SchemaError(f"its shortest match is longer than {limit:,} characters")
    pool = _UNCASED if _ignores_case(tree) else _POOL
    for attempt in range(4):  # the last takes every repeat's least count (``$(ab)*`` holds with none)
        walk = _Walk(random.Random(zlib.crc32(f"{seed}/{attempt}".encode())), limit, pool, least=attempt == 3)
        if (text := walk.run(tree)) is not None:
            return text
    raise SchemaError("no string this generator makes matches it")


def _ignores_case(tree) -> bool:
    """Whether any part of the pattern ignores case (``(?i)`` for the whole or for a group)."""
    if tree.state.flags & re.IGNORECASE:
        return True
    stack = [tree]
    while stack:
        for op, av in stack.pop():
            if str(op) == "SUBPATTERN" and av[1] & re.IGNORECASE:
                return True
            stack.extend(_children(str(op), av))
    return False


# Where each anchor holds in a string the walk made, ``at`` its position (conservative: ``^`` after a newline under
# ``(?m)`` is not counted; the walk then tries again, and at worst the pattern is refused).
_ANCHORS = {
    "AT_BEGINNING": lambda text, at: at == 0,
    "AT_BEGINNING_STRING": lambda text, at: at == 0,
    "AT_END": lambda text, at: at == len(text) or (at == len(text) - 1 and text.endswith("\n")),
    "AT_END_STRING": lambda text, at: at == len(text),
}


class _Walk:
    """One path through the parse tree and the string it spells: a match of the whole pattern at position 0, so a
    match for ``re.search``, when every anchor on the path holds (:meth:`run` checks; None when one does not)."""

    def __init__(self, rng: random.Random, limit: int, pool: str = _POOL, least: bool = False):
        self.rng, self.limit, self.steps, self.pool, self.least = rng, limit, 0, pool, least
        self.out: list[str] = []
        self.length = 0
        self.anchors: list[tuple[str, int]] = []
        self.negated: dict[int, list[str]] = {}  # what each negated class allows, worked out once, not per character

    def run(self, tree) -> str | None:
        self.emit(tree)
        text = "".join(self.out)
        holds = all(_ANCHORS.get(kind, lambda text, at: False)(text, at) for kind, at in self.anchors)
        return text if holds else None

    def put(self, text: str) -> None:
        if "\ud800" <= text <= "\udfff":  # one character at a time; a stream could not encode it (UTF-8 lacks them)
            raise SchemaError("a match would hold a lone surrogate (U+D800 to U+DFFF), which UTF-8 cannot carry")
        self.length += len(text)
        if self.length > self.limit:
            raise SchemaError(f"a match would be longer than {self.limit:,} characters")
        self.out.append(text)

    def emit(self, items) -> None:
        for op, av in items:
            self.steps += 1
            if self.steps > MAX_STEPS:
                raise SchemaError(f"making a match takes more than {MAX_STEPS:,} steps")
            name = str(op)
            if name == "LITERAL":
                self.put(chr(av))
            elif name == "NOT_LITERAL":
                self.put(self.rng.choice([c for c in self.pool if ord(c) != av]))
            elif name == "ANY":
                self.put(self.rng.choice(string.ascii_letters))
            elif name == "IN":
                self.put(self.one_of(av))
            elif name == "BRANCH":
                self.emit(self.rng.choice(av[1]))
            elif name == "SUBPATTERN":
                self.emit(av[-1])
            elif name in {"MAX_REPEAT", "MIN_REPEAT"}:
                low, high, sub = av
                if not sub:  # "(?:){4294967294}": rounds that emit nothing and count no step, so none are taken
                    continue
                top = low if self.least or self.length > SOFT_LENGTH else min(high, low + 3)
                for _ in range(self.rng.randint(low, max(low, top))):
                    self.emit(sub)
            elif name == "AT":  # ^, $, \A, \Z add nothing: checked where they stand once the string is made
                self.anchors.append((str(av), self.length))

    def one_of(self, items) -> str:
        """A character of a class ``[...]``: a random member, or for ``[^...]`` a pool character outside it."""
        if items and str(items[0][0]) == "NEGATE":
            if (allowed := self.negated.get(id(items))) is None:
                allowed = self.negated[id(items)] = [c for c in self.pool if not _member(items[1:], c)]
            if not allowed:
                raise SchemaError("a negated class excludes every character this generator uses")
            return self.rng.choice(allowed)
        op, av = self.rng.choice(items)
        name = str(op)
        if name == "LITERAL":
            return chr(av)
        if name == "RANGE":
            low, high = av
            printable = [c for c in _POOL if low <= ord(c) <= high]
            return self.rng.choice(printable) if printable else chr(self.rng.randint(low, high))
        if name == "CATEGORY":
            return self.rng.choice(_CATEGORIES.get(str(av), string.ascii_letters))
        return self.rng.choice(string.ascii_letters)  # CHARSET/BIGCHARSET appear only in compiled code, not here


def _member(items, ch: str) -> bool:
    code = ord(ch)
    for op, av in items:
        name = str(op)
        if name == "LITERAL" and av == code:
            return True
        if name == "RANGE" and av[0] <= code <= av[1]:
            return True
        if name == "CATEGORY" and ch in _CATEGORIES.get(str(av), "") and not str(av).startswith("CATEGORY_NOT"):
            return True
        if (
            name == "CATEGORY"
            and str(av).startswith("CATEGORY_NOT")
            and ch not in _CATEGORIES[str(av).replace("NOT_", "")]
        ):
            return True
    return False
