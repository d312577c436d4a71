"""Solution to 09_playground's "Try it": a system prompt that makes the right pane answer like a pirate.

Run from the repository: ``python notebooks/solutions/09_playground.py`` (offline unless a key is configured).
"""

import asyncio

from helpers import connect
from helpers.exercises import lesson09
from helpers.widgets import SideBySide

MODEL = "claude-sonnet-5-5"
client = connect.async_client()

SYSTEM = "You are a pirate. Answer like one."  # ✏️ solved


def ask(prompt: str, **options):
    return client.messages.stream(
        model=MODEL, max_tokens=300, messages=[{"role": "user", "content": prompt}], **options
    )


async def main() -> None:
    side = SideBySide(["no system prompt", "with SYSTEM"], display=False)
    left, right = await side.arun(
        [ask("Write a haiku about debugging."), ask("Write a haiku about debugging.", system=SYSTEM)]
    )
    print(right.content[0].text, end="\n\n")
    lesson09.check_pirate(SYSTEM, left, right)


asyncio.run(main())
