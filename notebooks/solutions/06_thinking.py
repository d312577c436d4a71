"""Solution to 06_thinking's "Try it": stream an answer with thinking on, keep the thinking and the answer apart by
the kind of delta, and when the connection drops, return the thinking that arrived (lesson 04's catch, nothing
broader). A redacted thinking block has no deltas, so it adds nothing readable.

Run from the repository: ``python notebooks/solutions/06_thinking.py`` (the answers come from the local API).
"""

import anthropic
import httpx2

from helpers.exercises import lesson06

MODEL = "claude-sonnet-5-5"
THINKING = {"type": "adaptive", "display": "summarized"}  # the summary, not an empty block


def think_and_answer(client, messages):
    """Stream an answer with thinking on; return (thinking, answer), each as far as it arrived."""
    thinking, answer = [], []
    try:
        with client.messages.stream(model=MODEL, max_tokens=2048, thinking=THINKING, messages=messages) as stream:
            for event in stream:
                if event.type == "content_block_delta" and event.delta.type == "thinking_delta":
                    thinking.append(event.delta.thinking)
                elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                    answer.append(event.delta.text)
    except (anthropic.APIError, httpx2.TransportError, ValueError):
        pass  # keep what arrived
    return "".join(thinking), "".join(answer)


lesson06.check(think_and_answer)
