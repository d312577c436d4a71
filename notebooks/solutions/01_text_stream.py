"""Solution to 01_text_stream's "Try it": an answer is complete when it ended where it should: on its own
(``end_turn``) or at a stop sequence you asked for (``stop_sequence``). Every other stop reason means it was cut off
(``max_tokens``, ``model_context_window_exceeded``), refused (``refusal``) or waits on you (``tool_use``,
``pause_turn``).

Run from the repository: ``python notebooks/solutions/01_text_stream.py`` (offline unless a key is configured).
"""

from helpers import connect
from helpers.exercises import lesson01

client = connect.client()


def is_complete(message):
    """True when the answer is finished and can be shown as it is; False when it was cut off, refused, or waits on you."""
    return message.stop_reason in ("end_turn", "stop_sequence")  # ✏️ solved


lesson01.check_is_complete(is_complete, client)
