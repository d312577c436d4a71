"""Crafted streams against every view, in real JupyterLab and chromium: nothing a stream carries runs or renders as markup.

A stream is untrusted: the model's answer can carry a prompt injection, and a proxy or server can put anything in a
tool name, a stop reason or an error message. JupyterLab renders output made in the live session, and a notebook its
own user saved, as *trusted* HTML, so one raw ``<img onerror>`` would run with the page's access to the Jupyter API.

The local API replays two crafted bodies (``--replay``): one with HTML and script in the model name, the message id,
thinking, text, a tool's name, id and input, and the stop reason; one that ends in an ``error`` event whose type and
message carry the same. Every view (TextView, EventView, ToolInputView, ThinkingView, Timeline, SideBySide,
Playground) shows them; the notebook is saved and reopened; after each load the test checks that no script ran, that
no payload fetched the canary server, that no raw element or attribute reached any output, and that the payloads are
there as visible text.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
import time

import nbformat
import pytest

from helpers.offline import start
from helpers.offline.sse import encode

from ..conftest import MODEL
from .lab import JupyterLab, chromium

pytestmark = pytest.mark.browser

PWNED = "window.top.__pwned = (window.top.__pwned || []).concat"
# A block and an event type that would take JupyterLab's own dialog class (a fixed box over the notebook) if a view
# made a class name of it, and a quote that would end an attribute.
CRAFTED_TYPE = 'crafted jp-Dialog cw-banner" style="position:fixed'


def payloads(canary: str) -> list[str]:
    """One of each kind of markup that ran before the static renderings were escaped (the issue's list and more)."""
    return [
        f'<img src="{canary}/img" onerror="{PWNED}([\'img\'])">',
        f"<script>{PWNED}(['script']); fetch('{canary}/script')</script>",
        f"<svg><animate onbegin=\"{PWNED}(['svg'])\" attributeName=x dur=1s></animate></svg>",
        f"<iframe srcdoc=\"<img src='{canary}/iframe'>\"></iframe>",
        f"[a link](javascript:{PWNED}(['link'])) ![leak]({canary}/markdown-image)",
        f'`code span` ``</code><img src="{canary}/codespan" onerror="{PWNED}([\'codespan\'])">``',
        f'\n```\n</pre><img src="{canary}/fence" onerror="{PWNED}([\'fence\'])">\n```\n',
        # schemes markdown-it decodes (entities, autolinks, references) or browsers run (vbscript:, data:), a title
        # that would end its attribute, an image inside a link, raw HTML in a table cell
        f"[entity](&#x6A;avascript:{PWNED}(['entity'])) <javascript:{PWNED}(['autolink'])> [vb](vbscript:msgbox(1))",
        f"[ref][r] [data](data:text/html,<script>{PWNED}(['data'])</script>)\n\n[r]: javascript:{PWNED}(['ref'])\n",
        f'[title]({canary}/t "x\\" onmouseover=\\"{PWNED}([\'title\'])") [![nested]({canary}/nested)]({canary}/outer)',
        f'\n| a |\n|---|\n| <img src="{canary}/table" onerror="{PWNED}([\'table\'])"> |\n',
    ]


def sse(name: str, data: dict) -> str:
    return encode(name, data).decode()


def crafted_body(canary: str, *, error: bool) -> bytes:
    """A stream in the real wire shape whose every text field carries markup."""
    evil = payloads(canary)
    tag = f'<img src="{canary}/field" onerror="{PWNED}([\'field\'])">'
    events = [
        sse(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": f"msg_{tag}",
                    "type": "message",
                    "role": "assistant",
                    "model": f"claude{tag}",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 12, "output_tokens": 1},
                },
            },
        ),
        sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "thinking", "thinking": "", "signature": ""},
            },
        ),  # fmt: skip
        sse(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "".join(evil)}},
        ),  # fmt: skip
        sse(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "signature_delta", "signature": "c2lnbmF0dXJl"},
            },
        ),  # fmt: skip
        sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse(
            "content_block_start",
            {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        ),  # fmt: skip
    ]
    events += [
        sse(
            "content_block_delta",
            {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": f"{p}\n\n"}},
        )  # fmt: skip
        for p in evil
    ]
    if error:
        events.append(sse("error", {"type": "error", "error": {"type": f"overloaded_error{tag}", "message": f"Overloaded {tag}"}}))  # fmt: skip
        return "".join(events).encode()
    tool_input = json.dumps({"location": evil[0], tag: evil[1]})
    server = server_blocks(3, evil, tag)
    crafted = 3 + len(server) // 2  # each server block is a start and a stop
    events += [
        sse("content_block_stop", {"type": "content_block_stop", "index": 1}),
        sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 2,
                "content_block": {"type": "tool_use", "id": f"toolu_{tag}", "name": f"get`_{tag}", "input": {}},
            },
        ),  # fmt: skip
        *(
            sse(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 2,
                    "delta": {"type": "input_json_delta", "partial_json": tool_input[i : i + 40]},
                },
            )  # fmt: skip
            for i in range(0, len(tool_input), 40)
        ),
        sse("content_block_stop", {"type": "content_block_stop", "index": 2}),
        *server,
        sse(
            "content_block_start",
            {"type": "content_block_start", "index": crafted, "content_block": {"type": CRAFTED_TYPE}},
        ),  # fmt: skip
        sse("content_block_stop", {"type": "content_block_stop", "index": crafted}),
        sse(CRAFTED_TYPE, {"type": CRAFTED_TYPE, "index": crafted}),
        sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": f"end_turn{tag}", "stop_sequence": None},
                "usage": {"output_tokens": 99},
            },
        ),  # fmt: skip
        sse("message_stop", {"type": "message_stop"}),
    ]
    return "".join(events).encode()


def server_blocks(first: int, evil: list[str], tag: str) -> list[str]:
    """Server tool results whose every text field carries markup: a file the editor viewed, a command's output, a
    tool search's references, an error message, an uploaded file's id."""
    results = [
        {"type": "text_editor_code_execution_view_result", "content": "\n".join(evil), "file_type": "text"},
        {"type": "bash_code_execution_result", "stdout": evil[1], "stderr": evil[2], "return_code": 1,
         "content": [{"type": "bash_code_execution_output", "file_id": f"file_{tag}"}]},
        {"type": "text_editor_code_execution_str_replace_result", "lines": [f"-{evil[3]}", f"+{evil[5]}"]},
        {"type": "tool_search_tool_search_result", "tool_references": [{"type": "tool_reference", "tool_name": tag}]},
        {"type": "tool_search_tool_result_error", "error_code": "unavailable", "error_message": evil[0]},
    ]  # fmt: skip
    kinds = [
        "text_editor_code_execution",
        "bash_code_execution",
        "text_editor_code_execution",
        "tool_search",
        "tool_search",
    ]
    out, index = [], first
    for kind, result in zip(kinds, results, strict=True):
        name = "tool_search_tool_regex" if kind == "tool_search" else kind
        call = {"type": "server_tool_use", "id": f"srvtoolu_{index}", "name": name, "input": {"command": evil[4]}}
        block = {"type": f"{kind}_tool_result", "tool_use_id": f"srvtoolu_{index}", "content": result}
        for content_block in (call, block):
            out.append(sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": content_block}))  # fmt: skip
            out.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
            index += 1
    upload = {"type": "container_upload", "file_id": f"file_{tag}"}
    out.append(sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": upload}))
    out.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    return out


CELLS = [
    """import os

import anthropic

from helpers.widgets import EventView, Playground, SideBySide, TextView, ThinkingView, Timeline, ToolInputView

good, bad = os.environ["XSS_API"], os.environ["XSS_ERROR_API"]
sync, broken = (anthropic.Anthropic(base_url=u, api_key="test-key", max_retries=0) for u in (good, bad))
aio, abroken = (anthropic.AsyncAnthropic(base_url=u, api_key="test-key", max_retries=0) for u in (good, bad))
ask = {"model": "MODEL", "max_tokens": 1024, "messages": [{"role": "user", "content": "Summarize this page."}]}""",
    'message = TextView(title="text").watch(sync.messages.stream(**ask))',
    'message = EventView(title="events").watch(sync.messages.stream(**ask))',
    'message = ToolInputView(title="tool").watch(sync.messages.stream(**ask))',
    'message = ThinkingView(title="thinking").watch(sync.messages.stream(**ask))',
    'message = Timeline(title="timeline").watch(sync.messages.stream(**ask))',
    """side = SideBySide(["answer", "failing <b>pane</b>"])
try:
    await side.arun([aio.messages.stream(**ask), abroken.messages.stream(**ask)])
except anthropic.APIStatusError as exc:
    print("raised", type(exc).__name__)""",
    """for view in (TextView(title="text error"), EventView(title="events error")):
    try:
        view.watch(broken.messages.stream(**ask))
    except anthropic.APIStatusError as exc:
        print("raised", type(exc).__name__)""",
    """playground = Playground(aio)
await playground.send("Summarize this page.")
failing = Playground(abroken)
await failing.send("Summarize this page.")""",
]

# Everything in an output area that could run script or load a URL by itself: raw elements, event attributes,
# links with other schemes. The timeline's SVG output is JupyterLab's own <img> of our numbers-only drawing.
SCAN = """() => {
  const found = [];
  for (const el of document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output *')) {
    const tag = el.tagName.toLowerCase();
    const svgOutput = el.closest('[data-mime-type="image/svg+xml"]') || el.closest('.cw-svg');
    if (['script', 'iframe', 'object', 'embed', 'animate', 'set', 'style', 'link', 'meta', 'form'].includes(tag))
      found.push('<' + tag + '>');
    if (tag === 'img' && !svgOutput) found.push('<img src=' + el.getAttribute('src') + '>');
    for (const attr of el.attributes)
      if (/^on/i.test(attr.name) || attr.name === 'srcdoc') found.push(tag + '[' + attr.name + ']');
    if (tag === 'a' && el.hasAttribute('href') && !/^(https?:|mailto:|#)/i.test(el.getAttribute('href')))
      found.push('a[href=' + el.getAttribute('href') + ']');
  }
  return found;
}"""


# Elements of the views whose class or style a stream chose (the crafted type's words), or that float over the page.
SHAPED = """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output *')]
  .filter((el) => /crafted|jp-Dialog/.test(el.getAttribute('class') || '') || el.hasAttribute('style') &&
    /fixed/.test(el.getAttribute('style')) || getComputedStyle(el).position === 'fixed')
  .map((el) => el.tagName + '.' + el.getAttribute('class'))"""


class Canary(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (the http.server API)
        Canary.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def canary():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Canary)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def build_notebook(root, canary: str) -> str:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(c.replace('"MODEL"', repr(MODEL))) for c in CELLS]
    nbformat.write(notebook, root / "crafted.ipynb")
    return "crafted.ipynb"


def check_inert(notebook, when: str) -> None:
    page = notebook.page
    time.sleep(1.5)  # let any injected image or script load and run
    assert page.evaluate("() => window.top.__pwned || null") is None, f"{when}: a payload ran"
    assert Canary.hits == [], f"{when}: a payload loaded {Canary.hits}"
    assert page.evaluate(SCAN) == [], f"{when}: raw markup reached an output"
    shaped = page.evaluate(SHAPED)
    assert shaped == [], f"{when}: a type from the stream became a class or a style: {shaped}"


def test_crafted_streams_never_run_or_render_in_any_view(tmp_path, canary):
    replays = {}
    for name, error in (("ok", False), ("error", True)):
        path = tmp_path / f"crafted-{name}.sse"
        path.write_bytes(crafted_body(canary, error=error))
        replays[name] = path
    root = tmp_path / "lab"
    root.mkdir()
    name = build_notebook(root, canary)
    with (
        start(pace="instant", replay=replays["ok"]) as good,
        start(pace="instant", replay=replays["error"]) as bad,
        chromium() as browser,
        JupyterLab(root, env={"XSS_API": good.url, "XSS_ERROR_API": bad.url}, name="xss-lab") as lab,
    ):
        notebook = lab.open(browser, name)
        notebook.run_all()
        notebook.wait_until_idle(timeout=120)
        notebook.screenshot("xss-live")
        page = notebook.page
        assert notebook.error_outputs() == [], notebook.error_outputs()
        assert len(notebook.prompts()) == len(CELLS)
        for title in ("text", "events", "tool", "thinking", "timeline", "text error", "events error"):
            assert page.locator(f'.cw[data-title="{title}"]').count() == 1, title
        check_inert(notebook, "live session")

        # the payloads are there, as text: in the static renderings, the live views and the playground's status
        outputs = " ".join(page.locator(".jp-NotebookPanel .jp-OutputArea-output").all_text_contents())
        for snippet in ("<script>", "onerror=", "<iframe srcdoc=", "javascript:", f'get`_<img src="{canary}/field"'):
            assert snippet in outputs, snippet
        # ... and the server tools' results: a file viewed, a command's output, an edit, a tool found, an error
        for snippet in ("viewed text file", "stderr: <svg>", "-<iframe", f'found tool <img src="{canary}/field"'):
            assert snippet in outputs, snippet
        assert f'error: unavailable (<img src="{canary}/img"' in outputs and "file_<img src=" in outputs
        assert "[r]: javascript:" in outputs and "<javascript:" in outputs  # schemes other than http(s) stay text
        # the crafted block and event types are there as text: in the live views and in the static renderings
        live = " ".join(page.locator(".cw").all_text_contents())
        assert f"{CRAFTED_TYPE} block" in live and f"{CRAFTED_TYPE} 1" in live, live[-800:]
        assert f"({CRAFTED_TYPE} block)" in outputs
        static = page.locator('.jp-OutputArea-output[data-mime-type="text/html"]').all_text_contents()
        assert len(static) >= 7 and all("<img" in s for s in static)  # every static rendering shows the markup as text
        # each live view ends with its answer's markdown rendered, copied from the sanitized static rendering
        page.wait_for_function("() => document.querySelectorAll('.cw .cw-md').length >= 5", timeout=15_000)
        assert "<script>" in page.locator('.cw[data-title="text"] .cw-md').first.text_content()
        status = page.locator(".cw-playground .cw-pg-status").all_text_contents()
        assert any("end_turn<img" in s for s in status) and any("Overloaded <img" in s for s in status), status

        # a notebook its own user saved is trusted when reopened: the same outputs must stay inert
        notebook.save()
        notebook.reload()
        page.locator('.jp-OutputArea-output[data-mime-type="text/html"]').first.wait_for(
            state="attached", timeout=60_000
        )
        notebook.wait_until_idle(timeout=60)
        notebook.screenshot("xss-reopened")
        check_inert(notebook, "reopened notebook")
        assert "<script>" in " ".join(page.locator(".jp-NotebookPanel .jp-OutputArea-output").all_text_contents())
    saved = nbformat.read(root / name, as_version=4)
    html = [o["data"]["text/html"] for c in saved.cells for o in c.outputs if "text/html" in o.get("data", {})]
    assert len(html) >= 7 and not any("<script" in h or "<img" in h or "<iframe" in h for h in html)


# ---------------------------------------------------------------------------------------------------------------------
# Round three's fresh vectors: citations (links to other schemes, markup in titles, a cited text that is an object),
# bidi overrides and invisible characters, a huge delta, prototype names as block, event and key names, CSS and
# attribute breakers in tool names and ids, and numbers no JSON number holds.

BIDI = "\u202egnp.exe\u202c \u2066x\u2069 zero\u200bwidth tag\U000e0041 line\u2028separator nul\u0000"
PROTO = ["__proto__", "constructor", "toString", "hasOwnProperty"]


def fresh_body(canary: str) -> bytes:
    tag = f'<img src="{canary}/fresh" onerror="{PWNED}([\'fresh\'])">'
    style = "</style><style>*{display:none!important}</style>"
    quote = f'"><img src="{canary}/attr" onerror="{PWNED}([\'attr\'])">'
    cites = [
        {"type": "web_search_result_location", "url": f"javascript:{PWNED}(['cite'])", "title": tag,
         "encrypted_index": "x", "cited_text": tag},
        {"type": "web_search_result_location", "url": f"data:text/html,<script>{PWNED}(['data'])</script>",
         "title": style, "encrypted_index": "x", "cited_text": {"nested": {"citation": tag}}},
        {"type": "char_location", "document_title": quote, "cited_text": BIDI, "document_index": 2**60,
         "start_char_index": -1, "end_char_index": 1e308},
    ]  # fmt: skip
    text = [f"{BIDI} {tag}\n\n", "x" * 200_000, f"\n\n[link]({canary}/plain) <{canary}/autolink>"]
    tool_input = json.dumps({key: tag for key in PROTO} | {"n": 10**40, "deep": [[[[{"__proto__": quote}]]]]})
    blocks = [
        ("text", {"type": "text", "text": "", "citations": []}),
        ("tool_use", {"type": "tool_use", "id": quote, "name": style + BIDI, "input": {}}),
        ("web_search", {"type": "web_search_tool_result", "tool_use_id": quote,
                        "content": [{"type": "web_search_result", "title": tag, "url": f"javascript:{PWNED}(['r'])",
                                     "encrypted_content": "x", "page_age": style}]}),
        *((p, {"type": p}) for p in PROTO),
    ]  # fmt: skip
    message = {"id": "__proto__", "type": "message", "role": "assistant", "model": f"claude{BIDI}{style}",
               "content": [], "stop_reason": None, "stop_sequence": None,
               "usage": {"input_tokens": 10**40, "output_tokens": 2**64}}  # fmt: skip
    events = [sse("message_start", {"type": "message_start", "message": message})]
    for index, (kind, block) in enumerate(blocks):
        events.append(
            sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})
        )
        if kind == "text":
            for piece in text:
                delta = {"type": "text_delta", "text": piece}
                events.append(
                    sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
                )
            for cite in cites:
                delta = {"type": "citations_delta", "citation": cite}
                events.append(
                    sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
                )
        if kind == "tool_use":
            delta = {"type": "input_json_delta", "partial_json": tool_input}
            events.append(sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
        events.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    events += [sse(p, {"type": p, "index": 0}) for p in [*PROTO, "gnp\u202e.exe"]]
    usage = {"output_tokens": 1e308, "input_tokens": -(10**40)}  # (a float in message_start: the SDK itself warns)
    events.append(
        sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "__proto__"}, "usage": usage})
    )
    events.append(sse("message_stop", {"type": "message_stop"}))
    return "".join(events).encode()


def fresh_error_body() -> bytes:
    start_event = json.loads(fresh_body("http://127.0.0.1:9").split(b"\n\n")[0].split(b"data: ", 1)[1])
    error = {"type": "error", "error": {"type": "__proto__", "message": f"Overloaded {BIDI} constructor"}}
    return (sse("message_start", start_event) + sse("error", error)).encode()


def test_fresh_vectors_never_run_shape_the_page_or_stop_a_view(tmp_path, canary):
    good, bad = tmp_path / "fresh.sse", tmp_path / "fresh-error.sse"
    good.write_bytes(fresh_body(canary))
    bad.write_bytes(fresh_error_body())
    root = tmp_path / "lab"
    root.mkdir()
    name = build_notebook(root, canary)
    with (
        start(pace="instant", replay=good) as good_api,
        start(pace="instant", replay=bad) as bad_api,
        chromium() as browser,
        JupyterLab(root, env={"XSS_API": good_api.url, "XSS_ERROR_API": bad_api.url}, name="xss-fresh") as lab,
    ):
        notebook = lab.open(browser, name)
        notebook.run_all()
        notebook.wait_until_idle(timeout=180)
        notebook.screenshot("xss-fresh")
        page = notebook.page
        assert notebook.error_outputs() == [], notebook.error_outputs()
        check_inert(notebook, "fresh vectors")
        statuses = page.eval_on_selector_all(
            ".cw[data-title]", "els => els.map(e => [e.dataset.title, e.dataset.status])"
        )
        assert len(statuses) >= 7 and all(s in ("done", "error") for _, s in statuses), statuses
        assert page.locator(".jp-NotebookPanel .jp-Cell").first.is_visible()  # no stream's CSS hid the notebook
        views_errors = [e for e in notebook.console_errors if "views" in e or "TypeError" in e]
        assert views_errors == [], views_errors
        live = " ".join(page.locator(".cw").all_text_contents())
        assert "__proto__" in live and "</style><style>" in live, live[-800:]
        assert page.locator(".cw .cw-cites li").count() >= 3  # the citations arrived one by one ("a" ops)
        # bidi controls in names (tool names, ids, types) are shown as escapes, never reversing the line
        names = page.locator(".cw-tool-name, .cw-type, .cw-label, .jp-OutputArea-output code").all_text_contents()
        assert not [n for n in names if re.search("[\u202a-\u202e\u2066-\u2069]", n)], names
        assert any("\\u202e" in n for n in page.locator(".cw-tool-name").all_text_contents())
        # ... and so are zero-width and tag characters: a name cannot pass for another (live view and static rendering)
        assert not [n for n in names if re.search("[\u200b\U000e0000-\U000e007f]", n)], names
        assert any(
            "zero\\u200bwidth" in n and "\\U000e0041" in n for n in page.locator(".cw-tool-name").all_text_contents()
        )
        assert any("gnp\\u202e.exe" in n for n in page.locator(".cw-type").all_text_contents())
        notebook.save()
        notebook.reload()
        page.locator('.jp-OutputArea-output[data-mime-type="text/html"]').first.wait_for(
            state="attached", timeout=60_000
        )
        notebook.wait_until_idle(timeout=60)
        check_inert(notebook, "fresh vectors, reopened")
