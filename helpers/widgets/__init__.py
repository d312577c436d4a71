"""Live views for streams: tokens, events, tool input and thinking rendered in output cells as they arrive.

    from helpers.widgets import TextView
    view = TextView()
    with client.messages.stream(...) as stream:
        for text in stream.text_stream:
            view.append(text)                  # the tutorial's loop, with print swapped for the view
        view.finish(stream.get_final_message())

Views send deltas, not snapshots, batched to at most 15 updates a second; when a stream ends they leave a static,
sanitized HTML (or SVG) rendering for readers without widgets, which the live view hides where it renders. Their JS
and CSS ship in this package and reach a page once per kernel.
"""

from .meter import CommMeter
from .playground import Playground
from .side import SideBySide
from .views import EventView, StructuredView, TextView, ThinkingView, Timeline, ToolInputView

__all__ = [
    "CommMeter",
    "EventView",
    "Playground",
    "SideBySide",
    "StructuredView",
    "TextView",
    "ThinkingView",
    "Timeline",
    "ToolInputView",
]
