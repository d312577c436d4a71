"""Capstone, part 1, solved: a streaming chat in your terminal that remembers the conversation.

python chat.py          # answers streamed with client.messages.stream()
python chat.py --raw    # the same with client.messages.create(stream=True) and its raw events
"""

import sys

from helpers import connect
from helpers.models import DEFAULT_MODEL as MODEL


def stream_reply(client, messages: list[dict]) -> str:
    """Print Claude's answer to ``messages`` as it arrives and return its whole text."""
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=messages) as stream:
        for text in stream.text_stream:
            print(text, end="", flush=True)
        return stream.get_final_text()  # the whole answer, for the conversation


def raw_reply(client, messages: list[dict]) -> str:
    """The same, from the raw events of ``client.messages.create(stream=True)``."""
    pieces = []
    with client.messages.create(model=MODEL, max_tokens=1024, messages=messages, stream=True) as events:
        for event in events:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                print(event.delta.text, end="", flush=True)
                pieces.append(event.delta.text)
    return "".join(pieces)


def main() -> None:
    client = connect.client()  # live with ANTHROPIC_API_KEY, else the course's local Messages API
    reply = raw_reply if "--raw" in sys.argv[1:] else stream_reply
    messages = []  # the whole conversation, sent again with every turn
    while True:
        try:
            prompt = input("\nyou: ")
        except EOFError:  # Ctrl-D, or the end of piped input
            break
        if not prompt.strip():
            break
        messages.append({"role": "user", "content": prompt})
        print("claude: ", end="", flush=True)
        messages.append({"role": "assistant", "content": reply(client, messages)})
    print()


if __name__ == "__main__":
    main()
