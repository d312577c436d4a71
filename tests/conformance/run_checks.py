"""The loop the Python conformance scripts share (client.py, frameworks.py): run each check on the same argument and
print one JSON line per check, ``{"name", "ok", "error"}``, going on after a failure."""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def run_checks(checks: Iterable[Callable[[T], object]], arg: T) -> None:
    for check in checks:
        try:
            check(arg)
            result = {"name": check.__name__, "ok": True}
        except Exception as err:  # noqa: BLE001 (every failure is reported, and the next check runs)
            result = {"name": check.__name__, "ok": False, "error": "".join(traceback.format_exception_only(err))}
        print(json.dumps(result), flush=True)
