"""Solution to 01_text_stream's "Try it": the streaming loop, written by hand. Open the stream in a ``with`` block,
hand each text piece to ``show`` inside the loop (the moment it arrives, not after), read the final message before
the block ends, and call the answer complete only when it ended where it should: on its own (``end_turn``) or at a
stop sequence you asked for (``stop_sequence``). Every other stop reason means it was cut off (``max_tokens``,
``model_context_window_exceeded``), refused (``refusal``) or waits on you (``tool_use``, ``pause_turn``).

Run from the repository: ``python notebooks/solutions/01_text_stream.py`` (offline unless a key is configured).
"""

from helpers import connect
from helpers.exercises import lesson01

MODEL = "claude-sonnet-5-5"
client = connect.client()


def stream_answer(client, messages, show):
    """Stream the answer to `messages`, calling show(piece) as each piece arrives; return (text, complete)."""
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=messages) as stream:
        for text in stream.text_stream:
            show(text)
        message = stream.get_final_message()
    text = "".join(block.text for block in message.content if block.type == "text")
    return text, message.stop_reason in ("end_turn", "stop_sequence")


lesson01.check(stream_answer, client)
