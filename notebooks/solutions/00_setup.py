"""Solution to 00_setup's "Try it": give the haiku enough tokens to finish.

Run from the repository: ``python notebooks/solutions/00_setup.py`` (offline unless a key is configured).
"""

from helpers import connect
from helpers.exercises import lesson00

MODEL = "claude-sonnet-5-5"
client = connect.client()

max_tokens = 200  # ✏️ solved: a haiku needs about 20 tokens, 200 leaves room to spare

with client.messages.stream(
    model=MODEL,
    max_tokens=max_tokens,
    messages=[{"role": "user", "content": "Write a haiku about debugging."}],
) as stream:
    for text in stream.text_stream:
        print(text, end="", flush=True)
    message = stream.get_final_message()
print()

lesson00.check_whole_answer(message)
