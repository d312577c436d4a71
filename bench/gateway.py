"""The class gateway (helpers/gateway) measured as bench/relay.py measures the relay, all from one run:

1. its process's CPU per relayed text event beside a byte pass-through's (the floor: uvicorn + Starlette + httpx2
   passing the upstream's bytes on, no token check, no limits, no usage read on the side), pair by pair;
2. a class of 30 learners streaming at 50 tokens/s through the one gateway process: time to first token (TTFT) p99
   through it against the same streams straight from the local Messages API and through the floor, in turn, 5 times
   (the floor's excess over straight is the machine's: a second process to wake, on a core others may keep busy).

The gateway is the shipped app (``helpers.gateway.app.Gateway``) with its SQLite store, served with the uvicorn
settings ``python -m helpers.gateway`` uses, pinned to core 0 with ``taskset``; the local API (50 tokens/s) and this
load client share the other core(s). One thing stands in: the hub. The gateway asks the hub who holds a token, and
HubAuth caches the answer, so in steady state a request's check is a cache lookup; here a dict answers it. The
instructor's limits are raised out of the way (a refusal would end a stream early and spoil the count).

    python bench/gateway.py [--reps 5] [--learners 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import psutil

# bench/relay.py's load client and servers (this folder is on sys.path when a bench script runs)
from relay import SLACK, Bench, Target, ms, one_stream, p99, split_cores, steady

PREFIX = "/services/gateway"  # where the hub serves the gateway; the bench serves it there too
STREAMS = 100  # the load CPU per event is measured at: below one core's saturation, as for the relay


def app_of(name: str, upstream: str):
    """The app a pinned server process serves: the shipped gateway, or the floor."""
    import httpx2
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    if name == "floor":  # the upstream's bytes, unchanged, at the gateway's path
        http = httpx2.AsyncClient(
            timeout=60, limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=1000)
        )

        async def messages(request):
            body = await request.body()
            headers = {"content-type": "application/json", "x-api-key": "bench", "anthropic-version": "2023-06-01"}

            async def passthrough():
                async with http.stream("POST", f"{upstream}/v1/messages", content=body, headers=headers) as response:
                    async for chunk in response.aiter_raw():
                        yield chunk

            return StreamingResponse(passthrough(), media_type="text/event-stream")

        return Starlette(routes=[Route(f"{PREFIX}/v1/messages", messages, methods=["POST"])])
    if name == "gateway":
        from helpers.gateway.app import Gateway, Hub, Upstream
        from helpers.gateway.store import Limits, Store

        async def identify(token: str) -> str | None:
            return {"bench": "learner01"}.get(token)

        async def nobody(name: str) -> bool:
            return False

        async def no_code(code: str) -> str:
            raise RuntimeError("the bench logs no instructor in")

        store = Store(Path(tempfile.mkdtemp(prefix="gateway-bench-")) / "gateway.sqlite")
        store.set_limits(Limits(streams=10**6, per_minute=10**9, tokens=10**9))
        hub = Hub(identify, nobody, lambda state: "/hub/api/oauth2/authorize", no_code)
        upstreams = {"offline": lambda: Upstream(upstream, "bench", offline=True)}
        return Gateway(store, hub, upstreams, prefix=PREFIX).app()
    raise SystemExit(f"--serve: expected floor or gateway, got {name!r}")


def serve_one(name: str, upstream: str) -> None:
    """``--serve NAME``: serve it until terminated, as ``python -m helpers.gateway`` serves the gateway."""
    from helpers.gateway.__main__ import serve
    from helpers.offline.server import bind, url_of

    app = app_of(name, upstream)
    sock = bind("127.0.0.1", 0)
    print(f"listening on {url_of(sock)}", flush=True)
    serve(app, sock)


def start(bench: Bench, name: str) -> tuple[Target, list[psutil.Process], object]:
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", name, "--upstream", bench.api]
    proc, url = bench.start(command, bench.relay_cores, bench.env)
    return Target("direct", url, api=PREFIX), [psutil.Process(proc.pid)], proc


async def cpu_per_event(bench: Bench, reps: int) -> None:
    print(f"\ngateway process CPU per relayed text event, {STREAMS} streams kept open, floor and gateway in turn")
    per_event: dict[str, list[float]] = {"floor": [], "gateway": []}
    for _ in range(reps):
        for name in per_event:
            target, watched, proc = start(bench, name)
            await one_stream(target)  # warm up
            per_event[name].append((await steady(target, STREAMS, watched))["cpu_per_event"])
            bench.stop(proc)
    floor = statistics.median(per_event["floor"])
    labels = {"floor": "byte pass-through (the floor)", "gateway": "shipped gateway (token, limits, usage)"}
    for name, seconds in per_event.items():
        print(
            f"  {labels[name]:<40}: {statistics.median(seconds) * 1e6:6.0f} µs  = "
            f"{statistics.median(seconds) / floor:4.2f}x the floor  (median of {len(seconds)})"
        )
    ratios = [g / f for f, g in zip(per_event["floor"], per_event["gateway"], strict=True)]
    ratio = statistics.median(ratios)
    print(
        f"  gateway / floor, pair by pair: {', '.join(f'{r:.2f}' for r in ratios)}; median {ratio:.2f}x "
        f"(target <= 1.3x: {'met' if ratio <= 1.3 else 'MISSED'})"
    )


async def class_ttft(bench: Bench, learners: int, reps: int) -> None:
    """The class's streams straight, through the gateway and through the floor, in turn, ``reps`` times. The floor
    shares the gateway's core and its hop: what it adds over straight is the machine's (another process to wake on
    a busy core), what the gateway adds beyond it is the gateway's own."""
    print(
        f"\na class of {learners} streaming at 50 tokens/s: straight, through the gateway, through the floor; {reps} times"
    )
    direct = bench.fresh_api()
    servers = {name: start(bench, name) for name in ("gateway", "floor")}
    p99s: dict[str, list[float]] = {"straight": [], "gateway": [], "floor": []}
    share = []
    for target, _, _ in servers.values():
        await one_stream(target)  # warm up
    for _ in range(reps):
        p99s["straight"].append(p99((await steady(direct, learners, bench.core_procs))["ttfts"]))
        for name, (target, watched, _) in servers.items():
            result = await steady(target, learners, watched)
            p99s[name].append(p99(result["ttfts"]))
            if name == "gateway":
                share.append(result["cpu_share"])
    for _, _, proc in servers.values():
        bench.stop(proc)
    over = {
        name: statistics.median(b - a for a, b in zip(p99s["straight"], p99s[name], strict=True)) for name in servers
    }
    print(
        f"  {learners} learners: TTFT p99 gateway {ms(statistics.median(p99s['gateway']))} vs straight "
        f"{ms(statistics.median(p99s['straight']))}  (+{over['gateway'] * 1000:.1f} ms, the median of {reps}; target "
        f"within +{SLACK * 1000:.0f} ms: {'met' if over['gateway'] <= SLACK else 'MISSED'}); gateway process CPU "
        f"{max(share):.0%} of one core"
    )
    print(
        f"  the floor on the gateway's core: TTFT p99 {ms(statistics.median(p99s['floor']))} (+{over['floor'] * 1000:.1f}"
        f" ms over straight): the gateway's own share +{(over['gateway'] - over['floor']) * 1000:.1f} ms"
    )


async def run(args) -> None:
    gateway_cores, client_cores, where = split_cores("gateway")
    print(f"streams of ~200 tokens at 50 tokens/s; {where}; load average {os.getloadavg()[0]:.2f}", flush=True)
    bench = Bench(gateway_cores, client_cores)
    try:
        await cpu_per_event(bench, args.reps)
        await class_ttft(bench, args.learners, args.reps)
    finally:
        bench.close()
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="pairs of each measurement (default 5)")
    parser.add_argument("--learners", type=int, default=30, help="the class's size (default 30)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # a pinned server process: floor or gateway
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_one(args.serve, args.upstream)
        return
    if not 1 <= args.reps <= 10:
        parser.error(f"--reps: expected 1 to 10, got {args.reps}")
    if not 1 <= args.learners <= 500:
        parser.error(f"--learners: expected 1 to 500, got {args.learners}")
    import uvloop

    uvloop.run(run(args))


if __name__ == "__main__":
    main()
