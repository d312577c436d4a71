"""Code execution: what the local API answers when a request carries the code execution tool.

The code runs "in a sandbox on the server" (here: nowhere; the results are scripted and deterministic). Which blocks
come back depends on the tool's version, as with the real API:

- ``code_execution_20250522``: one ``code_execution`` call and its ``code_execution_tool_result``.
- Later versions (``code_execution_20250825`` on): the model has a shell and a file editor. A calculation is one
  ``bash_code_execution`` call; a prompt about a *script* or *file* is a short working session: the editor creates
  the file (``text_editor_code_execution_create_result``), bash runs it and it fails, the editor views it
  (``..._view_result``) and fixes it (``..._str_replace_result``), bash runs it again and it saves an output file
  (``bash_code_execution_output`` with a file id to download with the Files API).
- Programmatic tool calling: tools whose ``allowed_callers`` name the code execution tool's version are called by
  the code, not by the model: a ``code_execution`` call, then one ``tool_use`` per call with ``caller`` naming that
  code (``stop_reason: "tool_use"``). The client runs them and sends the results back with the ``container`` id; the
  code's ``code_execution_tool_result`` then answers the call of the earlier turn. A web search called from the code
  comes back encrypted (``encrypted_code_execution_result``): only the model reads it.
- A request whose last user message uploads files (``container_upload`` blocks with Files API ids) gets one
  ``container_upload`` block per file at the start of the answer (the SDK's response types include the block; it
  has no deltas), then the editor views the uploaded file.
"""

from __future__ import annotations

import re

from helpers.models import SERVER_TOOLS

from .model import Block, Reply, Turn
from .read import fingerprint, make_id, opaque, placeholder_input, server_tool, text_of

SCRIPT = re.compile(r"\b(script|file|save|write|fix|edit)\b", re.I)
CALCULATION = re.compile(r"(\d+)\s*(?:\*|×|x|times)\s*(\d+)")
UPLOADS = "/mnt/user-uploads"  # where uploaded files appear in the container (the SDK calls it the input directory)
BUGGY = "total = {expr}\nprint('total:', totl)\n"
BUGGY_LINE, FIXED_LINE = "print('total:', totl)", "print('total:', total)"


def calculation(prompt: str) -> tuple[str, str]:
    """The expression a prompt asks for and its value (a fixed sum when it names none)."""
    m = CALCULATION.search(prompt)
    return (f"{m[1]} * {m[2]}", str(int(m[1]) * int(m[2]))) if m else ("sum(range(1, 101))", "5050")


def _bash(command: str, stdout: str = "", stderr: str = "", code: int = 0, files: tuple[str, ...] = ()) -> list[Block]:
    result = {
        "type": "bash_code_execution_result",
        "stdout": stdout,
        "stderr": stderr,
        "return_code": code,
        "content": [{"type": "bash_code_execution_output", "file_id": f} for f in files],
    }
    return [
        Block("server_tool_use", name="bash_code_execution", input={"command": command}),
        Block("bash_code_execution_tool_result", content=result),
    ]


def _editor(command: dict, result: dict) -> list[Block]:
    return [
        Block("server_tool_use", name="text_editor_code_execution", input=command),
        Block("text_editor_code_execution_tool_result", content=result),
    ]


def uploads(request: dict) -> list[str]:
    """The Files API ids the last user message uploads into the container (its ``container_upload`` blocks)."""
    last = request["messages"][-1]
    content = last.get("content") if last.get("role") == "user" else None
    if not isinstance(content, list):
        return []
    return [str(b.get("file_id")) for b in content if isinstance(b, dict) and b.get("type") == "container_upload"]


def session(prompt: str, seed: str) -> list[Block]:
    """Create a script, run it (a NameError), view it, fix it, run it again: every editor result and a saved file."""
    expr, value = calculation(prompt)
    path = "outputs/total.py"
    source = BUGGY.format(expr=expr)
    traceback = (
        f'Traceback (most recent call last):\n  File "{path}", line 2, in <module>\n    {BUGGY_LINE}\n'
        "NameError: name 'totl' is not defined. Did you mean: 'total'?\n"
    )
    view = {
        "type": "text_editor_code_execution_view_result",
        "content": source,
        "file_type": "text",
        "num_lines": 2,
        "start_line": 1,
        "total_lines": 2,
    }
    replace = {
        "type": "text_editor_code_execution_str_replace_result",
        "old_start": 2,
        "old_lines": 1,
        "new_start": 2,
        "new_lines": 1,
        "lines": [f"-{BUGGY_LINE}", f"+{FIXED_LINE}"],
    }
    saved = make_id("file_", seed, "total.txt")
    return [
        Block("text", "I'll write a small script, run it and save what it prints."),
        *_editor(
            {"command": "create", "path": path, "file_text": source},
            {"type": "text_editor_code_execution_create_result", "is_file_update": False},
        ),
        *_bash(f"python3 {path}", stderr=traceback, code=1),
        Block("text", "It failed; let me look at the file."),
        *_editor({"command": "view", "path": path}, view),
        *_editor({"command": "str_replace", "path": path, "old_str": BUGGY_LINE, "new_str": FIXED_LINE}, replace),
        *_bash(f"python3 {path} | tee outputs/total.txt", stdout=f"total: {value}\n", files=(saved,)),
        Block("text", f"Fixed a typo (`totl`). The script prints **total: {value}**; the output is saved as a file."),
    ]


def uploaded(file_ids: list[str]) -> list[Block]:
    """The answer to a request that uploads files: their container_upload blocks, then a look at the first one."""
    first = f"{UPLOADS}/{file_ids[0]}"
    view = {
        "type": "text_editor_code_execution_view_result",
        "content": "city,temperature\nLisbon,21\nOslo,7\n",
        "file_type": "text",
        "num_lines": 3,
        "start_line": 1,
        "total_lines": 3,
    }
    return [
        *(Block("container_upload", content=f) for f in file_ids),
        Block("text", "Let me look at the file you uploaded."),
        *_editor({"command": "view", "path": first}, view),
        *_bash(f"wc -l {first}", stdout=f"3 {first}\n"),
        Block("text", "It is a small CSV: a header and two rows (Lisbon 21, Oslo 7)."),
    ]


def callable_from_code(request: dict, version: str) -> list[dict]:
    """The request's tools that the code of code execution ``version`` may call (their ``allowed_callers``)."""
    tools = [t for t in request.get("tools") or [] if isinstance(t, dict) and t.get("name")]
    return [t for t in tools if version in (t.get("allowed_callers") or [])]


def programmatic(request: dict, prompt: str, version: str) -> Reply | None:
    """Code that calls the tools it may call: client tools come back as ``tool_use`` blocks with a ``caller`` (the
    turn stops for the client to run them); a web search runs on the server and its result is encrypted."""
    callable_tools = callable_from_code(request, version)
    if not callable_tools:
        return None
    searcher = next((t for t in callable_tools if str(t.get("type", "")).startswith("web_search_")), None)
    items = re.findall(r"\b[A-Z][a-z]{2,}\b", prompt)[1:4] or ["Paris", "Oslo"]  # what to loop over
    if searcher:
        code = f"for topic in {items!r}:\n    results = await web_search(query=topic)\n    print(topic, len(results))"
        result = {
            "type": "encrypted_code_execution_result",
            "encrypted_stdout": opaque("stdout", code, size=2),
            "stderr": "",
            "return_code": 0,
            "content": [],
        }
        return Reply(
            [
                Block("text", "I'll search from code, so only the totals come back to me."),
                Block("server_tool_use", name="code_execution", input={"code": code}),
                Block("code_execution_tool_result", content=result),
                Block("text", f"I searched for {', '.join(items)} from code; each search found results."),
            ]
        )
    tool = next((t for t in callable_tools if t.get("type") in (None, "custom")), None)  # the client runs it
    if tool is None:
        return None
    argument = next(iter((tool.get("input_schema") or {}).get("properties") or {"query": 0}))
    code = (
        f"import asyncio\n\nitems = {items!r}\n"
        f"results = await asyncio.gather(*({tool['name']}({argument}=item) for item in items))\n"
        "for item, result in zip(items, results):\n    print(item, result)"
    )
    calls = [
        Block(
            "tool_use",
            name=tool["name"],
            input=placeholder_input(tool.get("input_schema") or {}, f"in {item}"),
            caller=version,
        )
        for item in items
    ]
    lead = Block("text", f"I'll write code that calls {tool['name']} for each of them at once.")
    return Reply([lead, Block("server_tool_use", name="code_execution", input={"code": code}), *calls], "tool_use")


def after_tool_calls(turn: Turn) -> Reply | None:
    """The rest of a turn whose code called client tools: the last message holds their results. The code finishes
    (its ``code_execution_tool_result`` answers the server_tool_use of the earlier turn), then the model answers."""
    messages = turn.request["messages"]
    if not turn.results:
        return None
    if len(messages) < 2 or messages[-2].get("role") != "assistant" or not isinstance(messages[-2]["content"], list):
        return None
    earlier = [b for b in messages[-2]["content"] if isinstance(b, dict)]
    code_calls = [b for b in earlier if b.get("type") == "tool_use" and (b.get("caller") or {}).get("tool_id")]
    if not code_calls:
        return None
    results = [b for b in messages[-1]["content"] if isinstance(b, dict) and b.get("type") == "tool_result"]
    asked = {b.get("id"): next(iter((b.get("input") or {"": "?"}).values()), "?") for b in code_calls}
    lines = [
        f"{asked.get(r.get('tool_use_id'), '?')} {text_of(r.get('content') or '')}".replace("\n", " ") for r in results
    ]
    result = {
        "type": "code_execution_result",
        "stdout": "".join(f"{x}\n" for x in lines),
        "stderr": "",
        "return_code": 0,
    }
    return Reply(
        [
            Block(
                "code_execution_tool_result",
                content={**result, "content": []},
                answers=code_calls[0]["caller"]["tool_id"],
            ),
            Block("text", f"The code called {code_calls[0]['name']} {len(results)} times and printed one line each."),
        ]
    )


def answer(turn: Turn) -> Reply | None:
    """The reply to a request with the code execution tool, or None when the prompt does not ask to run anything."""
    request, prompt = turn.request, turn.prompt
    tool = server_tool(request, "code_execution_")
    if tool is None:
        return None
    if files := uploads(request):
        return Reply(uploaded(files))
    if tool.get("type") != SERVER_TOOLS["code_execution"][0] and (
        called := programmatic(request, prompt, tool["type"])
    ):
        return called
    if not re.search(r"\b(run|execute|code|python|calculate|compute)\b|\d\s*[*×]\s*\d", prompt, re.I) and not (
        SCRIPT.search(prompt)
    ):
        return None
    expr, value = calculation(prompt)
    code = f"print({expr})"
    lead = Block("text", "I'll run that in the sandbox.")
    done = Block("text", f"The code printed **{value}**.")
    if tool.get("type") == SERVER_TOOLS["code_execution"][0]:
        call = Block("server_tool_use", name="code_execution", input={"code": code})
        result = {"type": "code_execution_result", "stdout": value + "\n", "stderr": "", "return_code": 0}
        return Reply([lead, call, Block("code_execution_tool_result", content={**result, "content": []}), done])
    if SCRIPT.search(prompt):
        return Reply(session(prompt, fingerprint(request)))
    return Reply([lead, *_bash(f"python3 -c '{code}'", stdout=value + "\n"), done])
