"""Solution to 04_errors' "Try it": a stream that survives every failure, keeps what arrived, and lets your own bugs
through. The ``try`` is tight around the stream and catches three families, nothing broader:

- ``anthropic.APIError``: everything the API reports (HTTP errors, error events inside a 200) and
  ``APIConnectionError`` (no answer at all);
- ``httpx2.TransportError``: what the SDK does not wrap while you iterate (drops, stalls past the read timeout);
- ``ValueError``: what cannot be parsed (a malformed line, broken tool input JSON, structured output that fails).

Run from the repository: ``python notebooks/solutions/04_errors.py`` (the failures come from the local API).
"""

import anthropic
import httpx2

from helpers.exercises import lesson04

MODEL = "claude-sonnet-5-5"


def safe_stream(client, messages, show):
    """Stream the answer into show(piece); return (text, error): error is None unless an exception ended it."""
    parts = []
    try:
        with client.messages.stream(model=MODEL, max_tokens=1024, messages=messages) as stream:
            for text in stream.text_stream:
                parts.append(text)
                show(text)
    except (anthropic.APIError, httpx2.TransportError, ValueError) as err:
        return "".join(parts), err
    return "".join(parts), None


lesson04.check(safe_stream)
