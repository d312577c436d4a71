"""Solution to 01_text_stream's "Try it": an answer is complete unless it hit max_tokens.

Run from the repository: ``python notebooks/solutions/01_text_stream.py`` (offline unless a key is configured).
"""

from helpers import connect
from helpers.exercises import lesson01

client = connect.client()


def is_complete(message):
    """True when the answer ended on its own, False when max_tokens cut it off."""
    return message.stop_reason != "max_tokens"  # ✏️ solved


lesson01.check_is_complete(is_complete, client)
