"""Several streams at once, side by side, each in its own pane with its own figures (the async lesson)."""

from __future__ import annotations

import asyncio

import ipywidgets

from . import _static
from ._live import show_static
from .views import TextView


class SideBySide:
    """Panes in a row: ``side.panes[i]`` is a :class:`TextView`.

    >>> side = SideBySide(["haiku", "essay"])
    >>> await side.arun([client.messages.stream(...), client.messages.stream(...)])   # AsyncAnthropic

    or drive the panes yourself from concurrent tasks (``pane.append(text)`` … ``pane.finish(message)``), then call
    ``side.finish()`` to leave the static rendering.
    """

    def __init__(self, titles: list[str], *, display: bool = True):
        if not isinstance(titles, list | tuple) or not titles or not all(isinstance(t, str) for t in titles):
            raise TypeError(f"SideBySide expects a non-empty list of pane titles (str), got {titles!r}")
        self.panes = [TextView(title=t, display=False) for t in titles]
        columns = f"repeat({len(titles)}, minmax(0, 1fr))"
        self.box = ipywidgets.GridBox(
            self.panes, layout=ipywidgets.Layout(grid_template_columns=columns, grid_gap="8px")
        )
        self._finished = not display  # only a displayed SideBySide leaves a static rendering
        if display:
            from IPython.display import display as show

            show(self)

    async def arun(self, streams: list) -> list:
        """Stream into every pane at once (AsyncMessageStream or ``client.messages.stream(...)`` of AsyncAnthropic).

        Returns the final Messages in pane order. If a stream fails, its pane shows the error, the others carry on,
        and the first error is raised once all have ended.
        """
        if not isinstance(streams, list | tuple) or len(streams) != len(self.panes):
            got = len(streams) if isinstance(streams, list | tuple) else type(streams).__name__
            raise ValueError(f"SideBySide.arun() expects a list of {len(self.panes)} streams, one per pane, got {got}")
        results = await asyncio.gather(
            *(p.awatch(s) for p, s in zip(self.panes, streams, strict=True)), return_exceptions=True
        )
        for pane, result in zip(self.panes, results, strict=True):
            if isinstance(result, BaseException):
                pane.fail(result)  # a pane whose stream never started (a wrong argument) shows its error too
        self.finish()
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return results

    def finish(self) -> None:
        """End every pane still open and leave one static rendering: a section per pane."""
        for pane in self.panes:
            pane.finish()
        if not self._finished:
            self._finished = True
            show_static(self._static())

    def _static(self) -> dict:
        html = _static.panes_html([(p.title, p.view_id, p._export(), p._state, len(p.text)) for p in self.panes])
        return {"text/html": html, "text/plain": "\n".join(p._plain() for p in self.panes)}

    def __repr__(self) -> str:
        states = ", ".join(f"{p.title!r}: {p._status_word()}" for p in self.panes)
        return f"SideBySide({len(self.panes)} panes: {states})"

    def _repr_mimebundle_(self, **kwargs):
        data = self.box._repr_mimebundle_(**kwargs)
        data["text/plain"] = repr(self)
        return data
