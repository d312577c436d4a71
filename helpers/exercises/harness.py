"""Running a learner's program for a checker: bounded output, a deadline, and nothing left running afterwards.

A learner's code is untrusted in the plain sense: a print loop can write gigabytes, a server can hold a stream open
forever, a program can start children that outlive it. So :class:`Output` keeps only the head and the tail of what a
pipe carries (and counts the rest), :class:`Deadline` bounds a whole check, and :func:`spawn` starts the program in a
process group of its own, which :func:`end_group` ends whole (children included), freeing the ports they held.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

from helpers.exercises import one_line

KEEP = 256 * 1024  # bytes of a pipe's output kept at its head, and again at its tail
FLOOD = 16 * 1024 * 1024  # bytes of output past which a program is flooding its pipe (and is ended)
GRACE = 3.0  # seconds a process group gets between SIGTERM and SIGKILL


class Output:
    """What a process writes to one pipe, read by a thread as it arrives: the first and last ``KEEP`` bytes are kept,
    the middle only counted. ``on_flood`` is called once, from the reading thread, when the total passes ``FLOOD``."""

    def __init__(self, pipe, on_flood=None, keep: int = KEEP, flood: int = FLOOD):
        self.keep, self.flood, self._on_flood = keep, flood, on_flood
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0  # bytes written, kept or not
        self.flooded = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe) -> None:
        for chunk in iter(lambda: os.read(pipe.fileno(), 65536), b""):
            with self._lock:
                self.total += len(chunk)
                room = self.keep - len(self._head)
                if room > 0:
                    self._head += chunk[:room]
                    chunk = chunk[room:]
                self._tail += chunk
                del self._tail[: max(0, len(self._tail) - self.keep)]
                flooded = not self.flooded and self.total > self.flood
                self.flooded |= flooded
            if flooded and self._on_flood:
                self._on_flood()

    @property
    def cut(self) -> int:
        """Bytes dropped between the head and the tail."""
        with self._lock:
            return self.total - len(self._head) - len(self._tail)

    def since(self, offset: int) -> str:
        """What was written from byte ``offset`` on, as far as it was kept (the tail, if the middle is gone)."""
        with self._lock:
            if offset < len(self._head):
                data = bytes(self._head[offset:]) + (bytes(self._tail) if self.total > len(self._head) else b"")
            else:
                data = bytes(self._tail[max(0, len(self._tail) - (self.total - offset)) :])
        return data.decode("utf-8", "replace")

    def text(self) -> str:
        """The head and the tail, with a line saying how much was left out between them."""
        with self._lock:
            head, tail, cut = bytes(self._head), bytes(self._tail), self.total - len(self._head) - len(self._tail)
        middle = f"\n[… {cut:,} bytes left out …]\n".encode() if cut else b""
        return (head + middle + tail).decode("utf-8", "replace")

    def last_line(self) -> str:
        """The last line with words in it, without the frame (``| ``, ``+---``) an exception group's traceback has:
        ``starlette.requests.ClientDisconnect``, not ``+------------``."""
        self._thread.join(timeout=2)
        lines = [line.strip().lstrip("|+- ").strip() for line in self.text().splitlines()]
        lines = [line for line in lines if line]
        return one_line(lines[-1][:300]) if lines else "(nothing on stderr)"

    def size(self) -> str:
        """``12.3 MB``: how much was written."""
        return f"{self.total / 1e6:.1f} MB" if self.total >= 1e5 else f"{self.total:,} bytes"


class Deadline:
    """A time budget for a whole check: ``left()`` seconds remain (never below ``floor``), ``over`` once spent."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self, cap: float | None = None, floor: float = 0.05) -> float:
        left = max(floor, self.end - time.monotonic())
        return min(left, cap) if cap is not None else left

    @property
    def over(self) -> bool:
        return time.monotonic() >= self.end


def spawn(args: list[str], **options) -> subprocess.Popen:
    """``subprocess.Popen`` in a new process group (session), so :func:`end_group` can end every process it starts."""
    if sys.platform == "win32":
        options["creationflags"] = options.get("creationflags", 0) | subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        options["start_new_session"] = True
    return subprocess.Popen(args, **options)


def end_group(process: subprocess.Popen, grace: float = GRACE) -> None:
    """End ``process`` and every process of its group: SIGTERM, then SIGKILL after ``grace`` seconds, then wait until
    the group is gone (its children too, so the ports they held are free)."""
    if sys.platform == "win32":
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(process.pid)], capture_output=True, check=False)
        process.wait()
        return
    pgid = process.pid  # start_new_session: the group's id is the leader's pid
    _signal_group(pgid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    end = time.monotonic() + grace
    while _signal_group(pgid, 0) and time.monotonic() < end:  # children may still be finishing
        time.sleep(0.05)
    _signal_group(pgid, signal.SIGKILL)
    process.wait()
    end = time.monotonic() + grace
    while _signal_group(pgid, 0) and time.monotonic() < end:
        time.sleep(0.05)


def _signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the group; False when no process of it is left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member we may not signal (it changed user): nothing more we can do
        return False
    return True


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether ``port`` can be listened on again (nothing holds it)."""
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
