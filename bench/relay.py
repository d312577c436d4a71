"""The web relay rated per core: the most concurrent streams one relay process serves on one core with time to first
token (TTFT) p99 within 25 ms of the same streams straight from the local API, and its CPU per relayed event beside
a byte pass-through's (the floor for uvicorn + Starlette + an upstream HTTP client), all from one run.

The relay is pinned to core 0 with ``taskset``; the local API and this load client share the other core(s). Streams
of about 200 tokens at 50 tokens/s are kept open in steady state (each client starts a new stream when its last one
ends, the starts spread over one stream's length); a level runs straight and through the relay in turn, 3 times.

    python bench/relay.py [--reps 3] [--quick]

Variants measured beside the shipped relay (each in its own pinned process, same uvicorn settings unless named):
``floor``: the upstream's bytes passed through unchanged · ``idiom``: lesson 08's ``messages.stream()`` +
``text_stream`` + FastAPI's ``EventSourceResponse`` · ``h11``: the shipped app on uvicorn's default h11 + asyncio.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import psutil
from pydantic import BaseModel

from helpers.web import Reader
from helpers.web.framing import streamed_text

ROOT = Path(__file__).resolve().parents[1]

MODEL = "claude-sonnet-4-6"
PROMPT = "Count to 100"  # ~200 tokens, 101 text deltas: ~4 s at 50 tokens/s
LONG_PROMPT = "Explain streaming in detail"  # still streaming when the client leaves
PACE = 50  # tokens per second
SLACK = 0.025  # seconds: the relay's TTFT p99 may exceed straight's by this much
RAMP = 4.0  # seconds over which a level's streams start (one stream's length)
WINDOW = 4.0  # seconds of steady state whose stream starts are measured
PARTS = ("cpu", "rated", "burst", "workers")
# Past the servers' default bound (400 connections: 503 after it) the local API would refuse the higher levels: it
# holds each level's streams plus the relay's kept-alive upstream connections from the level before.
CONNECTIONS = 2000
TEXT_MARKERS = {"relay": b"event: text\n", "direct": b'"text_delta"', "floor": b'"text_delta"'}


class Chat(BaseModel):  # the idiom's request body (at module level: FastAPI resolves the route's annotation here)
    messages: list[dict]
    max_tokens: int


# ---------------------------------------------------------------------------------------------------------------------
# Servers: the local API, the shipped relay (`python -m helpers.web`), and the variants (`--serve NAME`)


def serve(command: list[str], cores: str | None, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """Start a server (pinned to ``cores`` with taskset) and return the process and the URL from its first line."""
    pin = ["taskset", "-c", cores] if cores else []
    proc = subprocess.Popen([*pin, *command], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.terminate()
        sys.exit(f"{command} did not start: {line!r}")
    return proc, line.removeprefix("listening on ")


def variant_app(name: str, upstream: str):
    """The app of a variant, as the shipped relay would serve it."""
    import anthropic
    from fastapi import FastAPI
    from fastapi.sse import EventSourceResponse, ServerSentEvent
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    if name == "floor":  # the upstream's bytes, unchanged: what uvicorn + Starlette + httpx2 cost with no SDK at all
        http = httpx2.AsyncClient(timeout=60, limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=500))

        async def chat(request):
            body = await request.json()
            upstream_body = {"model": MODEL, "stream": True, **body}

            async def passthrough():
                async with http.stream("POST", f"{upstream}/v1/messages", json=upstream_body) as response:
                    async for chunk in response.aiter_raw():
                        yield chunk

            return StreamingResponse(passthrough(), media_type="text/event-stream")

        return Starlette(routes=[Route("/chat", chat, methods=["POST"])])
    if name == "idiom":  # lesson 08's idioms, framed as the relay frames its text
        client = anthropic.AsyncAnthropic(base_url=upstream, api_key="bench")
        app = FastAPI()

        @app.post("/chat", response_class=EventSourceResponse)
        async def chat(body: Chat):
            async with client.messages.stream(model=MODEL, **body.model_dump()) as stream:
                async for text in stream.text_stream:
                    yield ServerSentEvent(event="text", data={"text": text})
            yield ServerSentEvent(event="done", data={})

        return app
    raise SystemExit(f"--serve: expected floor or idiom, got {name!r}")


def serve_variant(name: str, upstream: str) -> None:
    """``--serve NAME``: serve a variant (or, for ``h11``, the shipped app on h11 + asyncio) until terminated."""
    import uvicorn

    from helpers.offline.server import DeadlineHttpToolsProtocol, bind, url_of, uvicorn_config

    os.environ.update(COURSE_OFFLINE="1", COURSE_OFFLINE_URL=upstream)
    if name == "h11":
        from helpers.web.__main__ import app as shipped

        config = uvicorn_config(shipped(), log_level="warning", loop="asyncio")  # DeadlineH11Protocol
    else:
        config = uvicorn_config(variant_app(name, upstream), http=DeadlineHttpToolsProtocol, log_level="warning")
        gc.collect()
        gc.freeze()
    sock = bind("127.0.0.1", 0)
    print(f"listening on {url_of(sock)}", flush=True)
    uvicorn.Server(config).run(sockets=[sock])


# ---------------------------------------------------------------------------------------------------------------------
# The load client: raw HTTP/1.1 on asyncio streams, so that it costs little beside the local API on its core


class Target:
    """Where streams are asked for: the local API straight, or a relay (``kind``: direct, relay or floor)."""

    def __init__(self, kind: str, url: str, prompt: str = PROMPT, api: str = ""):
        """``api``: where the Messages API is under ``url`` (a ``direct`` target's path prefix, e.g. a gateway's)."""
        self.kind, self.url = kind, url
        host, port = url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        messages = [{"role": "user", "content": prompt}]
        if kind == "direct":
            path, body = (
                f"{api}/v1/messages",
                {"model": MODEL, "max_tokens": 4096, "stream": True, "messages": messages},
            )
        else:
            path, body = "/chat", {"messages": messages, "max_tokens": 4096}
        data = json.dumps(body).encode()
        self.request = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"x-api-key: bench\r\nanthropic-version: 2023-06-01\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        ).encode() + data
        self.marker = TEXT_MARKERS[kind]


async def one_stream(target: Target, keep: bool = False) -> dict:
    """One stream: its start, seconds to the first text, text events, and (``keep``) the whole response."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(target.host, target.port)
    writer.write(target.request)
    first, tail, chunks, size = None, b"", [], 0
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), 30):
            size += len(chunk)
            if first is None and target.marker in tail + chunk:
                first = time.perf_counter() - started
            tail = chunk[-32:]
            chunks.append(chunk)
    finally:
        writer.close()
    whole = b"".join(chunks)
    if not whole.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"{target.kind}: {whole[:200]!r}")
    return {
        "start": started,
        "ttft": first,
        "events": whole.count(target.marker),
        "bytes": size,
        "raw": whole if keep else None,
    }


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        times = proc.cpu_times()
        total += times.user + times.system
    return total


async def steady(target: Target, n: int, watched: list[psutil.Process] = ()) -> dict:
    """``n`` streams kept open: TTFTs of the streams started in the steady window, CPU of ``watched`` per event."""
    began = time.perf_counter()
    window = (began + RAMP, began + RAMP + WINDOW)
    results: list[dict] = []
    rss = [p.memory_info().rss for p in watched]
    peak = list(rss)

    async def client(i: int) -> None:
        await asyncio.sleep(i * RAMP / n)
        while time.perf_counter() < window[1]:
            results.append(await one_stream(target))

    async def sample() -> None:
        while True:
            await asyncio.sleep(0.25)
            for i, p in enumerate(watched):
                peak[i] = max(peak[i], p.memory_info().rss)

    cpu = cpu_seconds(watched)
    sampler = asyncio.create_task(sample())
    await asyncio.wait_for(asyncio.gather(*(client(i) for i in range(n))), timeout=120)
    sampler.cancel()
    cpu = cpu_seconds(watched) - cpu
    events = sum(r["events"] for r in results)
    measured = sorted(r["ttft"] for r in results if window[0] <= r["start"] < window[1])
    return {
        "ttfts": measured,
        "events": events,
        "cpu_per_event": cpu / events if events else float("nan"),
        "cpu_share": cpu / (time.perf_counter() - began),
        "rss_per_stream": sum(b - a for a, b in zip(rss, peak, strict=True)) / n,
    }


def p99(values: list[float]) -> float:
    if not values:
        raise RuntimeError(
            "no stream started in the measured window: each took longer than the window (a busy machine?)"
        )
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


async def level(relay: Target, direct: Target, n: int, reps: int, relay_procs, core_procs) -> dict:
    """``n`` streams straight, then through the relay, ``reps`` times. Each repetition is a pair measured back to
    back; the level passes when the median pair's relay TTFT p99 is within SLACK of its straight p99 (one pair
    disturbed by another process on the machine does not decide it)."""
    pairs, cpu, share, rss = [], [], [], []
    for _ in range(reps):
        a = await steady(direct, n, core_procs)
        b = await steady(relay, n, relay_procs)
        pairs.append((p99(a["ttfts"]), p99(b["ttfts"])))
        cpu.append(b["cpu_per_event"])
        share.append((a["cpu_share"], b["cpu_share"]))
        rss.append(b["rss_per_stream"])
    straight, through = sorted(pairs, key=lambda pair: pair[1] - pair[0])[len(pairs) // 2]
    return {
        "n": n,
        "direct_p99": straight,
        "relay_p99": through,
        "ok": through - straight <= SLACK,
        "cpu_per_event": statistics.median(cpu),
        "relay_cpu": max(s[1] for s in share),
        "api_cpu": max(s[0] for s in share),
        "rss_per_stream": statistics.median(rss),
    }


async def rated(relay: Target, direct: Target, reps: int, relay_procs, core_procs, levels: list[int]) -> list[dict]:
    """Levels from low to high until one fails; the last that passed is the rated load."""
    out = []
    for n in levels:
        result = await level(relay, direct, n, reps, relay_procs, core_procs)
        out.append(result)
        print(
            f"    {n:4d} streams: TTFT p99 relay {ms(result['relay_p99'])} vs straight {ms(result['direct_p99'])}"
            f"  ({'within' if result['ok'] else 'OVER'} +{SLACK * 1000:.0f} ms)  relay process CPU "
            f"{result['relay_cpu']:.0%}, local API + client core {result['api_cpu']:.0%} of one core",
            flush=True,
        )
        if not result["ok"]:
            break
    return out


def rating(results: list[dict]) -> int:
    passed = [r["n"] for r in results if r["ok"]]
    return max(passed) if passed else 0


# ---------------------------------------------------------------------------------------------------------------------
# Texts, bursts, disconnects


def body_of(raw: bytes) -> bytes:
    """The body of a chunked HTTP/1.1 response."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" not in head.lower():
        return rest
    out = []
    while rest:
        size, _, rest = rest.partition(b"\r\n")
        length = int(size.split(b";")[0], 16)
        if length == 0:
            break
        out.append(rest[:length])
        rest = rest[length + 2 :]
    return b"".join(out)


async def burst(target: Target, n: int) -> dict:
    """``n`` streams asked for at the same instant: TTFT p50/p99/max, and every text."""
    results = await asyncio.wait_for(asyncio.gather(*(one_stream(target, keep=True) for _ in range(n))), 120)
    ttfts = sorted(r["ttft"] for r in results)
    return {
        "p50": statistics.median(ttfts),
        "p99": p99(ttfts),
        "max": ttfts[-1],
        "texts": [streamed_text(Reader().feed(body_of(r["raw"]))) for r in results],
    }


async def cut_latency(api: str, target: Target, runs: int) -> list[float]:
    """Seconds from a client closing its connection after the first text to the local API counting the stream as cut."""
    latencies = []
    async with httpx2.AsyncClient(timeout=10) as http:
        for _ in range(runs):
            before = (await http.get(f"{api}/_offline/stats")).json()["streams_cut_by_client"]
            reader, writer = await asyncio.open_connection(target.host, target.port)
            writer.write(target.request)
            while target.marker not in await reader.read(65536):
                pass
            writer.close()
            left = time.time()
            deadline = left + 5
            while (stats := (await http.get(f"{api}/_offline/stats")).json())["streams_cut_by_client"] == before:
                if time.time() > deadline:
                    raise RuntimeError("the upstream stream was not cut within 5 s")
                await asyncio.sleep(0.002)
            latencies.append(stats["last_cut_at"] - left)
    return latencies


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


# ---------------------------------------------------------------------------------------------------------------------


class Bench:
    """The local API on the client's cores, relays started on the relay's cores, every process stopped at the end."""

    def __init__(self, relay_cores: str | None, client_cores: str | None):
        self.relay_cores, self.client_cores = relay_cores, client_cores
        self.procs: list[subprocess.Popen] = []
        self.api_proc = None
        self.fresh_api()

    def fresh_api(self) -> Target:
        """A new local API (each part starts from one: no connections or streams left over from the last part);
        returns the target for streams straight from it."""
        if self.api_proc is not None:
            self.stop(self.api_proc)
        command = [sys.executable, "-m", "helpers.offline", "--pace", str(PACE), "--max-connections", str(CONNECTIONS)]
        self.api_proc, self.api = self.start(command, self.client_cores)
        self.core_procs = [psutil.Process(self.api_proc.pid), psutil.Process()]
        self.env = {**os.environ, "COURSE_OFFLINE": "1", "COURSE_OFFLINE_URL": self.api}
        return Target("direct", self.api)

    def start(self, command: list[str], cores: str | None, env: dict | None = None):
        proc, url = serve(command, cores, env)
        self.procs.append(proc)
        return proc, url

    def relay(self, variant: str = "shipped", workers: int = 1, cores: str | None = None):
        """(target, processes to watch, Popen) of a relay variant pinned to ``cores`` (default: the relay's)."""
        if variant == "shipped":
            command = [
                sys.executable,
                "-m",
                "helpers.web",
                "--workers",
                str(workers),
                "--max-connections",
                str(CONNECTIONS),
            ]
        else:
            command = [sys.executable, str(Path(__file__).resolve()), "--serve", variant, "--upstream", self.api]
        proc, url = self.start(command, cores or self.relay_cores, self.env)
        if variant == "shipped":
            proc.stdout.readline()  # the mode banner
        time.sleep(1.5 if workers > 1 else 0.3)  # workers start after the socket is bound
        parent = psutil.Process(proc.pid)
        watched = [parent, *parent.children(recursive=True)]
        return Target("floor" if variant == "floor" else "relay", url), watched, proc

    def stop(self, proc: subprocess.Popen) -> None:
        proc.terminate()
        proc.wait(timeout=15)
        self.procs.remove(proc)

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
            proc.wait(timeout=15)


def split_cores(server: str) -> tuple[str | None, str | None, str]:
    """Pin ``server`` (the relay or the gateway) to the first core and this client to the others: their cores (None
    on one core) and a phrase saying where each runs."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None, None, f"one core: {server}, local API and client share it (the figures then measure the machine)"
    server_cores, client_cores = str(cores[0]), ",".join(map(str, cores[1:]))
    os.sched_setaffinity(0, set(cores[1:]))
    return (
        server_cores,
        client_cores,
        f"{server} pinned to core {server_cores}; local API and this client on core(s) {client_cores}",
    )


async def run(args) -> None:
    cores = sorted(os.sched_getaffinity(0))  # every core, before this client is pinned (the workers part uses them)
    relay_cores, client_cores, where = split_cores("relay")
    reps = 1 if args.quick else args.reps
    levels = [100, 150, 200, 250, 300, 350] if not args.quick else [150, 200]
    bench = Bench(relay_cores, client_cores)
    print(f"streams of {PROMPT!r} (~200 tokens) at {PACE} tokens/s, kept open; {where}; {reps} repetitions", flush=True)
    try:
        # 1. CPU per relayed text event, each variant at the same load (below saturation), the floor first
        if "cpu" in args.parts:
            await cpu_per_event(bench, reps)

        # 2. Rated load: the largest level whose relay TTFT p99 stays within SLACK of straight
        shipped_rating = levels[0]
        if "rated" in args.parts:
            shipped_rating = await rated_load(bench, bench.fresh_api(), reps, levels)

        # 3. A burst, 4. one stream at a time, and a client that leaves
        if "burst" in args.parts:
            await arrivals(bench, bench.fresh_api(), reps)

        # 5. Beyond one core: workers on free cores, and where this machine stops
        if "workers" in args.parts:
            await scaling(bench, bench.fresh_api(), reps, levels, cores, shipped_rating)
    finally:
        bench.close()


async def cpu_per_event(bench: Bench, reps: int) -> None:
    """Each variant at the same load (below saturation); the floor and the shipped relay in turn, ``reps`` pairs,
    so that whatever else runs on the machine weighs on both alike."""
    print(f"\nrelay process CPU per relayed text event, 100 streams kept open ({RAMP + WINDOW:.0f} s + tail each)")
    per_event: dict[str, list[float]] = {}
    order = [variant for _ in range(reps) for variant in ("floor", "shipped")] + ["h11", "idiom"]
    for variant in order:
        target, watched, proc = bench.relay(variant)
        await one_stream(target)  # warm up
        per_event.setdefault(variant, []).append((await steady(target, 100, watched))["cpu_per_event"])
        bench.stop(proc)
    ratios = [shipped / floor for floor, shipped in zip(per_event["floor"], per_event["shipped"], strict=True)]
    floor = statistics.median(per_event["floor"])
    labels = {
        "floor": "byte pass-through (the floor)",
        "shipped": "shipped relay (SSE read directly, httptools, uvloop)",
        "h11": "shipped app on h11 + asyncio",
        "idiom": "lesson 08's idiom (messages.stream, EventSourceResponse)",
    }
    for variant, seconds in per_event.items():
        runs = len(seconds)
        seconds = statistics.median(seconds)
        print(
            f"  {labels[variant]:<58}: {seconds * 1e6:6.0f} µs  = {seconds / floor:4.2f}x the floor"
            + (f"  (median of {runs})" if runs > 1 else "")
        )
    ratio = statistics.median(ratios)
    print(
        f"  shipped / floor, pair by pair: {', '.join(f'{r:.2f}' for r in ratios)}; median {ratio:.2f}x "
        f"(target <= 1.3x: {'met' if ratio <= 1.3 else 'MISSED'})"
    )


async def rated_load(bench: Bench, direct: Target, reps: int, levels: list[int]) -> int:
    print(
        f"\nrated load: concurrent streams with TTFT p99 within {SLACK * 1000:.0f} ms of straight (each level: straight "
        f"then relay, {reps} pairs; the median pair shown)"
    )
    target, watched, proc = bench.relay("shipped")
    await one_stream(target)
    results = await rated(target, direct, reps, watched, bench.core_procs, levels)
    shipped_rating = rating(results)
    last_ok = next((r for r in reversed(results) if r["ok"]), results[0])
    print(f"  shipped relay, 1 worker on 1 core: {shipped_rating} streams (target >= 150, aim 200)")
    print(
        f"  relay memory per open stream at {last_ok['n']}: {last_ok['rss_per_stream'] / 1024:.1f} KiB (RSS growth / streams)"
    )

    bench.stop(proc)
    return shipped_rating


async def arrivals(bench: Bench, direct: Target, reps: int) -> None:
    target, _, proc = bench.relay("shipped")
    await one_stream(target)
    print(f"\na burst: 200 streams asked for at the same instant (each way {reps} times, in turn)")
    bursts = {"direct": [], "relay": []}
    for _ in range(reps):
        bursts["direct"].append(await burst(direct, 200))
        bursts["relay"].append(await burst(target, 200))
        # The relay keeps its 200 upstream connections alive; the local API closes idle ones after 5 s. Wait, or the
        # next straight burst would meet the local API's limit of 400 connections (503).
        await asyncio.sleep(6)
    for kind, label in (("relay", "through the relay"), ("direct", "straight (baseline)")):
        runs = bursts[kind]
        print(
            f"  {label:<20}: TTFT p50 {ms(statistics.median(r['p50'] for r in runs))}  p99 "
            f"{ms(statistics.median(r['p99'] for r in runs))}  max {ms(max(r['max'] for r in runs))}"
        )
    expected = bursts["direct"][0]["texts"][0]
    texts = [t for r in bursts["relay"] for t in r["texts"]]
    exact = sum(t == expected for t in texts)
    print(f"  text through the relay: {exact} of {len(texts)} streams byte-exact ({len(expected.encode())} bytes each)")

    # 4. One stream at a time, and a client that leaves
    quiet = {}
    for kind, t in (("relay", target), ("direct", direct)):
        quiet[kind] = statistics.median([(await one_stream(t))["ttft"] for _ in range(10)])
    print(f"\none stream at a time: TTFT relay {ms(quiet['relay'])}, straight (baseline) {ms(quiet['direct'])}")
    relay_cut = await cut_latency(bench.api, Target("relay", target.url, LONG_PROMPT), 30)
    direct_cut = await cut_latency(bench.api, Target("direct", bench.api, LONG_PROMPT), 30)
    print(
        f"client leaves after the first text (30 times) -> local API counts the stream cut: relay p50 "
        f"{ms(statistics.median(relay_cut))} max {ms(max(relay_cut))}; straight p50 "
        f"{ms(statistics.median(direct_cut))} max {ms(max(direct_cut))} (target <= 100 ms)"
    )
    bench.stop(proc)


async def scaling(bench: Bench, direct: Target, reps: int, levels: list[int], cores: list[int], shipped_rating: int):
    print("\nworkers (python -m helpers.web --workers N): rated load by workers, each on a core of its own")
    free = len(cores) - 1  # one core stays for the local API and the client
    print(f"  1 worker, 1 core: {shipped_rating} streams (above)")
    for workers in (2, 4, 8):
        if workers > free:
            break
        w_target, w_watched, w_proc = bench.relay("shipped", workers, ",".join(map(str, cores[:workers])))
        w_results = await rated(w_target, direct, reps, w_watched, bench.core_procs, [n * workers for n in levels[1:]])
        print(f"  {workers} workers, {workers} cores: {rating(w_results)} streams")
        bench.stop(w_proc)
    if free < 2:
        n = max(shipped_rating, levels[0])
        w_target, w_watched, w_proc = bench.relay("shipped", 2, ",".join(map(str, cores)))
        shared = await level(w_target, direct, n, reps, w_watched, bench.core_procs)
        bench.stop(w_proc)
        print(
            f"  this machine has {len(cores)} cores: a 2nd worker has no core of its own. 2 workers sharing both "
            f"cores with the local API and the client, {n} streams: TTFT p99 relay {ms(shared['relay_p99'])} vs "
            f"straight {ms(shared['direct_p99'])} ({'within' if shared['ok'] else 'OVER'} +{SLACK * 1000:.0f} ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each level (default 3)")
    parser.add_argument("--quick", action="store_true", help="one repetition, two levels: a smoke run")
    parser.add_argument(
        "--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)} (default: all)"
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # a variant's server process (floor, idiom, h11)
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_variant(args.serve, args.upstream)
        return
    if not 1 <= args.reps <= 10:
        parser.error(f"--reps: expected 1 to 10, got {args.reps}")
    args.parts = args.parts.split(",")
    if unknown := set(args.parts) - set(PARTS):
        parser.error(f"--parts: expected some of {', '.join(PARTS)}, got {', '.join(sorted(unknown))}")
    import uvloop

    uvloop.run(run(args))


if __name__ == "__main__":
    main()
