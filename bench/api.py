"""Local API throughput through the SDK, against the SDK parsing the same bytes from memory (its ceiling).

The local API must not be the bottleneck of the course's tests: over real HTTP on loopback it should reach at least
0.8 of what the SDK manages when the bytes come from memory (httpx2.MockTransport, no socket, no server).
Also prints the time to first byte at instant pace.

    python bench/api.py [--tokens 5000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=5000, help="count to N (about 2 tokens per number)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    prompt = f"Count to {args.tokens}"

    with start(pace="instant") as api:
        http_client = anthropic.Anthropic(base_url=api.url, api_key="bench", max_retries=0)
        with httpx2.Client() as raw:  # the exact body, to replay from memory
            body = raw.post(
                f"{api.url}/v1/messages",
                json={
                    "model": MODEL,
                    "max_tokens": 100_000,
                    "stream": True,
                    "messages": [{"role": "user", "content": prompt}],
                },
            ).content

        def from_memory(request: httpx2.Request) -> httpx2.Response:
            return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

        memory_client = anthropic.Anthropic(
            base_url="http://memory.invalid",
            api_key="bench",
            http_client=httpx2.Client(transport=httpx2.MockTransport(from_memory)),
        )
        consume(http_client, prompt), consume(memory_client, prompt)  # warm up

        over_http = [consume(http_client, prompt) for _ in range(args.runs)]
        in_memory = [consume(memory_client, prompt) for _ in range(args.runs)]

        ttfb = []
        with httpx2.Client() as raw:
            for _ in range(args.runs * 4):
                t0 = time.perf_counter()
                with raw.stream(
                    "POST",
                    f"{api.url}/v1/messages",
                    json={
                        "model": MODEL,
                        "max_tokens": 64,
                        "stream": True,
                        "messages": [{"role": "user", "content": "Write a haiku about debugging."}],
                    },
                ) as r:
                    chunks = r.iter_raw()
                    next(chunks)
                    ttfb.append(time.perf_counter() - t0)
                    for _ in chunks:
                        pass

    tokens = over_http[0][1]
    http_rate = tokens / statistics.median(t for t, _ in over_http)
    memory_rate = tokens / statistics.median(t for t, _ in in_memory)
    print(f"stream of {tokens} output tokens, {len(body):,} bytes; median of {args.runs} runs")
    print(f"  SDK over HTTP from the local API : {http_rate:>10,.0f} tokens/s")
    print(f"  SDK parsing the same bytes (ceiling, baseline): {memory_rate:>10,.0f} tokens/s")
    print(f"  ratio (target >= 0.8)            : {http_rate / memory_rate:>10.2f}")
    print(
        f"  time to first byte, instant pace : {statistics.median(ttfb) * 1000:>10.1f} ms median, {max(ttfb) * 1000:.1f} ms max"
    )


if __name__ == "__main__":
    main()
