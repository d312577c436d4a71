"""Solution to 03_async's "Try it": every prompt streams at the same time. One coroutine per prompt opens its stream
with ``async with`` and hands each piece to ``show`` from its ``async for`` loop; ``asyncio.gather`` runs them together
and returns their texts in the order of the prompts.

Run from the repository: ``python notebooks/solutions/03_async.py`` (the checker streams from the local API).
"""

import asyncio

from helpers.exercises import lesson03

MODEL = "claude-sonnet-5-5"


async def ask_all(client, prompts, show):
    """Stream every prompt at once; call show(i, piece) as each piece of answer i arrives; return the texts."""

    async def ask(i, prompt):
        messages = [{"role": "user", "content": prompt}]
        async with client.messages.stream(model=MODEL, max_tokens=1024, messages=messages) as stream:
            async for text in stream.text_stream:
                show(i, text)
            return await stream.get_final_text()

    return list(await asyncio.gather(*(ask(i, prompt) for i, prompt in enumerate(prompts))))


asyncio.run(lesson03.check(ask_all))
