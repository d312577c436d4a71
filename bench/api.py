"""Local API throughput through the SDK, against the SDK parsing the same bytes from memory (its ceiling).

The local API must not be the bottleneck of the course's tests: over real HTTP on loopback it should reach at least
0.8 of what the SDK manages when the bytes come from memory (httpx2.MockTransport, no socket, no server).
It is measured where it runs: in its own process (``python -m helpers.offline``, as a workshop or another tool runs
it), which is the target's figure, and in a thread of the caller's process (``helpers.offline.start()``, as a
notebook runs it), where server and SDK take turns on one interpreter lock. Also prints the time to first byte.

    python bench/api.py [--tokens 5000] [--runs 9]
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
        model=MODEL, max_tokens=64_000, messages=[{"role": "user", "content": prompt}]
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


def rates(clients: dict[str, anthropic.Anthropic], prompt: str, runs: int) -> dict[str, float]:
    """Tokens/s of the SDK streaming ``prompt`` through each client: the median of ``runs``, after a warm-up.

    The clients take turns, run by run, so that a shared machine's drift (other load, clock changes) weighs on
    every figure alike, and the ratios between them hold even when the absolute numbers move.
    """
    timings: dict[str, list[float]] = {name: [] for name in clients}
    for client in clients.values():
        consume(client, prompt)
    for _ in range(runs):
        for name, client in clients.items():
            seconds, tokens = consume(client, prompt)
            timings[name].append(tokens / seconds)
    return {name: statistics.median(values) for name, values in timings.items()}


def over_http(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key="bench", max_retries=0)


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
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    prompt = f"Count to {args.tokens}"
    request = {"model": MODEL, "max_tokens": 64_000, "stream": True, "messages": [{"role": "user", "content": prompt}]}

    with own_process() as url, start(pace="instant") as api:
        body = httpx2.post(f"{url}/v1/messages", json=request).content  # the exact bytes, to parse from memory

        def from_memory(_request: httpx2.Request) -> httpx2.Response:
            return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

        memory = anthropic.Anthropic(
            base_url="http://memory.invalid",
            api_key="bench",
            http_client=httpx2.Client(transport=httpx2.MockTransport(from_memory)),
        )
        clients = {"ceiling": memory, "separate": over_http(url), "threaded": over_http(api.url)}
        measured = rates(clients, prompt, args.runs)
        ttfb = first_byte_ms(url, args.runs * 4)
    ceiling, separate, threaded = measured["ceiling"], measured["separate"], measured["threaded"]
    tokens = consume(memory, prompt)[1]

    print(
        f"stream of {tokens} output tokens, {len(body):,} bytes, instant pace; median of {args.runs} runs, taken in turns"
    )
    print(f"  SDK parsing the same bytes from memory (ceiling, baseline) : {ceiling:>8,.0f} tokens/s")
    print(f"  SDK over HTTP, local API in its own process                : {separate:>8,.0f} tokens/s")
    print(f"    ratio to the ceiling (target >= 0.8)                     : {separate / ceiling:>8.2f}")
    print(f"  SDK over HTTP, local API in a thread of the same process   : {threaded:>8,.0f} tokens/s")
    print(f"    ratio to the ceiling (shares one interpreter lock)       : {threaded / ceiling:>8.2f}")
    print(f"  time to first byte, own process : {statistics.median(ttfb):.1f} ms median, {max(ttfb):.1f} ms max")


if __name__ == "__main__":
    main()
