"""Solution to 02_raw_events' "Try it": the raw-event loop. A piece of text is a content_block_delta whose delta is a
text_delta (not an input_json_delta of a tool call, nor a citations_delta); check event.type first, since most
events carry no delta. The stop reason and the output token count arrive in message_delta, whose usage is a running
total for the whole message: keep the latest, never add.

Run from the repository: ``python notebooks/solutions/02_raw_events.py`` (the streams come from the local API).
"""

from helpers.exercises import lesson02


def raw_answer(client, request, show):
    """Stream `request` raw; show each piece of text; return (text, stop_reason, output_tokens)."""
    text, stop_reason, output_tokens = "", None, 0
    with client.messages.create(**request, stream=True) as stream:
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                show(event.delta.text)
                text += event.delta.text
            elif event.type == "message_delta":
                stop_reason = event.delta.stop_reason
                output_tokens = event.usage.output_tokens
    return text, stop_reason, output_tokens


lesson02.check(raw_answer)
