"""Lesson 07 · Try it, solved: name the event and put the text in JSON, so no newline can end the data line early.

Run it from the repository root: python notebooks/solutions/07_fastapi_sse.py
"""

import json
import sys

from helpers.exercises import lesson07


def frame_text(text: str) -> str:
    return f"event: text\ndata: {json.dumps({'text': text})}\n\n"  # ✏️ the edited line


if __name__ == "__main__":
    sys.exit(0 if lesson07.check_framing(frame_text) else 1)
