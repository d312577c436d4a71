"""Refuse a malformed request the way the real API does: a 4xx with its error JSON, naming the field and the problem.

The request's shape is checked against the SDK's own request types (``anthropic.types.MessageCreateParams``, or the
beta ones when the request carries an ``anthropic-beta`` header), so every field and content-block type the SDK can send is accepted
and anything else is refused, in the real API's words (``messages.0.content: Input should be a valid list``,
``tools.0: Input tag 'function' found using 'type' does not match any of the expected tags: …``,
``foo: Extra inputs are not permitted``). A few rules the types cannot express follow (roles, ``max_tokens`` per
model, thinking budget). Everything here runs in linear time and never recurses deeper than the SDK's types.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence

import pydantic
import typing_extensions as te

from helpers.models import SPECS, uses_container

from .read import input_tokens, is_paused_turn  # a pause_turn answer sent back is not a prefill
from .structured import SchemaError, check_schema, schema_of

API_MAX_BODY_BYTES = 32 * 1024 * 1024  # the real API's limit for POST /v1/messages (docs: "Request size limits")
MAX_DEPTH = 256  # JSON nesting the local API accepts; deeper would reach Python's recursion limit (RecursionError)
API_MAX_MESSAGES = 100_000  # the real API's limit (the SDK's docstring of ``messages``)
HEADER_FIELDS = {"betas", "user_profile_id", "workspace_id"}  # request params the SDK sends as headers, not in the body
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")


class BadRequest(Exception):
    """A request the real API would refuse: ``status``, the error ``type`` and ``message`` of its error JSON."""

    def __init__(self, status: int, error_type: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status, self.error_type, self.message, self.details = status, error_type, message, details


def invalid(message: str) -> BadRequest:
    return BadRequest(400, "invalid_request_error", message)


def validate(
    body: bytes, beta: bool = False, expand: Callable[[dict], dict] | None = None, endpoint: str = "messages"
) -> dict:
    """The parsed request, or :class:`BadRequest` naming the first problem. ``expand`` (a beta thread's held history)
    runs between the type check and the rules, which judge the conversation as the model sees it. ``endpoint``:
    ``messages`` or ``count_tokens`` (``POST /v1/messages/count_tokens``: the request without ``max_tokens``)."""
    request = parse_json(body)
    if not isinstance(request, dict):
        raise invalid("The request body must be a JSON object.")
    _root(beta, endpoint)(request, "")
    if expand is not None:
        request = expand(request)
    check_rules(request)
    return request


def parse_json(body: bytes):
    """JSON as the real API reads it: UTF-8, no NaN or Infinity, nested at most MAX_DEPTH levels."""

    def no_constants(name: str):
        raise ValueError(f"{name} is not valid JSON")

    def finite(text: str) -> float:  # 1e400 is grammatical JSON, but Python reads it as inf, which no JSON can hold
        if not math.isfinite(number := float(text)):
            raise ValueError(f"the number {text[:40]} is out of range (expected a finite number)")
        return number

    try:
        value = json.loads(body, parse_constant=no_constants, parse_float=finite)
    except RecursionError:
        raise invalid(f"The request body is not valid JSON: nested deeper than {MAX_DEPTH} levels.") from None
    except ValueError as err:  # includes UnicodeDecodeError
        raise invalid(f"The request body is not valid JSON: {err}") from None
    if problem := _malformed(value, MAX_DEPTH):
        raise invalid(f"The request body is not valid JSON: {problem}.")
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")  # JSON's \ud800 escape parses, but is no character: no text holds it


def _malformed(value, limit: int) -> str | None:
    """What JSON's grammar lets through but the API refuses: nesting past ``limit``, a lone surrogate in a string."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = [*item, *item.values()] if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return f"nested deeper than {limit} levels"
                stack.append((child, depth + 1))
            elif isinstance(child, str) and not child.isascii() and (found := _SURROGATE.search(child)):
                return f"a lone surrogate (\\u{ord(found[0]):04x}) in a string; expected text that is valid Unicode"
    return None


# ---------------------------------------------------------------------------------------------------------------------
# The rules the types cannot express


def check_rules(request: dict) -> None:
    model, messages = request["model"], request["messages"]
    if model not in SPECS:  # as the API answers a model it does not serve
        raise BadRequest(404, "not_found_error", f"model: {model}")
    spec = SPECS[model]
    counting = "max_tokens" not in request  # POST /v1/messages/count_tokens
    max_tokens = 0 if counting else request["max_tokens"]
    if not messages:
        raise invalid("messages: at least one message is required")
    if len(messages) > API_MAX_MESSAGES:
        raise invalid(f"messages: a request may hold at most {API_MAX_MESSAGES:,} messages, got {len(messages):,}")
    if max_tokens < 0:
        raise invalid("max_tokens: Input should be greater than or equal to 0")
    if max_tokens > spec.max_tokens:
        raise invalid(
            f"max_tokens: {max_tokens} > {spec.max_tokens}, which is the maximum allowed number of output tokens "
            f"for {model}"
        )
    turns = [m for m in messages if m["role"] != "system"]
    if not turns or turns[0]["role"] != "user":
        raise invalid('messages: first message must use the "user" role')
    for i, m in enumerate(messages):
        content = m["content"]
        last_assistant = i == len(messages) - 1 and m["role"] == "assistant"
        if not content and not last_assistant:
            raise invalid(
                "messages: all messages must have non-empty content except for the optional final assistant message"
            )
        if isinstance(content, list) and any(b["type"] == "text" and not b["text"] for b in content):
            raise invalid("messages: text content blocks must be non-empty")
    if turns[-1]["role"] == "assistant" and "4-6" in model and not is_paused_turn(turns[-1]):
        raise invalid(
            "This model does not support assistant message prefill. The conversation must end with a user message."
        )
    if is_paused_turn(turns[-1]) and uses_container(request) and not request.get("container"):
        raise invalid(
            "container: a turn paused while using a container tool is resumed in the same container: send the paused "
            "response's container.id as `container`"
        )
    for i, tool in enumerate(request.get("tools") or []):
        if tool.get("type") in (None, "custom") and not TOOL_NAME.match(tool["name"]):
            raise invalid(f"tools.{i}.custom.name: String should match pattern '{TOOL_NAME.pattern}'")
    thinking = request.get("thinking") or {}
    if thinking.get("type") == "enabled" and spec.thinking == "adaptive":
        raise invalid(
            '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and '
            '"output_config.effort" to control thinking behavior.'
        )
    if thinking.get("type") == "adaptive" and spec.thinking == "manual":
        raise invalid(
            '"thinking.type.adaptive" is not supported for this model. Use "thinking.type.enabled" with '
            '"thinking.budget_tokens" to control thinking behavior.'
        )
    if thinking.get("type") == "enabled":
        if thinking["budget_tokens"] < 1024:
            raise invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if not counting and thinking["budget_tokens"] >= max_tokens:
            raise invalid("`max_tokens` must be greater than `thinking.budget_tokens`.")
    if (schema := schema_of(request)) is not None:
        try:
            check_schema(schema)
        except SchemaError as err:
            where = "output_format" if request.get("output_format") else "output_config.format"
            raise invalid(f"{where}.schema: {err}") from None
    if not counting and (prompt := input_tokens(request)) > spec.context_window:
        raise invalid(f"prompt is too long: {prompt} tokens > {spec.context_window} maximum")


# ---------------------------------------------------------------------------------------------------------------------
# Checking a value against the SDK's request types
#
# Each SDK type becomes a checker ``(value, path) -> None`` that raises BadRequest("<path>: <problem>"). Paths and
# wording follow the real API (pydantic's): fields and list indexes joined by dots, and a content block's or tool's
# ``type`` after its index (``messages.0.content.1.tool_use.text``).

Check = Callable[[object, str], None]
_KINDS = {dict: "a valid dictionary", list: "a valid list", str: "a valid string", bool: "a valid boolean"}


@functools.cache
def _root(beta: bool, endpoint: str = "messages") -> Check:
    if endpoint == "count_tokens":
        from anthropic.types import message_count_tokens_params as plain
        from anthropic.types.beta import message_count_tokens_params as beta_params

        counted = (beta_params if beta else plain).MessageCountTokensParams
        hints = te.get_type_hints(counted, include_extras=True)
        return _typed_dict({k: v for k, v in hints.items() if k not in HEADER_FIELDS}, allow_extra=False)
    params: type
    extra: dict[str, object] = {}
    if beta:
        from anthropic.types.beta.message_create_params import MessageCreateParamsBase as params
        from anthropic.types.beta.message_create_params import OutputFormat

        extra = {"output_format": typing.Optional[OutputFormat]}  # noqa: UP045 (a runtime type, not an annotation)
    else:
        from anthropic.types.message_create_params import MessageCreateParamsBase as params
    hints = te.get_type_hints(params, include_extras=True)
    fields = {k: v for k, v in hints.items() if k not in HEADER_FIELDS} | extra | {"stream": bool}
    return _typed_dict(fields, allow_extra=False)


def _at(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


def _fail(path: str, problem: str) -> BadRequest:
    return invalid(f"{path}: {problem}" if path else problem)


@functools.cache
def checker(tp) -> Check:
    """The checker for one SDK type (cached, so each type is compiled once)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (te.Required, te.NotRequired, typing.Annotated):
        return checker(args[0])
    if tp is typing.Any or tp is object:
        return lambda value, path: None
    if _never_on_the_wire(tp):  # a file the SDK base64-encodes into a string before sending
        return _simple(lambda v: False, "a valid string")
    if tp is type(None):
        return _simple(lambda v: v is None, "None")
    if tp is bool:
        return _simple(lambda v: isinstance(v, bool), "a valid boolean")
    if tp is int:
        return _simple(_is_int, "a valid integer")
    if tp is float:
        return _simple(lambda v: isinstance(v, int | float) and not isinstance(v, bool), "a valid number")
    if tp is str:
        return _simple(lambda v: isinstance(v, str), "a valid string")
    if origin is typing.Literal:
        return _literal(args)
    if origin is typing.Union:
        return _union(args)
    if origin in (list, Iterable, Sequence) or getattr(tp, "__name__", "") == "SequenceNotStr":
        return _list(args[0] if args else object)
    if origin in (dict, Mapping) or tp is dict:
        return _dict(args[1] if args else object)
    if te.is_typeddict(tp):
        config = getattr(tp, "__pydantic_config__", {}) or {}
        return _lazy(lambda: _typed_dict(te.get_type_hints(tp, include_extras=True), config.get("extra") == "allow"))
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        return _lazy(lambda: _model(tp))
    raise TypeError(f"the request validator does not know the SDK type {tp!r}")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) or isinstance(value, float) and value.is_integer()


def _simple(test: Callable[[object], bool], what: str) -> Check:
    def check(value, path):
        if not test(value):
            raise _fail(path, f"Input should be {what}")

    return check


def _literal(values: tuple) -> Check:
    listed = _listed(values)

    def accepts(value) -> bool:
        return any(value == v and type(value) is type(v) for v in values)

    def check(value, path):
        if not accepts(value):
            raise _fail(path, f"Input should be {listed}")

    return check


def _listed(values) -> str:
    """``'a', 'b' or 'c'``, as pydantic lists a Literal's values."""
    names = [repr(v) for v in values]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _list(item_type) -> Check:
    item = checker(item_type)

    def check(value, path):
        if not isinstance(value, list):
            raise _fail(path, "Input should be a valid list")
        for i, element in enumerate(value):
            item(element, _at(path, i))

    return check


def _dict(value_type) -> Check:
    item = checker(value_type)

    def check(value, path):
        if not isinstance(value, dict):
            raise _fail(path, "Input should be a valid dictionary")
        for key, element in value.items():
            item(element, _at(path, key))

    return check


def _typed_dict(hints: dict, allow_extra: bool, required: set | None = None) -> Check:
    if required is None:
        required = {k for k, v in hints.items() if typing.get_origin(v) is te.Required}
    fields = {k: checker(v) for k, v in hints.items()}
    required_in_order = [k for k in hints if k in required]

    def check(value, path):
        if not isinstance(value, dict):
            raise _fail(path, "Input should be a valid dictionary or object to extract fields from")
        for name in required_in_order:
            if name not in value:
                raise _fail(_at(path, name), "Field required")
        for key, element in value.items():
            if key in fields:
                fields[key](element, _at(path, key))
            elif not allow_extra:
                raise _fail(_at(path, key), "Extra inputs are not permitted")

    return check


def _model(cls) -> Check:
    """A response model the SDK also accepts as input (``final.content`` sent back, as its set fields)."""
    fields = {f.alias or name: f.annotation for name, f in cls.model_fields.items()}
    required = {f.alias or name for name, f in cls.model_fields.items() if f.is_required()}
    return _typed_dict(fields, allow_extra=False, required=required)


def _lazy(build: Callable[[], Check]) -> Check:
    """A TypedDict's or model's checker, built on first use (so recursive SDK types compile)."""
    built: list[Check] = []

    def check(value, path):
        if not built:
            built.append(build())
        built[0](value, path)

    return check


def _flatten(members) -> list:
    """A union's members with nested unions (the SDK's ``Annotated[Union[...], discriminator]``) spliced in."""
    out = []
    for m in members:
        inner = typing.get_args(m)[0] if typing.get_origin(m) is typing.Annotated else m
        out.extend(_flatten(typing.get_args(inner)) if typing.get_origin(inner) is typing.Union else [inner])
    return out


def _tags(tp, key: str) -> tuple[list, bool] | None:
    """The values of ``key`` (``type`` or ``role``) a union member stands for, and whether the key is required."""
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        field = tp.model_fields.get(key)
        hint, required = (field.annotation, field.is_required()) if field else (None, False)
    elif te.is_typeddict(tp):
        hint = te.get_type_hints(tp, include_extras=True).get(key)
        required = typing.get_origin(hint) is te.Required
    else:
        return None
    if hint is None:
        return None
    if typing.get_origin(hint) in (te.Required, te.NotRequired):
        hint = typing.get_args(hint)[0]
    literals = [a for a in [hint, *typing.get_args(hint)] if typing.get_origin(a) is typing.Literal]
    values = [v for lit in literals for v in typing.get_args(lit)]
    return (values, required) if values else None


def _union(members: tuple) -> Check:
    nullable = type(None) in members
    members = tuple(m for m in _flatten(members) if m is not type(None))
    for key in ("type", "role"):  # content blocks, tools, tool_choice, thinking by "type"; messages by "role"
        tagged = [_tags(m, key) for m in members]
        if len(members) > 1 and all(tagged):
            return _tagged_union(members, tagged, key, nullable)
    options = [checker(m) for m in members]
    kinds = [_kind_of(m) for m in members]

    def check(value, path):
        if value is None and nullable:
            return
        matching = [c for c, kind in zip(options, kinds, strict=True) if kind is None or isinstance(value, kind)]
        if not matching:
            wanted = sorted({_KINDS.get(k, "a valid value") for k in kinds if k is not None and k is not _Never})
            raise _fail(path, f"Input should be {' or '.join(wanted)}")
        _first_that_passes(matching, value, path)  # e.g. a known model name or any string; an input schema

    return check


def _tagged_union(members: tuple, tagged: list, key: str, nullable: bool) -> Check:
    by_tag: dict[str, list[Check]] = {}
    for m, (tags, _) in zip(members, tagged, strict=True):
        for tag in tags:
            by_tag.setdefault(tag, []).append(checker(m))  # a param type, then the response model it mirrors
    default = [checker(m) for m, (_, required) in zip(members, tagged, strict=True) if not required]
    expected = ", ".join(repr(t) for t in sorted(by_tag))
    listed = _listed(list(by_tag))

    def check(value, path):
        if value is None and nullable:
            return
        if not isinstance(value, dict):
            raise _fail(path, "Input should be a valid dictionary or object to extract fields from")
        tag = value.get(key)
        if tag is None and default:  # a tool without "type" is a custom tool
            return _first_that_passes(default, value, path)
        if key == "role":  # the real API names a message's role like any field
            if key not in value:
                raise _fail(_at(path, key), "Field required")
            if tag not in by_tag:
                raise _fail(_at(path, key), f"Input should be {listed}")
            return _first_that_passes(by_tag[tag], value, path)
        if tag is None:
            raise _fail(path, f"Unable to extract tag using discriminator '{key}'")
        if not isinstance(tag, str) or tag not in by_tag:
            raise _fail(
                path, f"Input tag {tag!r} found using '{key}' does not match any of the expected tags: {expected}"
            )
        _first_that_passes(by_tag[tag], value, _at(path, tag))

    return check


def _first_that_passes(options: list[Check], value, path: str) -> None:
    """Pass if any option accepts the value; otherwise raise the first option's complaint."""
    first: BadRequest | None = None
    for option in options:
        try:
            return option(value, path)
        except BadRequest as err:
            first = first or err
    if first is None:  # no option at all: a type the reader could not turn into checks, not a bad request
        raise ValueError(f"no type to check {path or 'the request'} against")
    raise first


class _Never:
    """The JSON kind of a type no JSON value has."""


def _never_on_the_wire(tp) -> bool:
    return tp in (bytes, typing.IO, os.PathLike) or typing.get_origin(tp) in (typing.IO, os.PathLike)


def _kind_of(tp) -> type | None:
    """The JSON kind a type accepts (dict, list, str, bool, int/float), or None for anything."""
    origin = typing.get_origin(tp)
    if _never_on_the_wire(tp):
        return _Never
    if origin in (te.Required, te.NotRequired, typing.Annotated):
        return _kind_of(typing.get_args(tp)[0])
    if (
        te.is_typeddict(tp)
        or isinstance(tp, type)
        and issubclass(tp, pydantic.BaseModel)
        or origin in (dict, Mapping)
        or tp is dict
    ):
        return dict
    if origin in (list, Iterable, Sequence) or getattr(tp, "__name__", "") == "SequenceNotStr":
        return list
    if origin is typing.Literal:
        return type(typing.get_args(tp)[0])
    if tp in (str, bool, int, float):
        return tp
    return None
