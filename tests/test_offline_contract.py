"""The local API's contract with clients nobody here wrote, over real HTTP: count_tokens, the models endpoints with
every ModelInfo field and paging, the per-model limits and their 400s, 404 for an unknown model, counted faults for
clients that send no retry header, refused fault and pace values, unique ids, output_tokens at a max_tokens stop,
rate-limit headers and the mid-stream error event's fields. Also: the helpers and lessons agree with the one table
of models and server tool versions (helpers/models.py)."""

from __future__ import annotations

import json
import re
from datetime import datetime

import anthropic
import httpx2
import pytest
from anthropic.types import ModelInfo
from anthropic.types.beta import BetaModelInfo

from helpers.demo_tool import WEATHER_TOOL
from helpers.models import DEFAULT_MODEL, MODELS, SERVER_TOOLS, SPECS, THINKING, catalogue, sdk_models, thinking_for
from helpers.offline import sse, start

from .conftest import MODEL, ROOT, http

HAIKU = [{"role": "user", "content": "Write a haiku about debugging."}]


def post(api, body: dict, headers: dict | None = None, path: str = "/v1/messages") -> httpx2.Response:
    return http.post(api.url + path, json=body, headers={"x-api-key": "k", **(headers or {})}, timeout=60)


# ---------------------------------------------------------------------------------------------------------------------
# count_tokens


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"system": "You are a pirate.", "tools": [WEATHER_TOOL]},
        {"messages": [{"role": "user", "content": "Tell me about owls " * 200}]},
    ],
)
def test_count_tokens_is_what_the_same_request_is_billed(client, extra):
    request = {"model": MODEL, "messages": HAIKU, **extra}
    counted = client.messages.count_tokens(**request)
    billed = client.messages.create(max_tokens=256, **request).usage
    assert counted.input_tokens == billed.input_tokens > 0


def test_count_tokens_refuses_what_the_api_refuses(client):
    with pytest.raises(anthropic.NotFoundError) as info:
        client.messages.count_tokens(model="claude-nonesuch-9", messages=HAIKU)
    assert info.value.body["error"] == {"type": "not_found_error", "message": "model: claude-nonesuch-9"}
    with pytest.raises(anthropic.BadRequestError, match="max_tokens: Extra inputs are not permitted"):
        client.messages.count_tokens(model=MODEL, messages=HAIKU, extra_body={"max_tokens": 5})


# ---------------------------------------------------------------------------------------------------------------------
# Models


def test_models_retrieve_has_every_model_info_field(client):
    info = client.models.retrieve(MODEL)
    raw = client.models.with_raw_response.retrieve(MODEL).http_response.json()
    every = set(ModelInfo.model_fields) | set(BetaModelInfo.model_fields)
    assert every <= set(raw), f"missing {every - set(raw)}"
    BetaModelInfo.model_validate(raw)
    assert info.id == MODEL and info.lifecycle == "active" and info.display_name == "Claude Sonnet 4.6"
    assert (info.max_tokens, info.max_input_tokens) == (SPECS[MODEL].max_tokens, SPECS[MODEL].context_window)
    assert info.capabilities.thinking.types.adaptive.supported and info.capabilities.structured_outputs.supported
    assert client.beta.models.retrieve("claude-opus-4-7").max_tokens == 128_000


def test_models_retrieve_unknown_is_the_apis_404(client):
    with pytest.raises(anthropic.NotFoundError) as info:
        client.models.retrieve("claude-nonesuch-9")
    assert info.value.body["type"] == "error"
    assert info.value.body["error"] == {"type": "not_found_error", "message": "model: claude-nonesuch-9"}


def test_models_list_pages_and_dates(client):
    first = client.models.list(limit=3)
    assert len(first.data) == 3 and first.has_more and first.last_id == first.data[-1].id
    every = list(client.models.list(limit=3))  # the SDK follows after_id while has_more
    assert [m.id for m in every] == catalogue() and len(every) == len(SPECS)
    dates = [m.created_at for m in every]
    names = {m.display_name for m in every}  # an alias and its dated id are one model
    assert dates == sorted(dates, reverse=True) and len(set(dates)) >= len(names) - 1  # Fable 5 and Mythos 5: one day
    assert DEFAULT_MODEL in {m.id for m in every}
    before = client.models.list(before_id=every[5].id, limit=2)
    assert [m.id for m in before.data] == [every[3].id, every[4].id] and before.has_more
    one = client.models.list(limit=1000)
    assert not one.has_more and len(one.data) == len(SPECS)
    deprecated = client.models.retrieve("claude-sonnet-4-5")
    assert deprecated.lifecycle == "deprecated" and deprecated.retires_at is not None


@pytest.mark.parametrize(("query", "says"), [("limit=0", "limit"), ("limit=1001", "limit"), ("after_id=x", "after_id")])
def test_models_list_refuses_bad_paging(api, query, says):
    response = httpx2.get(f"{api.url}/v1/models?{query}", timeout=30)
    assert response.status_code == 400 and says in response.json()["error"]["message"]


# ---------------------------------------------------------------------------------------------------------------------
# Per-model limits


def test_max_tokens_up_to_each_models_limit(client):
    with client.messages.stream(model="claude-opus-4-7", max_tokens=128_000, messages=HAIKU) as stream:
        assert stream.get_final_message().stop_reason == "end_turn"  # the SDK streams so large a max_tokens
    # Clients default max_tokens to the model's documented maximum: the course's default model takes it.
    with client.messages.stream(model=MODEL, max_tokens=SPECS[MODEL].max_tokens, messages=HAIKU) as stream:
        assert stream.get_final_message().stop_reason == "end_turn"
    with pytest.raises(anthropic.BadRequestError, match="64001 > 64000, which is the maximum allowed") as info:
        with client.messages.stream(model="claude-haiku-4-5", max_tokens=64_001, messages=HAIKU) as stream:
            stream.until_done()
    assert info.value.body["error"]["type"] == "invalid_request_error"


def test_a_prompt_over_the_window_is_the_apis_400(client):
    window = SPECS["claude-haiku-4-5"].context_window
    long = [{"role": "user", "content": "a " * window}]
    assert client.messages.count_tokens(model="claude-haiku-4-5", messages=long).input_tokens > window
    with pytest.raises(anthropic.BadRequestError, match=rf"prompt is too long: \d+ tokens > {window} maximum"):
        client.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=long)
    fits = [{"role": "user", "content": "a " * (window - 100)}]
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=64_000, messages=fits) as stream:
        cut = stream.get_final_message()
    assert cut.stop_reason == "model_context_window_exceeded"
    assert cut.usage.input_tokens + cut.usage.output_tokens == window


def test_an_unknown_model_is_the_apis_404(client):
    with pytest.raises(anthropic.NotFoundError) as info:
        client.messages.create(model="claude-nonesuch-9", max_tokens=64, messages=HAIKU)
    assert info.value.body["error"] == {"type": "not_found_error", "message": "model: claude-nonesuch-9"}


# ---------------------------------------------------------------------------------------------------------------------
# Faults any client can use


def test_a_counted_fault_counts_requests_of_a_client_without_a_retry_header():
    body = {"model": MODEL, "max_tokens": 64, "messages": HAIKU}
    fault = {"x-offline-fault": "http:429*2"}
    with start(pace="instant") as own:  # a server of its own: no other test's requests in the count
        statuses = [post(own, body, fault).status_code for _ in range(5)]
    assert statuses == [429, 429, 200, 429, 429]  # K failures, one success, and again


def test_a_counted_fault_still_clears_for_the_sdk(api):
    sdk = anthropic.Anthropic(base_url=api.url, api_key="k", max_retries=2)
    for _ in range(2):  # every call sees its own failure, then its retry succeeds (each retry waits retry-after)
        raw = sdk.messages.with_raw_response.create(
            model=MODEL, max_tokens=64, messages=HAIKU, extra_headers={"x-offline-fault": "http:529*1"}
        )
        assert raw.retries_taken == 1 and raw.parse().stop_reason == "end_turn"


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-offline-fault", "http:100"),
        ("x-offline-fault", "http:999"),
        ("x-offline-fault", "http:000"),
        ("x-offline-fault", "http:429*0"),
        ("x-offline-fault", "stall@0:inf"),
        ("x-offline-fault", "stall@0:nan"),
        ("x-offline-fault", "stall@0:100000"),
        ("x-offline-fault", "error@3:made_up_error"),
        ("x-offline-pace", "1e-9"),
        ("x-offline-pace", "nan"),
        ("x-offline-pace", "inf"),
        ("x-offline-pace", "-5"),
    ],
)
def test_values_the_grammar_cannot_honour_are_a_400_naming_it(api, header, value):
    response = post(api, {"model": MODEL, "max_tokens": 64, "messages": HAIKU, "stream": True}, {header: value})
    assert response.status_code == 400, response.text[:200]
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"].startswith(f"{header}: ")
    assert ("tokens per second" in error["message"]) if header == "x-offline-pace" else ("expected" in error["message"])


# ---------------------------------------------------------------------------------------------------------------------
# Fidelity


@pytest.mark.parametrize("max_tokens", [3, 7, 20])
def test_output_tokens_equal_max_tokens_at_a_max_tokens_stop(client, max_tokens):
    request = {
        "model": MODEL,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": "Write a long essay"}],
    }
    made = client.messages.create(**request)
    with client.messages.stream(**request) as stream:
        streamed = stream.get_final_message()
    for final in (made, streamed):
        assert final.stop_reason == "max_tokens" and final.usage.output_tokens == max_tokens
    forced = client.messages.create(
        **{**request, "max_tokens": 500}, extra_headers={"x-offline-fault": "stop:max_tokens@6"}
    )
    assert forced.stop_reason == "max_tokens" and forced.usage.output_tokens == 500


RATE = re.compile(r"anthropic-ratelimit-(requests|tokens|input-tokens|output-tokens)-(limit|remaining|reset)")


def rate_headers(headers) -> dict[str, str]:
    return {k: v for k, v in headers.items() if RATE.fullmatch(k)}


def test_rate_limit_headers_on_every_answer(client):
    raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=64, messages=HAIKU)
    with client.messages.with_streaming_response.create(
        model=MODEL, max_tokens=64, messages=HAIKU, stream=True
    ) as streamed:
        stream_headers = dict(streamed.headers)
    for headers in (raw.headers, stream_headers):
        found = rate_headers(headers)
        assert len(found) == 12, sorted(found)
        for kind in ("requests", "tokens", "input-tokens", "output-tokens"):
            limit, left = (
                int(found[f"anthropic-ratelimit-{kind}-limit"]),
                found[f"anthropic-ratelimit-{kind}-remaining"],
            )
            assert 0 <= int(left) <= limit
            datetime.strptime(found[f"anthropic-ratelimit-{kind}-reset"], "%Y-%m-%dT%H:%M:%SZ")
        assert int(found["anthropic-ratelimit-tokens-limit"]) == int(
            found["anthropic-ratelimit-input-tokens-limit"]
        ) + int(found["anthropic-ratelimit-output-tokens-limit"])


@pytest.mark.parametrize(("status", "error_type"), [(429, "rate_limit_error"), (529, "overloaded_error")])
def test_retry_after_on_429_and_529(api, status, error_type):
    response = post(api, {"model": MODEL, "max_tokens": 64, "messages": HAIKU}, {"x-offline-fault": f"http:{status}"})
    assert response.status_code == status and response.json()["error"]["type"] == error_type
    assert response.headers["retry-after"] == "1" and response.headers["x-should-retry"] == "true"
    if status == 429:
        assert rate_headers(response.headers)["anthropic-ratelimit-input-tokens-remaining"] == "0"


def test_the_mid_stream_error_event_has_the_apis_fields(api):
    with httpx2.Client(timeout=60) as http:
        response = http.post(
            api.url + "/v1/messages",
            json={"model": MODEL, "max_tokens": 64, "messages": HAIKU, "stream": True},
            headers={"x-offline-fault": "error@4:api_error"},
        )
    events = sse.split(response.content)
    assert events[-1].event == "error" and response.status_code == 200
    data = json.loads(events[-1].data)
    assert data == {
        "type": "error",
        "error": {"details": None, "type": "api_error", "message": "Internal server error"},
        "request_id": response.headers["request-id"],
    }
    sdk = anthropic.Anthropic(base_url=api.url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as info:
        with sdk.messages.stream(
            model=MODEL, max_tokens=64, messages=HAIKU, extra_headers={"x-offline-fault": "error@4"}
        ) as stream:
            stream.until_done()
    assert info.value.body["error"]["type"] == "overloaded_error" and info.value.body["request_id"].startswith("req_")


# ---------------------------------------------------------------------------------------------------------------------
# One table: helpers and lessons agree with helpers/models.py


def sources() -> dict[str, str]:
    """Every helper module and every lesson's code cells, by path."""
    found = {str(p.relative_to(ROOT)): p.read_text() for p in (ROOT / "helpers").rglob("*.py")}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        found[str(path.relative_to(ROOT))] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return found


def test_every_current_sdk_model_is_in_the_table():
    current = [m for m in sdk_models() if not re.search(r"-\d{8}$", m)]
    assert set(current) <= set(SPECS), f"add to helpers/models.py SPECS: {sorted(set(current) - set(SPECS))}"
    assert set(MODELS) <= set(SPECS) and DEFAULT_MODEL in MODELS


def test_helpers_and_lessons_use_the_tables_default_model_and_tool_versions():
    versions = {v for listed in SERVER_TOOLS.values() for v in listed}
    tool = re.compile(r"\b(?:" + "|".join(SERVER_TOOLS) + r")_\d{8}\b")
    default = re.compile(r"""\b(?:MODEL|DEFAULT_MODEL)\s*=\s*["']([^"']+)["']""")
    for path, text in sources().items():
        unknown = set(tool.findall(text)) - versions
        assert not unknown, f"{path} uses server tool versions missing from helpers/models.py: {sorted(unknown)}"
        for named in default.findall(text):
            assert named == DEFAULT_MODEL, (
                f"{path} sets its model to {named!r}, the table's default is {DEFAULT_MODEL!r}"
            )
        for model in set(re.findall(r"""["'](claude-[a-z0-9-]+)["']""", text)):
            assert model in SPECS, f"{path} names {model!r}, which helpers/models.py does not know"


def test_helpers_send_adaptive_thinking_and_take_tool_versions_from_the_table():
    """The legacy thinking form and every server tool version are written once, in helpers/models.py."""
    legacy = re.compile(r"""["']type["']\s*:\s*["']enabled["']\s*,\s*["']budget_tokens["']""")
    tool = re.compile(r"""["'](?:""" + "|".join(SERVER_TOOLS) + r""")_\d{8}["']""")  # as a value, not in prose
    for path in (ROOT / "helpers").rglob("*.py"):
        if path.name == "models.py":
            continue
        code = path.read_text()
        assert not legacy.search(code), f"{path.relative_to(ROOT)} sends legacy thinking: use helpers.models.THINKING"
        assert not tool.findall(code), (
            f"{path.relative_to(ROOT)} writes a tool version: use helpers.models.SERVER_TOOLS"
        )
    for path in (ROOT / "tests").rglob("*.py"):
        found = tool.findall(path.read_text())
        assert not found, f"{path.relative_to(ROOT)} writes tool versions {sorted(set(found))}: use SERVER_TOOLS"


@pytest.mark.parametrize(
    ("model", "thinking", "refused"),
    [
        ("claude-opus-4-7", {"type": "enabled", "budget_tokens": 1024}, "thinking.type.enabled"),
        ("claude-haiku-4-5", {"type": "adaptive"}, "thinking.type.adaptive"),
        ("claude-haiku-4-5", thinking_for("claude-haiku-4-5"), None),
        ("claude-opus-4-7", thinking_for("claude-opus-4-7"), None),
        (
            "claude-sonnet-4-6",
            {"type": "enabled", "budget_tokens": 1024},
            None,
        ),  # the legacy form, where still accepted
        (DEFAULT_MODEL, {"type": "enabled", "budget_tokens": 1024}, "thinking.type.enabled"),
        (DEFAULT_MODEL, THINKING, None),
    ],
)
def test_each_model_takes_the_thinking_forms_the_table_gives_it(client, model, thinking, refused):
    ask = [{"role": "user", "content": "What is 27 * 453?"}]
    if refused:
        with pytest.raises(anthropic.BadRequestError, match=refused):
            client.messages.create(model=model, max_tokens=2048, thinking=thinking, messages=ask)
        return
    with client.messages.stream(model=model, max_tokens=2048, thinking=thinking, messages=ask) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]


def test_the_course_thinks_adaptively_by_default():
    from helpers.exercises import lesson06
    from helpers.widgets import playground

    assert THINKING == {"type": "adaptive", "display": "summarized"} and lesson06.THINKING is THINKING
    assert playground.thinking_for(DEFAULT_MODEL) is THINKING
