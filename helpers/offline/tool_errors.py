"""A server tool that fails: the ``toolerror`` fault. Each ``*_tool_result`` block's error object and codes are read
from the SDK's own types, so a new tool's errors are never missed."""

from __future__ import annotations

import typing

import pydantic
from anthropic.types import ContentBlock

from .model import Block, Reply


def _error_codes() -> dict[str, tuple[str, tuple[str, ...], bool]]:
    """For each ``*_tool_result`` block the SDK knows: its error object's type, the error codes the SDK accepts and
    whether the object has an ``error_message`` (read from the SDK's own types, so a new one is never missed)."""
    codes = {}
    for block in typing.get_args(typing.get_args(ContentBlock)[0]):
        (kind,) = typing.get_args(block.model_fields["type"].annotation)
        if not kind.endswith("_tool_result"):
            continue
        pending = [block.model_fields["content"].annotation]
        while pending:
            item = pending.pop()
            if isinstance(item, type) and issubclass(item, pydantic.BaseModel) and "error_code" in item.model_fields:
                (error_type,) = typing.get_args(item.model_fields["type"].annotation)
                values = typing.get_args(item.model_fields["error_code"].annotation)
                codes[kind] = (error_type, values, "error_message" in item.model_fields)
            else:
                pending += [a for a in typing.get_args(item) if not isinstance(a, str)]
    return codes


ERROR_CODES = _error_codes()
ALL_ERROR_CODES = sorted({c for _, values, _ in ERROR_CODES.values() for c in values})


def fail_tools(reply: Reply, code: str = "unavailable") -> Reply:
    """``reply`` with its first server tool result replaced by that tool's error object (``code`` if the SDK accepts
    it for that tool, else ``unavailable``) and the rest of the turn replaced by a short apology, as a model says it."""
    for n, block in enumerate(reply.blocks):
        if block.type in ERROR_CODES:
            error_type, values, has_message = ERROR_CODES[block.type]
            error = {"type": error_type, "error_code": code if code in values else "unavailable"}
            if has_message:
                error["error_message"] = f"The tool failed: {error['error_code']} (the toolerror fault)."
            name = block.type.removesuffix("_tool_result").replace("_", " ")
            said = f"The {name} tool failed ({error['error_code']}), so I can't use its result."
            return Reply([*reply.blocks[:n], Block(block.type, content=error), Block("text", said)])
    return reply
