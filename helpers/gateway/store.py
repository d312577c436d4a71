"""The gateway's state in SQLite: the class's settings, each learner's usage and their checkers' last verdicts.

Everything the instructor sets and everything the learners spent is on disk as soon as it changes (one small
transaction per finished request), so a gateway that restarts mid-class loses no usage and keeps its limits.
Streams in flight and the requests of the last minute live in memory only: a restart ends the streams anyway.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path

MODES = ("offline", "recorded", "live")
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


class Store:
    """One SQLite file; every method is a short transaction (called from the event loop: each takes well under a
    millisecond on a local disk)."""

    def __init__(self, path: str | Path):
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- settings --------------------------------------------------------------------------------------------------

    def _get(self, key: str, default):
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def _set(self, key: str, value) -> None:
        self.db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, json.dumps(value)))

    def limits(self) -> Limits:
        return Limits(**self._get("limits", {}))

    def set_limits(self, limits: Limits) -> None:
        self._set("limits", asdict(limits))

    def mode(self, default: str = "offline") -> str:
        return self._get("mode", default)

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"class mode: expected one of {', '.join(MODES)}, got {mode!r}")
        self._set("mode", mode)

    def paused(self) -> bool:
        return bool(self._get("paused", False))

    def set_paused(self, paused: bool) -> None:
        self._set("paused", bool(paused))

    # -- learners --------------------------------------------------------------------------------------------------

    def _learner(self, name: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO learners (name) VALUES (?)", (name,))

    def budget_left(self, name: str) -> int:
        row = self.db.execute("SELECT tokens, extra FROM learners WHERE name = ?", (name,)).fetchone()
        tokens, extra = row or (0, 0)
        return self.limits().tokens + extra - tokens

    def started(self, name: str, lesson: str) -> None:
        """A request was let through: count it, and note the lesson it came from."""
        self._learner(name)
        self.db.execute(
            "UPDATE learners SET requests = requests + 1, seen = ?, lesson = CASE WHEN ? = '' THEN lesson ELSE ? END "
            "WHERE name = ?",
            (time.time(), lesson, lesson, name),
        )

    def spent(self, name: str, tokens: int) -> None:
        self._learner(name)
        self.db.execute("UPDATE learners SET tokens = tokens + ? WHERE name = ?", (max(0, tokens), name))

    def failed(self, name: str, error_type: str, message: str) -> None:
        self._learner(name)
        self.db.execute(
            "UPDATE learners SET error_type = ?, error = ?, seen = ? WHERE name = ?",
            (error_type[:100], message[:500], time.time(), name),
        )

    def raise_budget(self, name: str, tokens: int) -> None:
        if isinstance(tokens, bool) or not isinstance(tokens, int) or not 1 <= tokens <= 10**9:
            raise ValueError(f"tokens: expected a whole number from 1 to 1,000,000,000, got {tokens!r}")
        self._learner(name)
        self.db.execute("UPDATE learners SET extra = extra + ? WHERE name = ?", (tokens, name))

    def verdict(self, name: str, lesson: str, exercise: str, verdict: str) -> None:
        self._learner(name)
        self.db.execute(
            "INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?)", (name, lesson, exercise, verdict, time.time())
        )
        self.db.execute(  # the latest MAX_VERDICTS: made-up exercise names cannot grow every dashboard update
            "DELETE FROM verdicts WHERE name = ? AND rowid NOT IN "
            "(SELECT rowid FROM verdicts WHERE name = ? ORDER BY at DESC, rowid DESC LIMIT ?)",
            (name, name, MAX_VERDICTS),
        )

    def learners(self) -> list[dict]:
        """Every learner the gateway has seen, with their verdicts (latest first), by name."""
        limit = self.limits().tokens
        rows = self.db.execute(
            "SELECT name, tokens, extra, requests, lesson, error_type, error, seen FROM learners ORDER BY name"
        ).fetchall()
        verdicts: dict[str, list[dict]] = {}
        for name, lesson, exercise, verdict, at in self.db.execute(
            "SELECT name, lesson, exercise, verdict, at FROM verdicts ORDER BY at DESC"
        ):
            verdicts.setdefault(name, []).append({"lesson": lesson, "exercise": exercise, "verdict": verdict, "at": at})
        return [
            {
                "name": name,
                "tokens": tokens,
                "budget": limit + extra,
                "requests": requests,
                "lesson": lesson,
                "error_type": error_type,
                "error": error,
                "seen": seen,
                "verdicts": verdicts.get(name, []),
            }
            for name, tokens, extra, requests, lesson, error_type, error, seen in rows
        ]
