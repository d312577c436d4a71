"""The checker of lesson 07 says NOT YET to the lesson's starting state (a user message asking Claude to go on), PASS
to a paused turn sent back unchanged (as SDK blocks or as dicts) in its container, names each other mistake with a hint, and turns
an exception in the learner's function into a NOT YET line instead of a traceback."""

from __future__ import annotations

import pytest

from helpers.exercises import lesson07


def verdict(capsys) -> str:
    """The checker's last line (the lines before it say what it sent)."""
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines and lines[-1].startswith(("PASS ✓", "NOT YET ✗")), lines
    return lines[-1]


def go_on(messages, paused):  # the lesson's starting state
    return [*messages, {"role": "user", "content": "Please continue."}], None


def paused_then_go_on(messages, paused):
    turn = {"role": "assistant", "content": paused.content}
    return [*messages, turn, {"role": "user", "content": "Go on."}], paused.container.id


def only_the_text(messages, paused):
    return [*messages, {"role": "assistant", "content": [b for b in paused.content if b.type == "text"]}], None


def forgets_the_conversation(messages, paused):
    return [messages[-1], {"role": "assistant", "content": paused.content}], paused.container.id


def the_message_itself(messages, paused):
    return [*messages, paused], paused.container.id


def misspelt(messages, paused):
    return [*messages, {"role": "assistant", "content": paused.contents}], paused.container.id


def subscripted(messages, paused):
    return [*messages, {"role": "assistant", "content": paused["content"]}], paused.container.id


def test_lesson07_a_message_read_as_a_dict_gets_a_hint_that_points_at_it(capsys):
    lesson07.check(subscripted)
    out = verdict(capsys)
    assert "raised TypeError: 'ParsedMessage' object is not subscriptable" in out
    assert out.endswith("hint: paused is a Message: read its attributes (.content)")


@pytest.mark.parametrize(
    ("resume", "expected"),
    [
        (go_on, "the paused turn is not in the request"),
        (paused_then_go_on, "a message follows the paused turn"),
        (only_the_text, "the paused turn was changed"),
        (forgets_the_conversation, "the conversation so far is missing"),
        (the_message_itself, "not a message dict"),
        (lambda messages, paused: None, "resume returned None, not a pair"),
        (lambda messages, paused: [*messages, {"role": "assistant", "content": paused.content}], "not a pair"),
        (misspelt, "your function misspelt raised AttributeError"),
    ],
)
def test_lesson07_names_each_mistake(resume, expected, capsys):
    lesson07.check(resume)
    out = verdict(capsys)
    assert out.startswith("NOT YET") and expected in out and "hint:" in out


def test_lesson07_a_request_the_local_api_would_start_over_is_caught_by_what_comes_back(capsys, monkeypatch):
    """With the request's shape unchecked, the answer itself shows the turn started over: new searches."""
    monkeypatch.setattr(lesson07, "_read", lambda sent, messages, paused: None)
    lesson07.check(lambda messages, paused: (go_on(messages, paused)[0], paused.container.id))
    out = verdict(capsys)
    assert out.startswith("NOT YET") and "searched again" in out


@pytest.mark.parametrize("as_dicts", [False, True])
def test_lesson07_passes_the_paused_turn_sent_back_unchanged(as_dicts, capsys):
    def resume(messages, paused):
        content = [b.model_dump() for b in paused.content] if as_dicts else paused.content
        return [*messages, {"role": "assistant", "content": content}], paused.container.id

    lesson07.check(resume)
    out = capsys.readouterr().out
    assert "stop_reason 'pause_turn'" in out and "you send container 'container_" in out and "0 new searches" in out
    assert out.strip().splitlines()[-1].startswith("PASS ✓") and "citing 2 sources" in out


def test_lesson07_bad_input_is_a_clear_error():
    with pytest.raises(TypeError, match=r"your function resume\(messages, paused\)"):
        lesson07.check([{"role": "user", "content": "hi"}])
