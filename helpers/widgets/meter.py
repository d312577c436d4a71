"""Count what a widget sends from the kernel to the browser, honestly: every comm message, as it is serialized.

    with CommMeter(view) as meter:
        ...stream into the view...
    meter.bytes, meter.messages, meter.rate()

``bytes`` is the JSON the comm carries (packed exactly as jupyter_client packs it, plus binary buffers);
``wire_bytes`` adds the Jupyter message envelope (header, signature …) every message pays on top.
``replay()`` rebuilds what the browser holds from the recorded messages, as views.js does.
"""

from __future__ import annotations

import time

from jupyter_client.session import Session, json_packer

from ._live import expand


class CommMeter:
    """Wraps ``widget.comm.send`` to record each message: (time, payload bytes, wire bytes, data)."""

    def __init__(self, widget) -> None:
        if getattr(widget, "comm", None) is None:
            raise TypeError(f"CommMeter needs a live ipywidgets widget (with a comm), got {type(widget).__name__}")
        self.widget = widget
        self.records: list[tuple[float, int, int, dict]] = []
        self._session = Session(key=b"0" * 64)  # signs like a kernel does, so the envelope has its real size
        self._send = None

    def __enter__(self):
        comm = self.widget.comm
        self._send = comm.send

        def send(data=None, metadata=None, buffers=None):
            now = time.monotonic()
            extra = sum(len(memoryview(b).cast("B")) for b in buffers or [])
            message = self._session.msg(
                "comm_msg", content={"data": data, "comm_id": comm.comm_id}, metadata=metadata or {}
            )
            payload = len(json_packer(data)) + extra
            wire = sum(len(part) for part in self._session.serialize(message)) + extra
            self.records.append((now, payload, wire, data))
            return self._send(data=data, metadata=metadata, buffers=buffers)

        comm.send = send
        return self

    def __exit__(self, *exc):
        self.widget.comm.send = self._send

    @property
    def messages(self) -> int:
        return len(self.records)

    @property
    def bytes(self) -> int:
        return sum(r[1] for r in self.records)

    @property
    def wire_bytes(self) -> int:
        return sum(r[2] for r in self.records)

    def gaps(self) -> list[float]:
        """Seconds between consecutive messages."""
        times = [r[0] for r in self.records]
        return [b - a for a, b in zip(times, times[1:], strict=False)]

    def peak_rate(self, window: float = 1.0) -> int:
        """The most messages sent within any ``window`` seconds."""
        times = [r[0] for r in self.records]
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] > window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def custom(self) -> list[dict]:
        """The live views' messages in order, short ones written out (``{"seq", "o", ...}``, see ``_live``)."""
        return expand(r[3]["content"] for r in self.records if r[3].get("method") == "custom")

    def custom_times(self) -> list[float]:
        """When each message of :meth:`custom` was sent."""
        return [r[0] for r in self.records if r[3].get("method") == "custom"]


def replay(messages: list[dict]) -> dict:
    """The state the browser builds from a view's messages (same ops as views.js); raises if a message is missing."""
    state: dict = {"blocks": [], "items": [], "seq": 0}
    for message in messages:
        if message["seq"] != state["seq"] + 1:
            raise ValueError(f"message {state['seq'] + 1} is missing (got {message['seq']})")
        for op in message["o"]:
            if op[0] == "b":
                state["blocks"].append(dict(op[1]))
            elif op[0] == "+":
                block = state["blocks"][op[1]]
                block[op[2]] = block.get(op[2], "") + op[3]
            elif op[0] == "=":
                state["blocks"][op[1]][op[2]] = op[3]
            elif op[0] == "a":
                block = state["blocks"][op[1]]
                block[op[2]] = [*block.get(op[2], []), op[3]]
            elif op[0] == "r":
                state["items"].append(op[1])
        state.update(message.get("end", {}), seq=message["seq"])
    return state
