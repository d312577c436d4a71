"""Local API throughput through the SDK, against the SDK parsing the same bytes from memory (its ceiling).

The local API must not be the bottleneck of the course's tests: over real HTTP on loopback it should reach at least
0.8 of what the SDK manages when the bytes come from memory (httpx2.MockTransport, no socket, no server).
It is measured where it runs: in its own process (``python -m helpers.offline``, as a workshop or another tool runs
it), which is the target's figure, and in a thread of the caller's process (``helpers.offline.start()``, as a
notebook runs it), where server and SDK take turns on one interpreter lock. Also prints the time to first byte.

    python bench/api.py [--tokens 5000] [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import time

import anthropic
import httpx2

from helpers.offline import start

MODEL = "claude-sonnet-4-6"


def consume(client: anthropic.Anthropic, prompt: str) -> tuple[float, int]:
    started = time.perf_counter()
    with client.messages.stream(
        model=MODEL, max_tokens=100_000, messages=[{"role": "user", "content": prompt}]
    ) as stream:
        for _ in stream:
            pass
        tokens = stream.get_final_message().usage.output_tokens
    return time.perf_counter() - started, tokens


@contextlib.contextmanager
def own_process():
    """``python -m helpers.offline --pace instant`` in a subprocess; yields its URL, ends it by its PID."""
    server = subprocess.Popen(
        [sys.executable, "-m", "helpers.offline", "--pace", "instant"], stdout=subprocess.PIPE, text=True
    )
    try:
        first = server.stdout.readline().strip()
        if not first.startswith("listening on "):
            raise RuntimeError(f"expected 'listening on URL' from the local API, got {first!r}")
        yield first.removeprefix("listening on ")
    finally:
        server.terminate()
        server.wait(timeout=10)


def rate(url: str, prompt: str, runs: int) -> float:
    """Tokens/s of the SDK streaming ``prompt`` from the local API at ``url``: the median of ``runs``."""
    client = anthropic.Anthropic(base_url=url, api_key="bench", max_retries=0)
    consume(client, prompt)  # warm up
    timings = [consume(client, prompt) for _ in range(runs)]
    return timings[0][1] / statistics.median(t for t, _ in timings)


def first_byte_ms(url: str, runs: int) -> list[float]:
    """Milliseconds from sending a short streaming request to its first body bytes."""
    request = {
        "model": MODEL,
        "max_tokens": 64,
        "stream": True,
        "messages": [{"role": "user", "content": "Write a haiku about debugging."}],
    }
    out = []
    with httpx2.Client() as raw:
        for _ in range(runs):
            t0 = time.perf_counter()
            with raw.stream("POST", f"{url}/v1/messages", json=request) as r:
                chunks = r.iter_raw()
                next(chunks)
                out.append((time.perf_counter() - t0) * 1000)
                for _ in chunks:
                    pass
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=5000, help="count to N (about 2 tokens per number)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    prompt = f"Count to {args.tokens}"
    request = {"model": MODEL, "max_tokens": 100_000, "stream": True, "messages": [{"role": "user", "content": prompt}]}

    with own_process() as url:
        body = httpx2.post(f"{url}/v1/messages", json=request).content  # the exact bytes, to parse from memory
        separate = rate(url, prompt, args.runs)
        ttfb = first_byte_ms(url, args.runs * 4)
    with start(pace="instant") as api:
        threaded = rate(api.url, prompt, args.runs)

    def from_memory(_request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    memory = anthropic.Anthropic(
        base_url="http://memory.invalid",
        api_key="bench",
        http_client=httpx2.Client(transport=httpx2.MockTransport(from_memory)),
    )
    consume(memory, prompt)  # warm up
    timings = [consume(memory, prompt) for _ in range(args.runs)]
    ceiling = timings[0][1] / statistics.median(t for t, _ in timings)
    tokens = timings[0][1]

    print(f"stream of {tokens} output tokens, {len(body):,} bytes, instant pace; median of {args.runs} runs")
    print(f"  SDK parsing the same bytes from memory (ceiling, baseline) : {ceiling:>8,.0f} tokens/s")
    print(f"  SDK over HTTP, local API in its own process                : {separate:>8,.0f} tokens/s")
    print(f"    ratio to the ceiling (target >= 0.8)                     : {separate / ceiling:>8.2f}")
    print(f"  SDK over HTTP, local API in a thread of the same process   : {threaded:>8,.0f} tokens/s")
    print(f"    ratio to the ceiling (shares one interpreter lock)       : {threaded / ceiling:>8.2f}")
    print(f"  time to first byte, own process : {statistics.median(ttfb):.1f} ms median, {max(ttfb):.1f} ms max")


if __name__ == "__main__":
    main()
