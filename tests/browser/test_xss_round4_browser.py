"""Round four of crafted streams against every view, in real JupyterLab and chromium: vectors the earlier rounds did
not send (tests/browser/test_xss_browser.py has those).

Three local APIs replay three bodies. ``markup``: SVG and MathML (mutation-XSS shapes) in the answer, HTML entities
that one unescaping step would turn into markup (``&lt;img …&gt;``) in text and names, a 1,000,000-character message
id and tool id, usage fields that are strings of markup, a ``stop_details`` with markup. ``switched``: one index
started twice as different block types, a thinking delta sent to a text block, a text delta to a tool block.
``disordered``: deltas before their block starts, a stop for a block never started, a ``message_delta`` before any
block. Every view watches each; the notebook is saved and reopened; nothing may run, load, shape the page or stay
"streaming".
"""

from __future__ import annotations

import json

import nbformat
import pytest

from helpers.offline import start

from ..conftest import MODEL
from .lab import JupyterLab, chromium
from .test_xss_browser import PWNED, canary, check_inert, sse  # noqa: F401 (canary: the server fixture, asked for below)

pytestmark = pytest.mark.browser

VIEWS = ("TextView", "EventView", "ToolInputView", "ThinkingView", "Timeline")


def vectors(origin: str) -> dict[str, str]:
    img = f'<img src="{origin}/r4" onerror="{PWNED}([\'r4\'])">'
    return {
        "svg": f'<svg><foreignObject><img src="{origin}/svg" onerror="{PWNED}([\'svg\'])"></foreignObject></svg>',
        "math": f'<math><mtext><table><mglyph><style><img src="{origin}/math" onerror="{PWNED}([\'math\'])">',
        "entity": f"&lt;img src=&quot;{origin}/entity&quot; onerror=&quot;{PWNED}(['entity'])&quot;&gt;",
        "noscript": f'<noscript><p title="</noscript>{img}">',
        "img": img,
    }


def start_event(message_id: str, usage: dict) -> str:
    message = {"id": message_id, "type": "message", "role": "assistant", "model": MODEL, "content": [],
               "stop_reason": None, "stop_sequence": None, "usage": usage}  # fmt: skip
    return sse("message_start", {"type": "message_start", "message": message})


def block(index: int, content_block: dict) -> str:
    return sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": content_block})


def delta(index: int, body: dict) -> str:
    return sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": body})


def stop(index: int) -> str:
    return sse("content_block_stop", {"type": "content_block_stop", "index": index})


def end(usage: dict, **fields) -> str:
    done = {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None, **fields},
            "usage": usage}  # fmt: skip
    return sse("message_delta", done) + sse("message_stop", {"type": "message_stop"})


def markup_body(origin: str) -> bytes:
    v = vectors(origin)
    long_id = "msg_" + "A" * 1_000_000
    text = "\n\n".join(v.values())
    tool_input = json.dumps({v["entity"]: v["math"], "svg": v["svg"]})
    events = [
        start_event(long_id, {"input_tokens": v["img"], "output_tokens": v["entity"]}),
        block(0, {"type": "thinking", "thinking": "", "signature": ""}),
        delta(0, {"type": "thinking_delta", "thinking": text}),
        delta(0, {"type": "signature_delta", "signature": v["entity"]}),
        stop(0),
        block(1, {"type": "text", "text": ""}),
        delta(1, {"type": "text_delta", "text": text}),
        stop(1),
        block(2, {"type": "tool_use", "id": "toolu_" + "B" * 1_000_000, "name": v["entity"], "input": {}}),
        delta(2, {"type": "input_json_delta", "partial_json": tool_input}),
        stop(2),
        end(
            {"output_tokens": v["svg"], "input_tokens": v["math"]},
            stop_reason=v["entity"],
            stop_details={"type": v["img"], "category": v["svg"], "explanation": v["math"]},
        ),
    ]
    return "".join(events).encode()


def switched_body(origin: str) -> bytes:
    v = vectors(origin)
    events = [
        start_event("msg_switched", {"input_tokens": 5, "output_tokens": 1}),
        block(0, {"type": "text", "text": ""}),
        delta(0, {"type": "text_delta", "text": v["svg"]}),
        block(0, {"type": "tool_use", "id": v["entity"], "name": v["img"], "input": {}}),
        delta(0, {"type": "thinking_delta", "thinking": v["math"]}),
        delta(0, {"type": "input_json_delta", "partial_json": json.dumps({"x": v["img"]})}),
        delta(0, {"type": "text_delta", "text": v["noscript"]}),
        stop(0),
        stop(0),
        end({"output_tokens": 9}),
    ]
    return "".join(events).encode()


def disordered_body(origin: str) -> bytes:
    v = vectors(origin)
    events = [
        start_event("msg_disordered", {"input_tokens": 5, "output_tokens": 1}),
        sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": v["img"]}, "usage": {}}),
        delta(3, {"type": "text_delta", "text": v["svg"]}),
        stop(7),
        block(1, {"type": "text", "text": v["math"]}),
        delta(1, {"type": "text_delta", "text": v["entity"]}),
        stop(1),
        end({"output_tokens": 9}),
    ]
    return "".join(events).encode()


BODIES = {"markup": markup_body, "switched": switched_body, "disordered": disordered_body}

SETUP = f"""import os
import warnings

import anthropic

from helpers.widgets import EventView, Playground, TextView, ThinkingView, Timeline, ToolInputView

# usage that is not a number makes the SDK's own to_dict() warn (round three's low): JupyterLab links its file path
warnings.filterwarnings("ignore", message="Pydantic serializer warnings")
ask = {{"model": {MODEL!r}, "max_tokens": 1024, "messages": [{{"role": "user", "content": "Go."}}]}}


def every_view(name):
    client = anthropic.Anthropic(base_url=os.environ["R4_" + name.upper()], api_key="test-key", max_retries=0)
    for view in ({", ".join(VIEWS)}):
        try:
            view(title=name + " " + view.__name__).watch(client.messages.stream(**ask))
        except Exception as exc:  # a malformed stream may make the SDK raise: the view must still finish
            print(name, view.__name__, "raised", type(exc).__name__)"""

PLAYGROUND = """playground = Playground(anthropic.AsyncAnthropic(base_url=os.environ["R4_MARKUP"], api_key="k", max_retries=0))
playground.tools.value = True
await playground.send("Go.")
playground.code_button.click()
print(len(playground.code()) > 1_000_000)"""


def build_notebook(root) -> str:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cells = [SETUP, *(f"every_view({name!r})" for name in BODIES), PLAYGROUND]
    notebook.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(notebook, root / "round4.ipynb")
    return "round4.ipynb"


@pytest.fixture(scope="module")
def origin(request) -> str:
    """The canary server's URL (test_xss_browser's fixture): a payload that loads anything hits it."""
    return request.getfixturevalue("canary")


def test_round_four_vectors_never_run_shape_the_page_or_stop_a_view(tmp_path, origin):
    for name, make in BODIES.items():
        (tmp_path / f"{name}.sse").write_bytes(make(origin))
    root = tmp_path / "lab"
    root.mkdir()
    notebook_name = build_notebook(root)
    with (
        start(pace="instant", replay=tmp_path / "markup.sse") as markup,
        start(pace="instant", replay=tmp_path / "switched.sse") as switched,
        start(pace="instant", replay=tmp_path / "disordered.sse") as disordered,
        chromium() as browser,
    ):
        apis = {"markup": markup, "switched": switched, "disordered": disordered}
        env = {f"R4_{name.upper()}": api.url for name, api in apis.items()}
        with JupyterLab(root, env=env, name="xss-round4") as lab:
            notebook = lab.open(browser, notebook_name)
            notebook.run_all()
            notebook.wait_until_idle(timeout=240)
            notebook.screenshot("xss-round4")
            page = notebook.page
            assert notebook.error_outputs() == [], notebook.error_outputs()
            check_inert(notebook, "round four")
            statuses = page.eval_on_selector_all(
                ".cw[data-title]", "els => els.map(e => [e.dataset.title, e.dataset.status])"
            )
            assert len(statuses) >= 3 * len(VIEWS), statuses
            assert all(s in ("done", "error") for _, s in statuses), statuses
            assert page.locator(".jp-NotebookPanel .jp-Cell").first.is_visible()
            views_errors = [e for e in notebook.console_errors if "views" in e or "TypeError" in e]
            assert views_errors == [], views_errors
            live = " ".join(page.locator(".cw").all_text_contents())
            assert "&lt;img" in live and "<svg><foreignObject>" in live, live[-800:]
            notebook.save()
            notebook.reload()
            page.locator('.jp-OutputArea-output[data-mime-type="text/html"]').first.wait_for(
                state="attached", timeout=60_000
            )
            notebook.wait_until_idle(timeout=60)
            check_inert(notebook, "round four, reopened")
