"""Solution to 08_fastapi_sse's "Try it": name the event and put the text in JSON, so no newline ends the data line.

Run from the repository: ``python notebooks/solutions/08_fastapi_sse.py``.
"""

import json

from helpers.exercises import lesson08


def frame_text(text: str) -> str:
    return f"event: text\ndata: {json.dumps({'text': text})}\n\n"  # ✏️ solved


lesson08.check_framing(frame_text)
