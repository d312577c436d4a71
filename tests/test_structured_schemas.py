"""Structured outputs against the local API, through the real SDK over HTTP: every keyword the SDK's schema transform
sends is honoured (a Pydantic model's answer validates), a raw ``pattern`` is honoured, what the API refuses gets its
400 naming where, hostile schemas are refused in bounded time and memory while other clients are answered, and the
prompt-cache lookup stays linear in the request's size."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import enum
import json
import re
import tracemalloc
import uuid
from typing import Literal

import anthropic
import jsonschema
import pytest
from pydantic import BaseModel, Field, conlist

from helpers.offline import structured

from .conftest import MODEL


def ask(client, schema: dict, **extra):
    return client.messages.create(
        model=MODEL,
        max_tokens=2048,
        messages=[{"role": "user", "content": "Fill this in"}],
        output_config={"format": {"type": "json_schema", "schema": schema}},
        **extra,
    )


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    city: str
    postcode: str = Field(pattern=r"^[A-Z]{2}\d{1,2} \d[A-Z]{2}$")


class Everything(BaseModel):
    """Each constraint Pydantic puts in a JSON schema, so each path of the SDK's transform_schema."""

    code: str = Field(pattern=r"^[A-Z]{3}-\d{4}$", description="A product code, e.g. ABC-1234")
    slug: str = Field(min_length=5, max_length=12, pattern=r"^[a-z]+(-[a-z]+)*$")
    short: str = Field(max_length=4)
    padded: str = Field(min_length=40)
    count: int = Field(ge=3, le=7, multiple_of=2)
    ratio: float = Field(gt=0, lt=1)
    big: int = Field(gt=1000)
    when: dt.datetime
    day: dt.date
    at: dt.time
    took: dt.timedelta
    email: str = Field(json_schema_extra={"format": "email"})
    ident: uuid.UUID
    colour: Colour
    size: Literal["S", "M", "L"]
    fixed: Literal["only"]
    maybe: int | None
    either: int | str
    tags: conlist(str, min_length=3, max_length=5)
    unique: set[int]
    one_or_more: list[str] = Field(min_length=1)
    home: Address
    past: list[Address]
    flag: bool
    nothing: None


def test_every_keyword_of_the_sdk_transform_is_honoured(client):
    final = client.messages.parse(
        model=MODEL, max_tokens=4096, messages=[{"role": "user", "content": "Make one"}], output_format=Everything
    )
    got = final.parsed_output
    assert isinstance(got, Everything)  # the SDK validated every constraint, pattern and bounds included
    assert re.fullmatch(r"[A-Z]{3}-\d{4}", got.code) and got.count in (4, 6) and got.big > 1000
    assert len(got.tags) >= 3 and len(got.padded) >= 40 and got.home.city
    jsonschema.validate(json.loads(final.content[0].text), Everything.model_json_schema())  # the untransformed schema


def test_a_pattern_in_a_raw_schema_is_honoured(client):
    schema = {
        "type": "object",
        "properties": {
            "sku": {"type": "string", "pattern": r"^SKU-[0-9a-f]{8}$"},
            "phone": {"type": "string", "pattern": r"\+44 \d{4} \d{6}"},
            "words": {"type": "array", "items": {"type": "string", "pattern": "^(cat|dog)s?$"}, "minItems": 1},
        },
        "required": ["sku", "phone", "words"],
        "additionalProperties": False,
    }
    data = json.loads(ask(client, schema).content[0].text)
    jsonschema.validate(data, schema)


def test_allof_applies_every_part_and_its_siblings(client):
    schema = {
        "$defs": {"Named": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}},
        "description": "A person",
        "allOf": [
            {"$ref": "#/$defs/Named"},
            {"type": "object", "properties": {"age": {"type": "integer"}}, "required": ["age"]},
        ],
    }
    data = json.loads(ask(client, schema).content[0].text)
    jsonschema.validate(data, schema)
    assert set(data) == {"name", "age"}


@pytest.mark.parametrize(
    "pattern",
    [
        r"^[A-Z]{3}-\d{4}$",
        r"^[^@\s]+@[a-z]+\.(com|org)$",
        r"(ab|cd){2,5}x?",
        r"^[^a-z]{3}$",
        r"\W\S\D",
        r"(?i)^hello$",
        r"a{200}",
        r"^(\d+\.){3}\d+$",
        r"[\u4e00-\u9fff]{2}",
        r"^$",
        r".*\.py",
        r"(((((((x{0,9}){0,9}){0,9}){0,9}){0,9}){0,9}){0,9})",  # up to 9**7 characters: made short
        r"(?i)[^a-z]{2}[^Q]$",  # a negated class ignoring case: a character of no case
        r"(?:(a|a){40}x|a{40}y)",  # re.search took 2**40 steps before it found the match that was made
    ],
)
def test_patterns_give_a_matching_string(pattern):
    text = structured.from_pattern(pattern, seed="x")
    assert re.search(pattern, text), (pattern, text)
    assert text == structured.from_pattern(pattern, seed="x")  # deterministic


# Patterns whose walk did unbounded work before it made a (valid) string: each held the GIL for an hour or more
SLOW_WALKS = {
    # "(?:)" parses to nothing, so each of the 4,294,967,294 rounds emitted nothing and counted no step ("" matches: `re`
    # itself takes those rounds, so the test does not ask it)
    "a repeat of an empty group": ("(?:){4294967294}", ""),
    # the characters a negated class allows were worked out again for each of the 99,999 characters: 70 x 988 tests each
    "a long negated class repeated 99,999 times": (
        "[^" + "".join(chr(0x100 + i) for i in range(988)) + "]{99999}",
        None,
    ),
}


@pytest.mark.timeout(60)  # each took an hour or more: a deadline only so that a regression fails instead of hanging
@pytest.mark.parametrize("name", SLOW_WALKS)
def test_a_pattern_walk_does_bounded_work(name):
    pattern, expected = SLOW_WALKS[name]
    text = structured.from_pattern(pattern, seed="x")
    assert text == expected if expected is not None else re.search(pattern, text)


MALFORMED = {
    "no type, properties not an object": ({"properties": 5}, "/properties: expected an object"),
    "items not a schema": ({"type": "array", "items": "x"}, "/items: expected a schema"),
    "a $ref loop": ({"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a"}}}, "recursive schemas"),
    "a recursive model": (
        {"type": "object", "properties": {"child": {"$ref": "#"}}, "additionalProperties": False},
        "recursive schemas",
    ),
    "a dangling $ref": ({"$ref": "#/$defs/missing"}, "points at nothing"),
    "a remote $ref": ({"$ref": "https://example.com/s.json"}, "expected a local reference"),
    "a $ref that is not a string": ({"$ref": 5}, "/$ref: expected a string"),
    "anyOf not a list": ({"anyOf": "x"}, "anyOf: expected a non-empty list"),
    "anyOf of numbers": ({"anyOf": [1, 2]}, "/anyOf/1: expected a schema"),
    "allOf of a bad $ref": ({"allOf": [{"$ref": "#/nope"}]}, "points at nothing"),
    "a bound that is not a number": ({"type": "integer", "description": "{minimum: 1.2.3}"}, None),
    "a boolean schema": ({"type": "object", "properties": {"a": True}}, "/properties/a: expected a schema"),
    "minLength in the schema": ({"type": "string", "minLength": 10**12}, "'minLength' is not supported"),
    "an unknown type": ({"type": "date"}, "/type: expected one of"),
    "a type that is a number": ({"type": 5}, "/type: expected one of"),
    "an empty type list": ({"type": []}, "/type: expected one of"),
    "an enum of objects": ({"enum": [{}]}, "/enum: expected a non-empty list"),
    "a required property that does not exist": (
        {"type": "object", "properties": {}, "required": ["x"]},
        "'x' is not one of the object's properties",
    ),
    "an invalid pattern": ({"type": "string", "pattern": "(("}, "not a valid regular expression"),
    "a backreference": ({"type": "string", "pattern": r"(a)\1"}, "backreferences are not supported"),
    "a lookahead": ({"type": "string", "pattern": r"x(?=y)"}, "lookahead and lookbehind are not supported"),
    "a word boundary": ({"type": "string", "pattern": r"\bcat\b"}, "word boundaries"),
    # UTF-8 cannot carry a lone surrogate: a stream carrying one ended in a 500 after its 200 headers were chosen
    "a pattern only a lone surrogate matches": ({"type": "string", "pattern": r"\ud800"}, "lone surrogate"),
    "additionalProperties true": ({"type": "object", "additionalProperties": True}, "only false is supported"),
    "an unknown format": ({"type": "string", "format": "color"}, "/format: expected one of"),
    "a $ref to a malformed schema outside $defs": (
        {"$ref": "#/elsewhere", "elsewhere": {"type": "object", "properties": []}},
        "/elsewhere/properties: expected an object",
    ),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_a_malformed_or_unsupported_schema_gets_the_apis_400(client, name):
    schema, says = MALFORMED[name]
    if says is None:  # valid: a bound the SDK wrote badly is ignored, as a model would
        assert ask(client, schema).stop_reason == "end_turn"
        return
    with pytest.raises(anthropic.BadRequestError) as info:
        ask(client, schema)
    message = info.value.body["error"]["message"]
    assert info.value.body["error"]["type"] == "invalid_request_error"
    assert message.startswith("output_config.format.schema: ") and says in message, message


def _fan_out(levels: int) -> dict:
    """Each definition uses the next one twice: 2**levels values from a schema of a few hundred bytes."""
    defs = {
        f"d{i}": {
            "type": "object",
            "properties": {"a": {"$ref": f"#/$defs/d{i + 1}"}, "b": {"$ref": f"#/$defs/d{i + 1}"}},
        }
        for i in range(levels)
    }
    defs[f"d{levels}"] = {"type": "string"}
    return {"$ref": "#/$defs/d0", "$defs": defs}


HOSTILE = {
    "minItems: 3000000 in a description": {
        "type": "array",
        "items": {"type": "string"},
        "description": "{minItems: 3000000}",
    },
    "minItems: 3000000 in the schema": {"type": "array", "items": {"type": "string"}, "minItems": 3000000},
    "minLength: 10**9 in a description": {"type": "string", "description": "{minLength: 1000000000}"},
    "a pattern whose shortest match is a million characters": {"type": "string", "pattern": "(a{1000}){1000}"},
    "a pattern of a million empty steps": {"type": "string", "pattern": "((){1000}){1000}"},
    "a $ref fan-out of 2**40 values": _fan_out(40),
    # re.search backtracks 2**40 times on the string made (no string matches: "$" is not at the end): the GIL was held
    # for days, so every other client of the server waited; now the walk that makes a string proves it matches
    "a pattern that backtracks 2**40 times": {"type": "string", "pattern": "(a|a){40}$b"},
    # given whole, answered whole: one 8 MB line of SSE for 0.3 s of the server's work (the readers were quadratic)
    "a const of a million characters": {"type": "object", "properties": {"a": {"const": "x" * 10**6}}},
    "an enum of a million characters": {"type": "string", "enum": ["x" * 10**6]},
    "a $ref chain 5000 deep": {
        "$ref": "#/$defs/d0",
        "$defs": {f"d{i}": {"$ref": f"#/$defs/d{i + 1}"} for i in range(5000)} | {"d5000": {"type": "string"}},
    },
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_schema_is_refused_with_memory_bounded(name):
    schema = HOSTILE[name]
    tracemalloc.start()
    try:
        with pytest.raises(structured.SchemaError):
            structured.check_schema(schema)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"{peak / 2**20:.0f} MiB to refuse {name}"


@pytest.mark.timeout(60)
def test_hostile_schemas_get_a_400_while_other_clients_are_answered(api):
    hostile = anthropic.Anthropic(base_url=api.url, api_key="k", max_retries=0, timeout=30)
    friendly = anthropic.Anthropic(base_url=api.url, api_key="k", max_retries=0, timeout=30)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        refused = [pool.submit(ask, hostile, schema) for schema in HOSTILE.values()]
        answered = [
            pool.submit(
                friendly.messages.create, model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
            )
            for _ in range(4)
        ]
        for future in refused:
            with pytest.raises(anthropic.BadRequestError):
                future.result()
        assert all(f.result().content[0].text for f in answered)


@pytest.mark.slow  # its point is the size: in `make test`, not in the inner loop
@pytest.mark.timeout(60)  # the lookup was quadratic: this request took 67 s, the server frozen
def test_a_request_of_40000_text_blocks_is_answered(client):
    blocks = [{"type": "text", "text": f"note {i}: streaming is fine"} for i in range(40_000)]
    blocks[-1]["cache_control"] = {"type": "ephemeral"}
    first = client.messages.create(model=MODEL, max_tokens=16, messages=[{"role": "user", "content": blocks}])
    again = client.messages.create(model=MODEL, max_tokens=16, messages=[{"role": "user", "content": blocks}])
    assert first.usage.cache_creation_input_tokens > 100_000
    assert again.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
