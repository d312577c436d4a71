"""Rate-limit headers shaped like the API's: ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-
{limit,remaining,reset}`` on every Messages answer, and ``retry-after`` on a 429 or 529.

Each limit is a token bucket that refills to its per-minute limit in a minute, as the API's do; ``reset`` is when it
is full again (RFC 3339), and token counts left are rounded down to the thousand, as the API rounds them. The local
API never refuses a request for its own limits: the ``http:429`` fault does that, and then the headers say the
limit it hit is spent.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

LIMITS = {"requests": 4_000, "input-tokens": 2_000_000, "output-tokens": 400_000}  # per minute (a tier 4 account)
RETRY_AFTER = 1  # seconds a 429 or 529 asks the client to wait


class Bucket:
    def __init__(self, limit: int, now: float):
        self.limit, self.level, self.at = limit, float(limit), now

    def take(self, amount: float, now: float) -> None:
        self.level = min(self.limit, self.level + (now - self.at) * self.limit / 60.0) - amount
        self.level = max(self.level, 0.0)
        self.at = now

    def reset(self, now: float) -> float:
        """Seconds until the bucket is full again."""
        return (self.limit - self.level) * 60.0 / self.limit


class RateLimits:
    """One server's buckets (thread-safe; constant memory)."""

    def __init__(self, now: float | None = None):
        now = time.time() if now is None else now
        self.buckets = {name: Bucket(limit, now) for name, limit in LIMITS.items()}
        self.lock = threading.Lock()

    def headers(self, input_tokens: int, output_tokens: int, spent: bool = False) -> list[tuple[bytes, bytes]]:
        """The headers of one answer that used ``input_tokens`` and may write ``output_tokens`` (its max_tokens, as
        the API estimates it); ``spent``: a rate-limit error, whose limits are used up until ``retry-after``."""
        now = time.time()
        with self.lock:
            for name, amount in (("requests", 1), ("input-tokens", input_tokens), ("output-tokens", output_tokens)):
                self.buckets[name].take(self.buckets[name].limit if spent else amount, now)
            state = {n: (b.limit, int(b.level), b.reset(now)) for n, b in self.buckets.items()}
        ins, outs = state["input-tokens"], state["output-tokens"]
        state["tokens"] = (ins[0] + outs[0], ins[1] + outs[1], max(ins[2], outs[2]))
        out = []
        for name in ("requests", "tokens", "input-tokens", "output-tokens"):
            limit, left, wait = state[name]
            left = left if name == "requests" else left // 1000 * 1000
            if spent:
                wait = max(wait, RETRY_AFTER)
            stamp = datetime.fromtimestamp(now + wait, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            prefix = f"anthropic-ratelimit-{name}-"
            out += [
                ((prefix + "limit").encode(), str(limit).encode()),
                ((prefix + "remaining").encode(), str(left).encode()),
                ((prefix + "reset").encode(), stamp.encode()),
            ]
        return out
