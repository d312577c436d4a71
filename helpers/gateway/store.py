"""The gateway's state in SQLite: the class's settings, each learner's usage and their checkers' last verdicts.

The whole state is small (a row per learner), so it is read once at start and kept in memory: a request's limits
and budget are checked without touching the disk. Every change updates memory at once and is written by one writer
thread, in order, a batch of changes per transaction: the event loop never waits on SQLite, whose commits can take
milliseconds on a busy disk (bench/gateway.py measured them stalling every stream of a class). Each change returns
a future that is done once it is on disk; the gateway waits for it (without blocking the loop) before a response
that reports it ends: a finished request's usage, a verdict, an instructor's control. So a gateway killed mid-class
loses no usage a learner saw counted, and keeps its limits. Streams in flight and the requests of the last minute
live in memory only: a restart ends the streams anyway.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import sqlite3
import threading
import time
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from pathlib import Path

MODES = ("offline", "recorded", "live")
SURROGATE = re.compile("[\ud800-\udfff]")
MAX_VERDICTS = 200  # per learner, the latest kept: the course has a few dozen exercises (lessons × checks)


@dataclass
class Limits:
    """Per learner: streams at once, requests per minute, tokens (input + output) over the class session."""

    streams: int = 2
    per_minute: int = 30
    tokens: int = 200_000

    @classmethod
    def checked(cls, values: dict) -> Limits:
        """Limits from a JSON object; ValueError naming the field and what it expects."""
        limits = cls()
        for name, value in values.items():
            if name not in asdict(limits):
                raise ValueError(f"unknown limit {name!r}: expected streams, per_minute or tokens")
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10**9:
                raise ValueError(f"limit {name}: expected a whole number from 1 to 1,000,000,000, got {value!r}")
            setattr(limits, name, value)
        return limits


SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS learners (
    name TEXT PRIMARY KEY,
    tokens INTEGER NOT NULL DEFAULT 0,      -- input + output tokens used this class session
    extra INTEGER NOT NULL DEFAULT 0,       -- tokens the instructor added to this learner's budget
    requests INTEGER NOT NULL DEFAULT 0,
    lesson TEXT NOT NULL DEFAULT '',
    error_type TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    seen REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS verdicts (
    name TEXT NOT NULL, lesson TEXT NOT NULL, exercise TEXT NOT NULL, verdict TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (name, lesson, exercise)
);
"""


@dataclass
class Learner:
    """One learner's row (the learners table's columns after ``name``)."""

    tokens: int = 0  # input + output tokens used this class session
    extra: int = 0  # tokens the instructor added to this learner's budget
    requests: int = 0
    lesson: str = ""
    error_type: str = ""
    error: str = ""
    seen: float = 0.0
    verdicts: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)  # (lesson, exercise) -> ...

    def row(self, name: str) -> tuple:
        return (name, self.tokens, self.extra, self.requests, self.lesson, self.error_type, self.error, self.seen)


Write = tuple[str, tuple]  # one SQL statement and its parameters


def storable(value):
    """``value`` as SQLite can store it: a string with a lone surrogate (JSON may escape one, ``"\\ud800"``) is not
    UTF-8, and binding it raised in the writer thread; it is stored with U+FFFD in its place."""
    return SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value


class Store:
    """One SQLite file, mirrored in memory; reads are from memory, changes are written by one writer thread."""

    def __init__(self, path: str | Path):
        # the writer waits up to a minute for a lock another process holds (sqlite3 gives up after 5 s by default)
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.settings = {key: json.loads(value) for key, value in self.db.execute("SELECT key, value FROM settings")}
        self.rows: dict[str, Learner] = {}
        for name, *columns in self.db.execute(
            "SELECT name, tokens, extra, requests, lesson, error_type, error, seen FROM learners"
        ):
            self.rows[name] = Learner(*columns)
        for name, lesson, exercise, verdict, at in self.db.execute(
            "SELECT name, lesson, exercise, verdict, at FROM verdicts ORDER BY at, rowid"
        ):
            self.learner(name).verdicts[(lesson, exercise)] = (verdict, at)
        self.queue: queue.SimpleQueue[tuple[list[Write], Future] | None] = queue.SimpleQueue()
        self.writer = threading.Thread(target=self._write_all, name="gateway-store-writer", daemon=True)
        self.writer.start()

    def close(self) -> None:
        """Write what is queued, then close the file."""
        if self.writer.is_alive():
            self.queue.put(None)
            self.writer.join()
        self.db.close()

    def _write(self, *writes: Write) -> Future:
        done: Future = Future()
        self.queue.put(([(sql, tuple(map(storable, parameters))) for sql, parameters in writes], done))
        return done

    def _write_all(self) -> None:
        """The writer thread: every change queued meanwhile, in one transaction, then their futures are done."""
        while True:
            item, batch = self.queue.get(), []
            while item is not None:
                batch.append(item)
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                # A future whose waiter went away (a stream's relay, cancelled when its learner hung up) is cancelled:
                # its change is written all the same, and only the others get a result (setting one on a cancelled
                # future raises, which ended this thread and every write after it).
                waiting = [done for _, done in batch if done.set_running_or_notify_cancel()]
                try:
                    self.db.execute("BEGIN")
                    for writes, _ in batch:
                        for sql, parameters in writes:
                            self.db.execute(sql, parameters)
                    self.db.execute("COMMIT")
                except Exception as err:  # any: this thread ending would stop every write after it, for good
                    logging.getLogger("helpers.gateway").error("could not write the class's state: %s", err)
                    if self.db.in_transaction:
                        self.db.execute("ROLLBACK")
                    for done in waiting:
                        done.set_exception(err)
                else:
                    for done in waiting:
                        done.set_result(None)
            if item is None:
                return

    # -- settings --------------------------------------------------------------------------------------------------

    def _set(self, key: str, value) -> Future:
        self.settings[key] = value
        return self._write(("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, json.dumps(value))))

    def has_mode(self) -> bool:
        """Whether the class mode was ever set (a new state file has none)."""
        return "mode" in self.settings

    def limits(self) -> Limits:
        return Limits(**self.settings.get("limits", {}))

    def set_limits(self, limits: Limits) -> Future:
        return self._set("limits", asdict(limits))

    def mode(self, default: str = "offline") -> str:
        return self.settings.get("mode", default)

    def set_mode(self, mode: str) -> Future:
        if mode not in MODES:
            raise ValueError(f"class mode: expected one of {', '.join(MODES)}, got {mode!r}")
        return self._set("mode", mode)

    def paused(self) -> bool:
        return bool(self.settings.get("paused", False))

    def set_paused(self, paused: bool) -> Future:
        return self._set("paused", bool(paused))

    # -- learners --------------------------------------------------------------------------------------------------

    def learner(self, name: str) -> Learner:
        return self.rows.setdefault(name, Learner())

    def _save_sql(self, name: str) -> Write:
        return "INSERT OR REPLACE INTO learners VALUES (?, ?, ?, ?, ?, ?, ?, ?)", self.learner(name).row(name)

    def _save(self, name: str) -> Future:
        return self._write(self._save_sql(name))

    def budget_left(self, name: str) -> int:
        learner = self.rows.get(name) or Learner()
        return self.limits().tokens + learner.extra - learner.tokens

    def started(self, name: str, lesson: str) -> Future:
        """A request was let through: count it, and note the lesson it came from."""
        learner = self.learner(name)
        learner.requests += 1
        learner.seen = time.time()
        learner.lesson = lesson or learner.lesson
        return self._save(name)

    def spent(self, name: str, tokens: int) -> Future:
        self.learner(name).tokens += max(0, tokens)
        return self._save(name)

    def failed(self, name: str, error_type: str, message: str) -> Future:
        learner = self.learner(name)
        learner.error_type, learner.error, learner.seen = error_type[:100], message[:500], time.time()
        return self._save(name)

    def raise_budget(self, name: str, tokens: int) -> Future:
        if isinstance(tokens, bool) or not isinstance(tokens, int) or not 1 <= tokens <= 10**9:
            raise ValueError(f"tokens: expected a whole number from 1 to 1,000,000,000, got {tokens!r}")
        self.learner(name).extra += tokens
        return self._save(name)

    def verdict(self, name: str, lesson: str, exercise: str, verdict: str) -> Future:
        verdicts, at = self.learner(name).verdicts, time.time()
        verdicts.pop((lesson, exercise), None)  # the latest last
        verdicts[(lesson, exercise)] = (verdict, at)
        while len(verdicts) > MAX_VERDICTS:  # made-up exercise names cannot grow every dashboard update
            del verdicts[next(iter(verdicts))]
        return self._write(
            self._save_sql(name),
            ("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?)", (name, lesson, exercise, verdict, at)),
            (
                "DELETE FROM verdicts WHERE name = ? AND rowid NOT IN "
                "(SELECT rowid FROM verdicts WHERE name = ? ORDER BY at DESC, rowid DESC LIMIT ?)",
                (name, name, MAX_VERDICTS),
            ),
        )

    def learners(self) -> list[dict]:
        """Every learner the gateway has seen, with their verdicts (latest first), by name."""
        limit = self.limits().tokens
        return [
            {
                "name": name,
                "tokens": learner.tokens,
                "budget": limit + learner.extra,
                "requests": learner.requests,
                "lesson": learner.lesson,
                "error_type": learner.error_type,
                "error": learner.error,
                "seen": learner.seen,
                "verdicts": [
                    {"lesson": lesson, "exercise": exercise, "verdict": verdict, "at": at}
                    for (lesson, exercise), (verdict, at) in reversed(learner.verdicts.items())
                ],
            }
            for name, learner in sorted(self.rows.items())
        ]
