"""Capstone, part 1: a streaming chat in your terminal.

    python chat.py          # answers streamed with client.messages.stream()
    python chat.py --raw    # the same with client.messages.create(stream=True) and its raw events

Type a message and press Enter; an empty line or Ctrl-D ends the chat. As it stands, the chat waits for each whole
answer and forgets every earlier turn: the three TODOs below fix that. Check it from lesson 10 with
``lesson10.check_chat("capstone")``.
"""

import sys

from helpers import connect
from helpers.models import DEFAULT_MODEL as MODEL


def stream_reply(client, messages: list[dict]) -> str:
    """Print Claude's answer to ``messages`` as it arrives and return its whole text."""
    # TODO 1: stream the answer with `client.messages.stream(...)` and print each piece of its `text_stream`
    #         as soon as it arrives (flush it: a pipe or a slow terminal holds back what you print otherwise).
    message = client.messages.create(model=MODEL, max_tokens=1024, messages=messages)
    text = message.content[0].text
    print(text)
    return text


def raw_reply(client, messages: list[dict]) -> str:
    """The same, from the raw events of ``client.messages.create(stream=True)``."""
    # TODO 2: call `client.messages.create(..., stream=True)` and loop over its events: print (flushed, as in TODO 1)
    #         and add up the text of each `content_block_delta` whose delta is a `text_delta` (lesson 02). No helper
    #         accumulates it.
    message = client.messages.create(model=MODEL, max_tokens=1024, messages=messages)
    text = message.content[0].text
    print(text)
    return text


def main() -> None:
    client = connect.client()  # live with ANTHROPIC_API_KEY, else the course's local Messages API
    reply = raw_reply if "--raw" in sys.argv[1:] else stream_reply
    while True:
        try:
            prompt = input("\nyou: ")
        except EOFError:  # Ctrl-D, or the end of piped input
            break
        if not prompt.strip():
            break
        # TODO 3: keep the conversation: one list for the whole chat, with each question and each answer
        #         ({"role": "assistant", "content": text}) added in turn, so turn 2 knows turn 1.
        messages = [{"role": "user", "content": prompt}]
        print("claude: ", end="", flush=True)
        reply(client, messages)
    print()


if __name__ == "__main__":
    main()
