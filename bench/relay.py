"""The web relay under load: 200 concurrent streams through helpers.web, against the same streams straight from the
local API (the baseline, measured in the same run, by the same client code).

Prints time to first token p50/p99, text bytes delivered (byte-exact), memory per open stream, and how long after a
client leaves the upstream stream is cut. The local API and the relay each run in their own process, so memory is
measured per process; the client reads raw SSE in this process for both the relay and the baseline.

    python bench/relay.py [--streams 200] [--pace 50] [--leaves 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import psutil

from helpers.web import Reader

ROOT = Path(__file__).resolve().parents[1]
MODEL = "claude-sonnet-4-6"
PROMPT = "Count to 100"  # about 200 tokens: a few seconds per stream at the bench's pace, so all streams overlap
LONG_PROMPT = "Explain streaming in detail"  # still streaming when the client leaves
SHORT_PROMPT = "Write a haiku about debugging."  # for time to first token without load


def serve(module: str, *args: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """Start ``python -m module --port 0 ...`` and return the process and the URL from its first line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.terminate()
        sys.exit(f"{module} did not start: {line!r}")
    return proc, line.removeprefix("listening on ")


def direct_request(api: str, prompt: str) -> dict:
    body = {"model": MODEL, "max_tokens": 4096, "stream": True, "messages": [{"role": "user", "content": prompt}]}
    return {"method": "POST", "url": f"{api}/v1/messages", "json": body}


def relay_request(relay: str, prompt: str) -> dict:
    return {
        "method": "POST",
        "url": f"{relay}/chat",
        "json": {"messages": [{"role": "user", "content": prompt}], "max_tokens": 4096},
    }


def text_in(event) -> str:
    """The text an event carries, whether it comes from the relay (``text``) or the Messages API (a text delta)."""
    if event.event == "text":
        return json.loads(event.data)["text"]
    if event.event == "content_block_delta":
        delta = json.loads(event.data)["delta"]
        return delta.get("text", "")
    return ""


async def one_stream(http: httpx2.AsyncClient, request: dict) -> tuple[float, str, int]:
    """(seconds to the first text, the whole text, bytes on the wire)."""
    started, first, text, wire, reader = time.perf_counter(), None, [], 0, Reader()
    async with http.stream(**request) as response:
        response.raise_for_status()
        async for chunk in response.aiter_raw():
            wire += len(chunk)
            for event in reader.feed(chunk):
                if piece := text_in(event):
                    first = first or time.perf_counter() - started
                    text.append(piece)
    return first, "".join(text), wire


async def load(http: httpx2.AsyncClient, request: dict, n: int, watched: psutil.Process) -> dict:
    """``n`` concurrent streams; the RSS of ``watched`` is sampled while they run."""
    await one_stream(http, request)  # warm up: imports, connection pools, first allocations
    idle = peak = watched.memory_info().rss

    async def sample():
        nonlocal peak
        while True:
            peak = max(peak, watched.memory_info().rss)
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    results = await asyncio.wait_for(asyncio.gather(*(one_stream(http, request) for _ in range(n))), timeout=300)
    elapsed = time.perf_counter() - started
    sampler.cancel()
    ttft = sorted(r[0] for r in results)
    return {
        "ttft_p50": statistics.median(ttft),
        "ttft_p99": ttft[min(len(ttft) - 1, round(0.99 * (len(ttft) - 1)))],
        "texts": [r[1] for r in results],
        "wire": sum(r[2] for r in results),
        "per_stream": (peak - idle) / n,
        "elapsed": elapsed,
    }


async def unloaded_ttft(http: httpx2.AsyncClient, request: dict, runs: int = 10) -> float:
    """Median time to first token of streams read one at a time: the relay's own cost, without contention."""
    return statistics.median([(await one_stream(http, request))[0] for _ in range(runs)])


async def cut_latency(http: httpx2.AsyncClient, api: str, request: dict, runs: int) -> list[float]:
    """Seconds from a client closing its connection after the first text to the local API counting the stream as cut."""
    latencies = []
    for _ in range(runs):
        before = (await http.get(f"{api}/_offline/stats")).json()["streams_cut_by_client"]
        async with http.stream(**request) as response:
            reader = Reader()
            async for chunk in response.aiter_raw():
                if any(text_in(e) for e in reader.feed(chunk)):
                    break
            left = time.time()  # leaving this block closes the connection
        deadline = left + 5
        while (stats := (await http.get(f"{api}/_offline/stats")).json())["streams_cut_by_client"] == before:
            if time.time() > deadline:
                raise RuntimeError("the upstream stream was not cut within 5 s")
            await asyncio.sleep(0.002)
        latencies.append(stats["last_cut_at"] - left)
    return latencies


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


async def run(args) -> None:
    api_proc, api = serve("helpers.offline", "--pace", str(args.pace))
    env = {**os.environ, "COURSE_OFFLINE": "1", "COURSE_OFFLINE_URL": api}
    relay_proc, relay = serve("helpers.web", env=env)
    relay_proc.stdout.readline()  # the mode banner
    try:
        limits = httpx2.Limits(max_connections=args.streams + 50, max_keepalive_connections=args.streams + 50)
        async with httpx2.AsyncClient(limits=limits, timeout=60) as http:
            direct = await load(http, direct_request(api, PROMPT), args.streams, psutil.Process(api_proc.pid))
            relayed = await load(http, relay_request(relay, PROMPT), args.streams, psutil.Process(relay_proc.pid))
            quiet = [
                await unloaded_ttft(http, make(url, PROMPT))
                for make, url in ((relay_request, relay), (direct_request, api))
            ]
            direct_cut = await cut_latency(http, api, direct_request(api, LONG_PROMPT), args.leaves)
            relay_cut = await cut_latency(http, api, relay_request(relay, LONG_PROMPT), args.leaves)
    finally:
        for proc in (relay_proc, api_proc):
            proc.terminate()
            proc.wait(timeout=10)

    expected = direct["texts"][0]
    exact = sum(t == expected for t in relayed["texts"])
    delivered = sum(len(t.encode()) for t in relayed["texts"])
    n = args.streams
    print(f"{n} concurrent streams of {PROMPT!r} at {args.pace} tokens/s, loopback; relay vs the same streams direct")
    print(f"  time to first token p50   : relay {ms(relayed['ttft_p50'])}   direct (baseline) {ms(direct['ttft_p50'])}")
    print(f"  time to first token p99   : relay {ms(relayed['ttft_p99'])}   direct (baseline) {ms(direct['ttft_p99'])}")
    print(f"  ... one stream at a time  : relay {ms(quiet[0])}   direct (baseline) {ms(quiet[1])}")
    print(
        f"  all {n} streams finished in: relay {relayed['elapsed']:8.2f} s    direct (baseline) {direct['elapsed']:8.2f} s"
    )
    print(
        f"  text delivered            : {delivered:,} of {n * len(expected.encode()):,} bytes, {exact} of {n} streams byte-exact"
    )
    print(f"  bytes on the wire         : relay {relayed['wire']:,}   direct (baseline) {direct['wire']:,}")
    print(
        f"  memory per open stream    : relay {relayed['per_stream'] / 1024:8.1f} KiB   local API (baseline) {direct['per_stream'] / 1024:8.1f} KiB  (RSS growth / {n})"
    )
    print(f"client leaves after the first token, {args.leaves} times; until the local API counts the stream as cut")
    print(
        f"  through the relay         : p50 {ms(statistics.median(relay_cut))}   max {ms(max(relay_cut))}   (target <= 100 ms)"
    )
    print(f"  direct (baseline)         : p50 {ms(statistics.median(direct_cut))}   max {ms(max(direct_cut))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=200, help="concurrent streams (default 200)")
    parser.add_argument("--pace", type=float, default=50, help="tokens per second of the local API (default 50)")
    parser.add_argument("--leaves", type=int, default=30, help="disconnects to time (default 30)")
    args = parser.parse_args()
    if not 1 <= args.streams <= 1000:
        parser.error("--streams: expected 1 to 1000 (a loopback load test, bounded)")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
