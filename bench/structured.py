"""Structured outputs: the local API's regex generator (helpers/offline/structured.py) beside two maintained libraries,
exrex and rstr, on the same patterns, and the time to check and answer a schema, hostile ones included.

    python bench/structured.py

Per generator: how many patterns it gave a matching string for, wrong strings, errors, and the slowest pattern.
The baseline is the libraries: the home-made generator stays only while it is the one that is deterministic and bounded.
"""

from __future__ import annotations

import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import exrex  # noqa: E402
import rstr  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402

from helpers.offline import structured  # noqa: E402

PATTERNS = [
    r"^[A-Z]{3}-\d{4}$",
    r"^[a-z0-9._%+-]+@[a-z]+\.(com|org)$",
    r"^\+?\d{1,3}[ -]?\d{3,4}[ -]?\d{4}$",
    r"^(\d+\.){3}\d+$",
    r"(ab|cd){2,5}x?",
    r"^[^a-z]{3}$",
    r"a{200}",
    r"x(?=y)y",  # a lookahead: the API refuses it; a generator must not return a wrong string
    r"(a)\1",  # a backreference: likewise
    r"[\u0000-\U0010ffff]",  # a class of every code point
    r"(a{1000}){1000}",  # a million characters at least
    r"((((((x{0,9}){0,9}){0,9}){0,9}){0,9}){0,9})",  # up to 9**6 characters
]


def ours(pattern: str) -> str:
    return structured.from_pattern(pattern, seed="bench")


def run(name: str, make) -> None:
    ok = wrong = errors = varying = 0
    slowest = (0.0, "")
    longest = 0
    for pattern in PATTERNS:
        start = time.perf_counter()
        try:
            text = make(pattern)
            good = re.search(pattern, text) is not None
            ok, wrong = ok + good, wrong + (not good)
            varying += make(pattern) != text  # the same request must get the same bytes (nbval, cassettes)
            longest = max(longest, len(text))
        except Exception:  # noqa: BLE001 (a refusal, or a library's failure: both are counted)
            errors += 1
        took = time.perf_counter() - start
        slowest = max(slowest, (took, pattern))
    print(
        f"{name:12} matching {ok}/{len(PATTERNS)} · wrong {wrong} · refused or failed {errors} · "
        f"different on a second call {varying} · longest {longest:,} chars · "
        f"slowest {slowest[0] * 1000:.0f} ms ({slowest[1][:30]})"
    )


class Person(BaseModel):
    name: str
    code: str = Field(pattern=r"^[A-Z]{3}-\d{4}$")
    age: int = Field(ge=0, le=120)
    tags: list[str] = Field(min_length=3)


def schemas() -> None:
    from anthropic.lib._parse._transform import transform_schema

    cases = {
        "a Pydantic model": transform_schema(Person),
        "minItems: 3000000 (description)": {"type": "array", "items": {}, "description": "{minItems: 3000000}"},
        "a $ref fan-out of 2**40": {
            "$ref": "#/$defs/d0",
            "$defs": {
                **{
                    f"d{i}": {"type": "object", "properties": {k: {"$ref": f"#/$defs/d{i + 1}"} for k in "ab"}}
                    for i in range(40)
                },
                "d40": {"type": "string"},
            },
        },
    }
    for name, schema in cases.items():
        start = time.perf_counter()
        try:
            structured.check(schema)
            outcome = "answered"
        except structured.SchemaError:
            outcome = "refused (400)"
        print(f"schema {name:34} {outcome:14} in {(time.perf_counter() - start) * 1000:.1f} ms")


if __name__ == "__main__":
    run("structured.py", ours)
    run("exrex", lambda p: exrex.getone(p, limit=20))
    run("rstr", lambda p: rstr.Rstr(random.Random(1)).xeger(p))
    schemas()
    print("baseline: before this change, minItems: 3000000 blocked the server for 22 s and took ~950 MiB")
