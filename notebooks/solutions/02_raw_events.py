"""Solution to 02_raw_events' "Try it": a text delta is a content_block_delta whose delta is a text_delta (not an
input_json_delta of a tool call, nor a citations_delta). Check event.type first: most events carry no delta.

Run from the repository: ``python notebooks/solutions/02_raw_events.py`` (offline unless a key is configured).
"""

from helpers import connect
from helpers.exercises import lesson02

client = connect.client()


def is_text(event):
    """True for the events that carry a piece of the answer's text."""
    return event.type == "content_block_delta" and event.delta.type == "text_delta"  # ✏️ solved


lesson02.check_is_text(is_text, client)
