"""Solution to 03_async's "Try it": start the three streams together with asyncio.gather.

Run from the repository: ``python notebooks/solutions/03_async.py`` (offline unless a key is configured).
"""

import asyncio
import time

from helpers import connect
from helpers.exercises import lesson03

MODEL = "claude-sonnet-4-6"
PROMPTS = ["Write a haiku about debugging.", "Write a haiku about streaming.", "Write a haiku about tests."]


async def main():
    client = connect.async_client()
    spans = []

    async def ask(prompt):
        """Stream one answer; record when it started and ended."""
        start = time.perf_counter()
        async with client.messages.stream(
            model=MODEL, max_tokens=200, messages=[{"role": "user", "content": prompt}]
        ) as stream:
            text = await stream.get_final_text()
        spans.append((start, time.perf_counter()))
        return text

    answers = await asyncio.gather(*(ask(p) for p in PROMPTS))  # ✏️ solved
    lesson03.check_concurrent(list(answers), spans)


asyncio.run(main())
