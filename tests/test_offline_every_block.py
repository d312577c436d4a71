"""The rest of the SDK's stream: the code execution tool's shell and editor sessions, files uploaded to its container,
tool search over deferred tools, search results with citations, a failing server tool (the ``toolerror`` fault), and
a check, read from the SDK's own types, that the local API can produce every content block, delta, citation and
server tool error the SDK knows."""

from __future__ import annotations

import typing

import pytest
from anthropic.types import ContentBlock, RawContentBlockDelta, TextCitation

from helpers.models import SERVER_TOOLS
from helpers.offline import faults, sse
from helpers.offline.code_execution import BUGGY_LINE, FIXED_LINE
from helpers.offline.replies import REDACTED_TRIGGER
from helpers.offline.tool_errors import ERROR_CODES

from .conftest import MODEL
from .test_offline_api import check_grammar
from .test_offline_stream_types import raw_fault, raw_payloads, same_blocks, stream_all, user

CODE_EXECUTION = {"type": SERVER_TOOLS["code_execution"][1], "name": "code_execution"}
WEB_SEARCH = {"type": SERVER_TOOLS["web_search"][0], "name": "web_search"}
WEB_FETCH = {"type": SERVER_TOOLS["web_fetch"][-1], "name": "web_fetch", "citations": {"enabled": True}}
FILE_ID = "file_011CNha8iCJcU1wXNR6q4V8w"
CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
DEFERRED = [
    {"name": "get_weather", "description": "Current weather for a city", "input_schema": CITY, "defer_loading": True},
    {"name": "send_email", "description": "Send an email", "input_schema": {"type": "object"}, "defer_loading": True},
    {
        "name": "get_stock_price",
        "description": "A share price",
        "input_schema": {"type": "object"},
        "defer_loading": True,
    },
]
REGEX = {"type": SERVER_TOOLS["tool_search_tool_regex"][-1], "name": "tool_search_tool_regex"}
BM25 = {"type": SERVER_TOOLS["tool_search_tool_bm25"][-1], "name": "tool_search_tool_bm25"}


def search_result(title: str, text: str) -> dict:
    return {
        "type": "search_result",
        "source": f"https://wiki.example.com/{title.lower()}",
        "title": title,
        "content": [{"type": "text", "text": text}],
        "citations": {"enabled": True},
    }


# ---------------------------------------------------------------------------------------------------------------------
# Code execution: the shell and the file editor


def test_a_script_session_creates_runs_views_fixes_and_saves(api, client):
    messages = user("Write a script that computes 6 * 7 and save the output")
    events, final = stream_all(client, tools=[CODE_EXECUTION], messages=messages)
    same_blocks(final, raw_payloads(api, tools=[CODE_EXECUTION], messages=messages))
    results = [b for b in final.content if b.type.endswith("_tool_result")]
    assert [(b.type, b.content.type) for b in results] == [
        ("text_editor_code_execution_tool_result", "text_editor_code_execution_create_result"),
        ("bash_code_execution_tool_result", "bash_code_execution_result"),
        ("text_editor_code_execution_tool_result", "text_editor_code_execution_view_result"),
        ("text_editor_code_execution_tool_result", "text_editor_code_execution_str_replace_result"),
        ("bash_code_execution_tool_result", "bash_code_execution_result"),
    ]
    calls = [b for b in final.content if b.type == "server_tool_use"]
    assert all(r.tool_use_id == c.id for c, r in zip(calls, results, strict=True))  # each result answers its call
    created, failed, viewed, replaced, ran = (r.content for r in results)
    assert not created.is_file_update and calls[0].input["file_text"] == viewed.content  # it views what it wrote
    assert failed.return_code == 1 and "NameError" in failed.stderr and BUGGY_LINE in viewed.content
    assert replaced.lines == [f"-{BUGGY_LINE}", f"+{FIXED_LINE}"] and calls[3].input["new_str"] == FIXED_LINE
    assert ran.return_code == 0 and ran.stdout == "total: 42\n" and ran.content[0].file_id.startswith("file_01")
    assert final.container.id.startswith("container_01") and final.stop_reason == "end_turn"


def test_files_uploaded_to_the_container_come_back_as_container_upload_blocks(api, client):
    content = [{"type": "text", "text": "What is in this file?"}, {"type": "container_upload", "file_id": FILE_ID}]
    messages = [{"role": "user", "content": content}]
    _, final = stream_all(client, tools=[CODE_EXECUTION], messages=messages)
    payloads = raw_payloads(api, tools=[CODE_EXECUTION], messages=messages)
    same_blocks(final, payloads)
    assert final.content[0].type == "container_upload" and final.content[0].file_id == FILE_ID
    assert [p["type"] for p in payloads[1:3]] == ["content_block_start", "content_block_stop"]  # no deltas
    viewed = next(b for b in final.content if b.type == "server_tool_use")
    assert viewed.name == "text_editor_code_execution" and viewed.input["path"].endswith(FILE_ID)


def test_a_calculation_is_still_one_shell_command(client):
    _, final = stream_all(client, tools=[CODE_EXECUTION], messages=user("Run python to compute 27 * 453"))
    assert [b.type for b in final.content] == ["text", "server_tool_use", "bash_code_execution_tool_result", "text"]


# ---------------------------------------------------------------------------------------------------------------------
# Tool search


@pytest.mark.parametrize("searcher", [REGEX, BM25], ids=["regex", "bm25"])
def test_tool_search_finds_a_deferred_tool_then_calls_it(api, client, searcher):
    tools = [searcher, *DEFERRED]
    messages = user("What's the weather in Paris?")
    _, final = stream_all(client, tools=tools, messages=messages)
    same_blocks(final, raw_payloads(api, tools=tools, messages=messages))
    search, found, call = final.content[1:]
    assert search.type == "server_tool_use" and search.name == searcher["name"] and "weather" in search.input["query"]
    assert found.type == "tool_search_tool_result" and found.tool_use_id == search.id
    assert [r.tool_name for r in found.content.tool_references] == ["get_weather"]
    assert call.type == "tool_use" and call.name == "get_weather" and final.stop_reason == "tool_use"
    # the client runs the tool and sends the whole turn back, as with any tool
    answer = {"type": "tool_result", "tool_use_id": call.id, "content": '{"temperature": 24, "conditions": "sunny"}'}
    turn = [*messages, {"role": "assistant", "content": final.content}, {"role": "user", "content": [answer]}]
    _, done = stream_all(client, tools=tools, messages=turn)
    assert done.stop_reason == "end_turn" and "24" in done.content[0].text


def test_tool_search_with_no_match_answers_without_a_tool(client):
    _, final = stream_all(client, tools=[REGEX, *DEFERRED], messages=user("Compose a limerick about rivers"))
    assert final.content[2].content.tool_references == [] and final.stop_reason == "end_turn"


# ---------------------------------------------------------------------------------------------------------------------
# Search results: your own retrieval, cited


def test_search_results_are_cited_with_their_index(api, client):
    first, second = search_result("Bats", "Bats hunt at dusk."), search_result("Owls", "Owls hunt at night.")
    messages = [{"role": "user", "content": [first, second, {"type": "text", "text": "When do owls hunt?"}]}]
    events, final = stream_all(client, messages=messages)
    same_blocks(final, raw_payloads(api, messages=messages))
    (citation,) = [e.citation for e in events if e.type == "citation"]
    assert citation.type == "search_result_location" and citation.search_result_index == 1
    assert citation.cited_text == "Owls hunt at night." and citation.source == "https://wiki.example.com/owls"
    assert (citation.start_block_index, citation.end_block_index) == (0, 1) and citation.title == "Owls"


def test_search_results_returned_by_a_tool_are_cited(client):
    call = {"type": "tool_use", "id": "toolu_01A", "name": "search_docs", "input": {"query": "owls"}}
    result = {
        "type": "tool_result",
        "tool_use_id": "toolu_01A",
        "content": [search_result("Owls", "Owls fly silently.")],
    }
    messages = [
        *user("How do owls fly?"),
        {"role": "assistant", "content": [call]},
        {"role": "user", "content": [result]},
    ]
    tool = {"name": "search_docs", "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}}}
    events, _ = stream_all(client, tools=[tool], messages=messages)
    (citation,) = [e.citation for e in events if e.type == "citation"]
    assert citation.search_result_index == 0 and citation.cited_text == "Owls fly silently."


# ---------------------------------------------------------------------------------------------------------------------
# A server tool that fails


TOOL_REQUESTS = {  # a request that makes each *_tool_result block
    "web_search_tool_result": {"tools": [WEB_SEARCH], "messages": user("What is new in Python packaging?")},
    "web_fetch_tool_result": {"tools": [WEB_FETCH], "messages": user("Summarize https://example.com/sse")},
    "code_execution_tool_result": {
        "tools": [{"type": SERVER_TOOLS["code_execution"][0], "name": "code_execution"}],
        "messages": user("Run python to compute 3 * 4"),
    },
    "bash_code_execution_tool_result": {"tools": [CODE_EXECUTION], "messages": user("Run python to compute 3 * 4")},
    "text_editor_code_execution_tool_result": {"tools": [CODE_EXECUTION], "messages": user("Write a script for 3*4")},
    "tool_search_tool_result": {"tools": [REGEX, *DEFERRED], "messages": user("Weather in Oslo?")},
}


def test_every_server_tool_result_of_the_sdk_has_a_request_and_an_error_object():
    assert set(TOOL_REQUESTS) == set(ERROR_CODES)  # read from the SDK's ContentBlock union: a new one fails here


@pytest.mark.parametrize("kind", sorted(TOOL_REQUESTS))
def test_toolerror_fault_fails_the_first_server_tool(client, kind):
    error_type, codes, _ = ERROR_CODES[kind]
    code = codes[-1]
    headers = {"x-offline-fault": f"toolerror:{code}"}
    with client.messages.stream(model=MODEL, max_tokens=2048, **TOOL_REQUESTS[kind], extra_headers=headers) as s:
        final = s.get_final_message()
    failed = next(b for b in final.content if b.type.endswith("_tool_result"))
    assert failed.type == kind and failed.content.type == error_type and failed.content.error_code == code
    assert final.content[-1].type == "text" and code in final.content[-1].text and final.stop_reason == "end_turn"


def test_toolerror_fault_uses_unavailable_where_the_tool_has_no_such_code(api):
    body = raw_fault(api, "toolerror:url_not_accessible", TOOL_REQUESTS["web_search_tool_result"])
    assert b'"error_code":"unavailable"' in body.replace(b" ", b"")
    with pytest.raises(ValueError, match="expected one of .*url_not_accessible"):
        faults.parse("toolerror:on_fire")


# ---------------------------------------------------------------------------------------------------------------------
# Every type the SDK's stream can carry


def literal_types(union) -> set[str]:
    """The ``type`` values of a discriminated union of the SDK's models."""
    members = typing.get_args(typing.get_args(union)[0] if typing.get_origin(union) is typing.Annotated else union)
    return {typing.get_args(m.model_fields["type"].annotation)[0] for m in members}


def test_the_local_api_produces_every_block_delta_and_citation_the_sdk_knows(api):
    requests = [
        *TOOL_REQUESTS.values(),
        {"messages": user("Write a haiku")},
        {
            "tools": [CODE_EXECUTION],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "container_upload", "file_id": FILE_ID},
                        {"type": "text", "text": "Look at this"},
                    ],
                }
            ],
        },
        {"thinking": {"type": "enabled", "budget_tokens": 1024}, "messages": user("Why is the sky blue?")},
        {"thinking": {"type": "enabled", "budget_tokens": 1024}, "messages": user(REDACTED_TRIGGER)},
        {"tools": [{"name": "get_weather", "input_schema": CITY}], "messages": user("Weather in Rome?")},
        {
            "messages": [
                {
                    "role": "user",
                    "content": [search_result("Owls", "Owls hunt at night."), {"type": "text", "text": "Owls?"}],
                }
            ]
        },
        *[
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "document", "source": source, "citations": {"enabled": True}},
                            {"type": "text", "text": "What does it say?"},
                        ],
                    }
                ]
            }
            for source in (
                {"type": "text", "media_type": "text/plain", "data": "The grass is green."},
                {"type": "content", "content": [{"type": "text", "text": "Owls hunt at night."}]},
                {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQK"},
            )
        ],
    ]
    blocks, deltas, citations = set(), set(), set()
    for request in requests:
        for p in raw_payloads(api, **request):
            if p["type"] == "content_block_start":
                blocks.add(p["content_block"]["type"])
            elif p["type"] == "content_block_delta":
                deltas.add(p["delta"]["type"])
                if p["delta"]["type"] == "citations_delta":
                    citations.add(p["delta"]["citation"]["type"])
    assert literal_types(ContentBlock) - blocks == set()
    assert literal_types(RawContentBlockDelta) - deltas == set()
    assert literal_types(TextCitation) - citations == set()


# ---------------------------------------------------------------------------------------------------------------------
# Programmatic tool calling: tools called by code


@pytest.mark.parametrize("version", [SERVER_TOOLS["code_execution"][1], SERVER_TOOLS["code_execution"][-1]])
def test_code_calls_client_tools_then_finishes_when_their_results_come_back(api, client, version):
    weather = {"name": "get_weather", "input_schema": CITY, "allowed_callers": [version]}
    tools = [{"type": version, "name": "code_execution"}, weather]
    messages = user("Compare the weather in Paris, Oslo and Rome")
    _, first = stream_all(client, tools=tools, messages=messages)
    same_blocks(first, raw_payloads(api, tools=tools, messages=messages))
    code = next(b for b in first.content if b.type == "server_tool_use")
    calls = [b for b in first.content if b.type == "tool_use"]
    assert code.name == "code_execution" and "asyncio.gather" in code.input["code"] and first.stop_reason == "tool_use"
    assert [c.input["city"] for c in calls] == ["Paris", "Oslo", "Rome"]
    assert all(c.caller.type == version and c.caller.tool_id == code.id for c in calls)
    results = [{"type": "tool_result", "tool_use_id": c.id, "content": f"{20 + n} C"} for n, c in enumerate(calls)]
    turn = [*messages, {"role": "assistant", "content": first.content}, {"role": "user", "content": results}]
    _, done = stream_all(client, tools=tools, messages=turn, container=first.container.id)
    finished = done.content[0]
    assert finished.type == "code_execution_tool_result" and finished.tool_use_id == code.id  # the earlier call
    assert finished.content.stdout == "Paris 20 C\nOslo 21 C\nRome 22 C\n" and done.container.id == first.container.id
    assert done.stop_reason == "end_turn" and "3 times" in done.content[1].text


def test_a_web_search_called_from_code_comes_back_encrypted(client):
    search = {
        "type": SERVER_TOOLS["web_search"][-1],
        "name": "web_search",
        "allowed_callers": [SERVER_TOOLS["code_execution"][-1]],
    }
    tools = [{"type": SERVER_TOOLS["code_execution"][-1], "name": "code_execution"}, search]
    _, final = stream_all(client, tools=tools, messages=user("Search for Rust and Go news"))
    result = next(b for b in final.content if b.type == "code_execution_tool_result")
    assert result.content.type == "encrypted_code_execution_result" and result.content.encrypted_stdout


def result_content_types() -> set[str]:
    """Every ``type`` a server tool result's ``content`` (or an item of it) can have, read from the SDK's types."""
    found, pending = set(), []
    for block in typing.get_args(typing.get_args(ContentBlock)[0]):
        if typing.get_args(block.model_fields["type"].annotation)[0].endswith("_tool_result"):
            pending.append(block.model_fields["content"].annotation)
    while pending:
        item = pending.pop()
        if isinstance(item, type) and "type" in getattr(item, "model_fields", {}):
            found.add(typing.get_args(item.model_fields["type"].annotation)[0])
        else:
            pending += [a for a in typing.get_args(item) if not isinstance(a, str)]
    return found


def test_the_local_api_produces_every_server_tool_result_content_the_sdk_knows(api):
    search = {
        "type": SERVER_TOOLS["web_search"][-1],
        "name": "web_search",
        "allowed_callers": [SERVER_TOOLS["code_execution"][-1]],
    }
    requests = [
        *TOOL_REQUESTS.values(),
        {
            "tools": [{"type": SERVER_TOOLS["code_execution"][-1], "name": "code_execution"}, search],
            "messages": user("Go?"),
        },
    ]
    seen = set()
    for request in requests:
        for fault in ("", "toolerror"):
            body = raw_fault(api, fault, request) if fault else None
            payloads = raw_payloads(api, **request) if body is None else check_grammar(sse.split(body))
            for p in payloads:
                block = p.get("content_block") or {}
                if p["type"] == "content_block_start" and block["type"].endswith("_tool_result"):
                    content = block["content"]
                    seen |= {c["type"] for c in content} if isinstance(content, list) else {content["type"]}
    assert result_content_types() - seen == set()
