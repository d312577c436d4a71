"""Live views for streams: tokens, events, tool input and thinking rendered in output cells as they arrive.

    from helpers.widgets import TextView
    view = TextView()
    with client.messages.stream(...) as stream:
        for text in stream.text_stream:
            view.append(text)                  # the tutorial's loop, with print swapped for the view
        view.finish(stream.get_final_message())

Views send deltas, not snapshots, batched to at most 30 updates a second; when a stream ends they leave a static
markdown (or SVG) rendering in the notebook for readers without widgets. Their JS and CSS ship in this package.
"""

from .meter import CommMeter
from .playground import Playground
from .side import SideBySide
from .views import EventView, TextView, ThinkingView, Timeline, ToolInputView

__all__ = [
    "CommMeter",
    "EventView",
    "Playground",
    "SideBySide",
    "TextView",
    "ThinkingView",
    "Timeline",
    "ToolInputView",
]
