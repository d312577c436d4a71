"""Write the figure tables of README.md and docs/workshop.md from one recorded `make bench` run (docs/bench/*.txt).

    make bench | tee docs/bench/make-bench-YYYY-MM-DD.txt   # record a run (the newest file by name is the one used)
    python bench/run_all.py gateway | tee docs/bench/bench-gateway-YYYY-MM-DD.txt   # one part, recorded again
    python bench/hub.py --learners 30 --gateway | tee docs/bench/hub-gateway-30-YYYY-MM-DD.txt   # cohort mode
    python tools/figures.py                                 # rewrite the generated parts of both documents
    python tools/figures.py --check                         # exit 1 if they differ from the recording (a test runs it)

Every figure is read from the recording by one pattern in FIGURES, so a document cannot quote a figure the run did
not print, and two documents cannot quote different runs. A section listed in SEPARATE may come from a recording of
its own, when that one is newer than the whole run (or the whole run lacks it); the documents then name both files.
Derived tables (the guide's sizing) are computed here from recorded figures, never typed. The generated parts sit between
``<!-- figures:NAME -->`` and ``<!-- /figures:NAME -->`` markers; everything else in the documents is left alone.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

from markers import replace_between, report, update

ROOT = Path(__file__).resolve().parents[1]
RECORDINGS = ROOT / "docs" / "bench"
DOCUMENTS = [ROOT / "README.md", ROOT / "docs" / "workshop.md"]

# Sections a recording of their own may supply (see the docstring): section -> its recordings' file names
SEPARATE = {"gateway": "bench-gateway-*.txt", "hub-gateway": "hub-gateway-*.txt"}

NUM = r"([\d,.]+)"
# name -> (section of the recording, pattern whose groups are the figure's parts). A section is what follows its
# "## name" line; "widgets/realistic" and "widgets/instant" are the two halves of the widgets section.
FIGURES: dict[str, tuple[str, str]] = {
    "machine": ("", r"machine: nproc (\d+), ([^,]+), ([\d.]+ GiB RAM), (\w+) [^,]*, Python ([\d.]+)"),
    # widgets
    "view_cell": ("widgets/realistic", rf"TextView +{NUM} kB +{NUM}x +(\d+)"),
    "print_cell": ("widgets/realistic", rf"print loop +{NUM} kB +{NUM}x +(\d+)"),
    "html_cell": ("widgets/realistic", rf"HTML\.value \+= +{NUM} kB +{NUM}x"),
    "realistic_text": ("widgets/realistic", rf"{NUM} kB of text in (\d+) deltas \((\d+) deltas/s\)"),
    "instant_text": ("widgets/instant", rf"{NUM} kB of text in (\d+) deltas"),
    "instant_updates": ("widgets/instant", rf"TextView updates: (\d+) messages, {NUM} kB = {NUM}x the text"),
    "instant_view_cell": ("widgets/instant", rf"TextView +{NUM} kB +{NUM}x"),
    "instant_print": ("widgets/instant", rf"print loop +{NUM} MB +{NUM}x +(\d+)"),
    "instant_html": ("widgets/instant", rf"HTML\.value \+= +{NUM} MB +{NUM}x"),
    "view_open": ("widgets/realistic", rf"the kernel's first {NUM} kB, a second {NUM} kB"),
    "latency_realistic": ("widgets/realistic", r"per delta: median (\d+) ms, p99 (\d+) ms"),
    "latency_instant": ("widgets/instant", r"per delta: median (\d+) ms, p99 (\d+) ms"),
    # api
    "api_ceiling": ("api", rf"ceiling, baseline\) +: +{NUM} tokens/s"),
    "api_process": ("api", rf"own process +: +{NUM} tokens/s\n +ratio to the ceiling[^:]*: +{NUM}"),
    "api_thread": ("api", rf"same process +: +{NUM} tokens/s\n +ratio to the ceiling[^:]*: +{NUM}"),
    "api_ttfb": ("api", rf"time to first byte, own process : {NUM} ms median, {NUM} ms max"),
    # relay
    "relay_floor": ("relay", r"byte pass-through \(the floor\) +: +(\d+) µs"),
    "relay_shipped": ("relay", r"shipped relay \([^)]*\) +: +(\d+) µs"),
    "relay_h11": ("relay", rf"shipped app on h11 \+ asyncio +: +\d+ µs += {NUM}x"),
    "relay_idiom": ("relay", rf"lesson 08's idiom [^:]*: +(\d+) µs += {NUM}x"),
    "relay_pairs": ("relay", rf"pair by pair: ([\d., ]+); median {NUM}x"),
    "relay_rated": ("relay", r"1 worker on 1 core: (\d+) streams"),
    # the last level within the target: the one the rating names
    "relay_rated_p99": (
        "relay",
        rf"(\d+) streams: TTFT p99 relay +{NUM} ms vs straight +{NUM} ms +\(within[^\n]*\n[^\n]*OVER",
    ),
    "relay_over": ("relay", rf"(\d+) streams: TTFT p99 relay +{NUM} ms vs straight +{NUM} ms +\(OVER"),
    "burst": ("relay", r"a burst: (\d+) streams"),
    "burst_relay": ("relay", rf"through the relay +: TTFT p50 +{NUM} ms +p99 +{NUM} ms"),
    "burst_straight": ("relay", rf"straight \(baseline\) : TTFT p50 +{NUM} ms +p99 +{NUM} ms"),
    "burst_exact": ("relay", r"text through the relay: (\d+) of (\d+) streams byte-exact"),
    "one_stream": ("relay", rf"one stream at a time: TTFT relay +{NUM} ms, straight \(baseline\) +{NUM} ms"),
    "client_leaves": (
        "relay",
        rf"\((\d+) times\) -> [^:]*: relay p50 +{NUM} ms max +{NUM} ms; straight p50 +{NUM} ms max +{NUM} ms",
    ),
    "workers": ("relay", rf"(\d+) streams: TTFT p99 relay +{NUM} ms vs straight +{NUM} ms \(within \+25 ms\)\n\("),
    # the class gateway (bench/gateway.py)
    "gw_floor": ("gateway", r"byte pass-through \(the floor\) +: +(\d+) µs"),
    "gw_cpu": ("gateway", r"shipped gateway \([^)]*\) +: +(\d+) µs"),
    "gw_pairs": ("gateway", rf"pair by pair: ([\d., ]+); median {NUM}x"),
    "gw_class": ("gateway", rf"(\d+) learners: TTFT p99 gateway +{NUM} ms vs straight +{NUM} ms +\(\+?(-?[\d.]+) ms"),
    "gw_reps": ("gateway", r"through the floor; (\d+) times"),
    "gw_floor_class": (
        "gateway",
        rf"the floor on the gateway's core: TTFT p99 +{NUM} ms \(\+?(-?[\d.]+) ms over straight\): the gateway's own "
        r"share \+?(-?[\d.]+) ms",
    ),
    "gw_load": ("gateway", rf"load average {NUM}\n(?:.*\n)*load average at the end: {NUM}"),
    # cohort mode on the hub (bench/hub.py --gateway)
    "hgw_line": ("hub-gateway", r"^(gateway: .*)$"),
    "hgw_ready": ("hub-gateway", r"learners ready: (\d+)/(\d+) · streamed: (\d+)/(\d+)"),
    "hgw_up": ("hub-gateway", rf"every server was up: {NUM} s"),
    "hgw_ttft": ("hub-gateway", r"lesson 01's first streaming cell: p50 (\d+) ms, p99 (\d+) ms"),
    "hgw_memory": ("hub-gateway", r"after lesson 01 [^:]*: RSS (\d+) MiB \(max \d+\), PSS (\d+) MiB"),  # RSS, PSS
    "hgw_parts": ("hub-gateway", r"memory per learner \(RSS\): \d+ MiB = server (\d+) \+ kernel (\d+) \+ relay (\d+)"),
    "hgw_class": (
        "hub-gateway",
        r"through the gateway (\d+) ms, straight from the class's local API (\d+) ms \(\+?(-?\d+) ms",
    ),
    "hgw_gateway": ("hub-gateway", r"gateway process with the class's local API: (\d+) MiB"),
    "hgw_load": ("hub-gateway", rf"load average \(1 min\) of this machine: {NUM} when the class started, {NUM} at"),
    # kernel memory
    "mem_bare": ("kernel_memory", r"bare kernel \(baseline\) +(\d+) +(\d+)"),
    "mem_course": ("kernel_memory", r"kernel, course loaded \+ 1 stream +(\d+) +(\d+)"),
    "mem_long": ("kernel_memory", r"kernel, \+ a 2000-number stream +(\d+) +(\d+)"),
    "mem_lab": ("kernel_memory", r"JupyterLab server, 1 kernel running +(\d+) +(\d+)"),
    "mem_relay": ("kernel_memory", r"proxied relay process \(/relay/\) +(\d+) +(\d+)"),
    "mem_api": ("kernel_memory", r"proxied local API process \(/offline-api/\) +(\d+) +(\d+)"),
    "mem_added": ("kernel_memory", rf"the course adds (\d+) MiB RSS to a bare kernel \({NUM}x the baseline\)"),
    # hub
    "hub_line": ("hub", r"^(hub: .*)$"),
    "hub_ready": ("hub", r"learners ready: (\d+)/(\d+) · streamed: (\d+)/(\d+)"),
    "hub_up": ("hub", rf"every server was up: {NUM} s \(.*?, {NUM} s per server\)"),
    "hub_run": ("hub", rf"{NUM} CPU s \({NUM} per learner\), {NUM} of (\d+) cores busy.*p50 {NUM} s, p99 {NUM} s"),
    "hub_ttft": ("hub", r"lesson 01's first streaming cell: p50 (\d+) ms, p99 (\d+) ms \(.*? is ([\d-]+ ms)\)"),
    "hub_relay_ttft": ("hub", r"relay page through /user/NAME/relay/: p50 (\d+) ms, p99 (\d+) ms"),
    "hub_memory": (
        "hub",
        r"memory per learner \(RSS\): (\d+) MiB = server (\d+) \+ .*? (\d+) \+ relay (\d+).*USS (\d+)",
    ),
    "hub_own": ("hub", r"hub's own memory \(RSS\): hub (\d+) MiB \+ proxy (\d+) MiB"),
    "hub_reconnects": ("hub", r"reconnects, [^:]*: (\d+)"),
    # test time
    "nbval": ("test_time", r"nbval part [^:]*: +(\d+) s .*? (\d+) passed"),
    "suite": ("test_time", r"whole suite\) +: +(\d+) s .*? (\d+) passed"),
}

BLOCKS: dict[str, str] = {
    "source": """\
`make bench` prints each figure beside its baseline from the same run. Every figure below comes from one run of it
(all of bench/; its whole output is [docs/bench/{file}](docs/bench/{file})), written here by `tools/figures.py`, on
this project's reference machine: {machine[0]} cores ({machine[1]}), {machine[2]}, {machine[3]}, Python
{machine[4]}. The class gateway's rows come from later runs of their own (each file's first line names its
machine): `python bench/run_all.py gateway` ([docs/bench/{gateway_file}](docs/bench/{gateway_file})) and `python bench/hub.py --learners
{hgw_ready[1]} --gateway` ([docs/bench/{hub_gateway_file}](docs/bench/{hub_gateway_file})).""",
    "table": """\
| what | figure | baseline (same run) | target |
|---|---|---|---|
| a stream into a live view (`TextView`), realistic pace ({realistic_text[0]} kB answer, {realistic_text[1]} deltas at ~{realistic_text[2]}/s): every byte of every iopub message of the cell | {view_cell[0]} kB in {view_cell[2]} messages ({view_cell[1]}× the text) | the tutorial's `print(text, end="", flush=True)` loop: {print_cell[0]} kB in {print_cell[2]} messages ({print_cell[1]}×); `HTML.value += text`: {html_cell[0]} kB ({html_cell[1]}×) | ≤ the print loop |
| the same at instant pace ({instant_text[0]} kB answer, {instant_text[1]} deltas): the view's update messages | {instant_updates[1]} kB in {instant_updates[0]} messages = {instant_updates[2]}× the text (the whole cell {instant_view_cell[1]}×, with its static rendering) | print loop: {instant_print[0]} MB in {instant_print[2]} messages ({instant_print[1]}×); `HTML.value +=`: {instant_html[0]} MB ({instant_html[1]}×) | ≤ 1.5× the text |
| opening a view (its `comm_open` and `display_data`) | a second view: {view_open[1]} kB | the kernel's first view, which carries the views' code: {view_open[0]} kB | < 4 kB |
| latency the view's batching adds, per delta (at most 15 messages/s) | p99 {latency_realistic[1]} ms realistic, {latency_instant[1]} ms instant (median {latency_realistic[0]} / {latency_instant[0]} ms) | — | ≤ 100 ms |
| local API through the SDK, instant pace, its own process | {api_process[0]} tokens/s = {api_process[1]} of the ceiling | the SDK parsing the same bytes from memory: {api_ceiling[0]} tokens/s (the three take turns) | ≥ 0.8 |
| the same, local API in a thread of the caller (as in a notebook) | {api_thread[0]} tokens/s = {api_thread[1]} of the ceiling (one interpreter lock for both) | | |
| local API time to first byte, instant pace | {api_ttfb[0]} ms median, {api_ttfb[1]} ms max | — | |
| relay CPU per relayed text event (100 streams at 50 tokens/s; relay pinned to one core, local API and client on the other) | {relay_shipped[0]} µs = {relay_pairs[1]}× the floor (median pair; pairs {relay_pairs[0]}) | a byte pass-through on the same uvicorn + Starlette (the floor): {relay_floor[0]} µs; lesson 08's idiom, `messages.stream()` + `EventSourceResponse`: {relay_idiom[0]} µs ({relay_idiom[1]}×); the shipped app on h11 + asyncio: {relay_h11[0]}× | ≤ 1.3× the floor |
| relay rated load: concurrent 50-token/s streams one relay process serves on one core with TTFT p99 within 25 ms of straight | **{relay_rated[0]} streams** (at {relay_over[0]}: p99 {relay_over[1]} ms relayed, {relay_over[2]} ms straight) | the same streams straight from the local API, interleaved (3 pairs per level): p99 {relay_rated_p99[2]} ms straight, {relay_rated_p99[1]} ms relayed at {relay_rated_p99[0]} | ≥ 150 (aim 200) |
| a burst: {burst[0]} streams asked for at the same instant, TTFT p50 / p99 | {burst_relay[0]} / {burst_relay[1]} ms | straight: {burst_straight[0]} / {burst_straight[1]} ms | no seconds of queueing |
| relay, one stream at a time: TTFT | {one_stream[0]} ms | straight: {one_stream[1]} ms (the local API waits for a first token as the real API does) | |
| text through the relay in those bursts | {burst_exact[0]} of {burst_exact[1]} streams byte-exact | | all |
| client leaves → upstream stream cut ({client_leaves[0]} times) | p50 {client_leaves[1]} ms, max {client_leaves[2]} ms | straight: p50 {client_leaves[3]} ms, max {client_leaves[4]} ms | ≤ 100 ms |
| `--workers 2` on this 2-core machine (no core of its own for the second worker) | at {workers[0]} streams: TTFT p99 {workers[1]} ms vs {workers[2]} ms straight (within +25 ms) | | |
| the class gateway's CPU per relayed text event (100 streams at 50 tokens/s; gateway pinned to one core, local API and client on the other; load average {gw_load[0]} at the start, {gw_load[1]} at the end) | {gw_cpu[0]} µs = {gw_pairs[1]}× the floor (median pair; pairs {gw_pairs[0]}) | a byte pass-through at the gateway's path, served the same way (the floor): {gw_floor[0]} µs | ≤ 1.3× the floor |
| a class of {gw_class[0]} streaming at 50 tokens/s through one gateway process: TTFT p99 | {gw_class[1]} ms (+{gw_class[3]} ms; a byte pass-through on the gateway's core: +{gw_floor_class[1]} ms, so the gateway's own share is +{gw_floor_class[2]} ms) | the same streams straight from the local API, in turn ({gw_reps[0]} times, medians): {gw_class[2]} ms | within +25 ms |
| cohort mode: a class of {hgw_ready[1]} through the gateway on a real JupyterHub (`bench/hub.py --gateway`; load average {hgw_load[0]} at the start, {hgw_load[1]} at the end) | {hgw_ready[2]}/{hgw_ready[3]} streamed; every server up in {hgw_up[0]} s; a learner after lesson 01: {hgw_memory[0]} MiB RSS, {hgw_memory[1]} MiB PSS; the whole class at once: TTFT p99 {hgw_class[0]} ms (+{hgw_class[2]} ms) | the same burst straight from the class's local API: {hgw_class[1]} ms | ≤ 30 s; ≤ 250 MiB; within +25 ms |
| kernel memory with the course loaded and a stream run | {mem_course[0]} MiB RSS | a bare kernel: {mem_bare[0]} MiB | |
| a class of {hub_ready[1]} on a real JupyterHub (bench/hub.py: log in, start servers together, run lesson 01, stream the relay) | {hub_ready[2]}/{hub_ready[3]} streamed; every server up in {hub_up[0]} s; TTFT p50 {hub_ttft[0]} ms, p99 {hub_ttft[1]} ms; {hub_memory[0]} MiB RSS per learner | the local API's own first-token delay: {hub_ttft[2]}; the hub {hub_own[0]} MiB + its proxy {hub_own[1]} MiB | all stream |
| strict nbval over every lesson, on 2 cores (`pytest --nbval notebooks/`) | {nbval[0]} s, {nbval[1]} cells passed | | ≤ 180 s |
| the whole test suite (`make test`'s pytest) | {suite[0]} s, {suite[1]} tests passed | | ≤ 20 min (CI: 30 with the install) |""",
    "hub-line": "`{hub_line[0]}`",
    "gateway-line": (
        "`python bench/hub.py --learners {hgw_ready[1]} --gateway` on this 2-core VM ([its output]"
        "(docs/bench/{hub_gateway_file})): `{hgw_line[0]}`; every server up in {hgw_up[0]} s; the memory is RSS of a "
        "learner's server and kernel after lesson 01 ({hgw_memory[1]} MiB PSS; lesson 08's relay pages add "
        "{hgw_parts[2]} MiB RSS per learner on average); the gateway with the class's local API {hgw_gateway[0]} MiB; the whole "
        "class asking at once: TTFT p99 {hgw_class[0]} ms through the gateway, {hgw_class[1]} ms straight."
    ),
    "gateway": """\
Measured here (`python bench/hub.py --learners {hgw_ready[1]} --gateway`, 2 cores, load average {hgw_load[0]} at the
start and {hgw_load[1]} at the end, [output](bench/{hub_gateway_file})): `{hgw_line[0]}` (a learner counts when both
lesson 01 and the relay page streamed; the output names each one that did not, and why). Every server was up in
{hgw_up[0]} s; lesson 01's first token p50 {hgw_ttft[0]} ms, p99 {hgw_ttft[1]} ms (the class's local API at 50
tokens/s); with the whole class asking at the same instant, TTFT p99 {hgw_class[0]} ms through the gateway against
{hgw_class[1]} ms straight from the class's local API. A learner's server and kernel after lesson 01 take
{hgw_memory[0]} MiB RSS ({hgw_parts[0]} server, {hgw_parts[1]} kernel, which holds no local API; {hgw_memory[1]} MiB
PSS); lesson 08's relay pages add {hgw_parts[2]} MiB per learner on average; the gateway with the class's one local
API takes {hgw_gateway[0]} MiB. The gateway process itself (`python bench/run_all.py gateway`, pinned to one core,
[output](bench/{gateway_file})): {gw_cpu[0]} µs of CPU per relayed text event, {gw_pairs[1]}× a byte pass-through's;
a class of {gw_class[0]} streaming at 50 tokens/s through it: TTFT p99 {gw_class[1]} ms against {gw_class[2]} ms
straight (+{gw_class[3]} ms, of which a byte pass-through on the same core adds +{gw_floor_class[1]} ms: the machine's
share, another process to wake on a busy core; the gateway's own +{gw_floor_class[2]} ms; load average
{gw_load[0]} at the start, {gw_load[1]} at the end).""",
    "hub-table": """\
| | {hub_ready[1]} learners at once |
|---|---:|
| learners whose notebook and relay both streamed | **{hub_ready[2]}/{hub_ready[3]}** |
| until every server was up (spawns requested together) | **{hub_up[0]} s** |
| CPU to start one single-user server | {hub_up[1]} s |
| time to first token, lesson 01's first streaming cell, p50 / p99 | **{hub_ttft[0]} ms / {hub_ttft[1]} ms** |
| time to first token, relay page through the hub, p50 / p99 | {hub_relay_ttft[0]} ms / {hub_relay_ttft[1]} ms |
| lesson 01 "run all" + one relay stream, wall time per learner, p50 / p99 | {hub_run[4]} s / {hub_run[5]} s |
| CPU per learner for that run | {hub_run[1]} s |
| cores busy during the class-wide run (hub, servers, kernels, relays) | {hub_run[2]} of {hub_run[3]} |
| memory per learner, RSS: server {hub_memory[1]} + kernel {hub_memory[2]} + relay {hub_memory[3]} | **{hub_memory[0]} MiB** |
| the same, USS (what a learner's processes add on their own) | {hub_memory[4]} MiB |
| the hub itself: hub {hub_own[0]} MiB + configurable-http-proxy {hub_own[1]} MiB | {hub_own[0]} + {hub_own[1]} MiB |
| kernel websocket reconnects | {hub_reconnects[0]} |""",
    "per-learner": """\
**Per learner** (from the hub run above, plus a second notebook: each open notebook has its own kernel): the
server {hub_memory[1]} + two kernels 2 × {hub_memory[2]} + the relay {hub_memory[3]} = **{two_notebooks} MiB RSS**. One
notebook and the relay: {hub_memory[0]} MiB RSS, as measured (the hub's single-user server, with JupyterLab served and
the hub's OAuth, is larger than the plain `jupyter lab` above: {hub_memory[1]} against {mem_lab[0]} MiB). A learner who
opens ten lessons and never shuts a kernel down: {hub_memory[1]} + 10 × {hub_memory[2]} + {hub_memory[3]} =
{ten_notebooks} MiB, the limit below — cull idle kernels (below) so that this does not happen.""",
    "sizing": """\
**Sizing**, computed by `tools/figures.py` from the figures above: the typical learner (server, two kernels and the
relay: {two_notebooks} MiB RSS; {uss_learner} MiB USS), plus {BASE_GIB} GiB for the OS, the hub and its proxy, then
{HEADROOM_PERCENT} % headroom; it assumes every learner is active at once, so nothing is culled during the class.
Cores: 1 per {RUN_ALL_PER_CORE} learners if the room presses "run all" together, 1 per {OWN_PACE_PER_CORE} at their own
pace (the planning ratios above).

| learners | RSS total (Z2JH) | USS total (TLJH) | TLJH machine | Z2JH nodes (guarantee 512 MiB each) | cores (run all together / own pace) |
|---:|---:|---:|---|---|---|
{sizing_rows}""",
    "memory-table": """\
| process | RSS MiB | USS MiB |
|---|---:|---:|
| bare python3 kernel (baseline) | {mem_bare[0]} | {mem_bare[1]} |
| kernel, course loaded + 1 stream | {mem_course[0]} | {mem_course[1]} |
| kernel, + a 2000-number stream | {mem_long[0]} | {mem_long[1]} |
| JupyterLab server, 1 kernel running | {mem_lab[0]} | {mem_lab[1]} |
| proxied relay process (`/relay/`, lesson 08) | {mem_relay[0]} | {mem_relay[1]} |
| proxied local API process (`/offline-api/`) | {mem_api[0]} | {mem_api[1]} |

The course adds {mem_added[0]} MiB RSS to a bare kernel ({mem_added[1]}× the baseline).""",
}


def dated(path: Path) -> tuple[str, str]:
    """A recording's sort key: the date in its name, then the name."""
    found = re.search(r"\d{4}-\d{2}-\d{2}", path.name)
    return (found.group(0) if found else "", path.name)


def recording() -> Path:
    """The newest recorded `make bench` output."""
    found = sorted(RECORDINGS.glob("make-bench-*.txt"), key=dated)
    if not found:
        raise FileNotFoundError(f"no recorded `make bench` output: expected {RECORDINGS}/make-bench-YYYY-MM-DD.txt")
    return found[-1]


def recorded(record: Path) -> tuple[str, dict[str, Path]]:
    """The text the figures are read from: the whole run ``record``, with each SEPARATE section from its newest
    recording of its own appended when that one is newer (or ``record`` lacks the section); and the file each
    SEPARATE section comes from."""
    text, files = record.read_text(), {}
    whole = sections(text)
    for section, pattern in SEPARATE.items():
        own = max(RECORDINGS.glob(pattern), key=dated, default=None)
        if own is None or (section in whole and dated(own) <= dated(record)):
            files[section] = record
            continue
        body = own.read_text()
        text += f"\n## {section}\n" + sections(body).get(section, body)  # a run_all recording has its ## section
        files[section] = own
    return text, files


def sections(text: str) -> dict[str, str]:
    """The recording by section: "" is the whole text, "NAME" what follows ``## NAME``; the widgets section is also
    split into its realistic and instant halves."""
    out = {"": text}
    for part in re.split(r"^## ", text, flags=re.M)[1:]:
        name, _, body = part.partition("\n")
        out[name.strip()] = body
    widgets = out.get("widgets", "")
    out["widgets/realistic"], _, instant = widgets.partition("instant pace")
    out["widgets/instant"] = instant
    return out


def figures(text: str) -> dict[str, tuple[str, ...]]:
    """Every figure FIGURES names, read from a recording; a ValueError names each one the recording lacks."""
    parts, found, missing = sections(text), {}, []
    for name, (section, pattern) in FIGURES.items():
        match = re.search(pattern, parts.get(section, ""), re.M)
        if match is None:
            missing.append(f"{name} (section {section or 'machine'!r})")
        else:
            found[name] = tuple(g.strip() for g in match.groups())
    if missing:
        raise ValueError("the recording lacks these figures: " + ", ".join(missing))
    return found


# The sizing table's assumptions (docs/workshop.md says them beside it)
SIZES = (30, 50, 100)  # learners
BASE_GIB = 2  # the OS, the hub and its proxy
HEADROOM_PERCENT = 25
RUN_ALL_PER_CORE = 4  # learners per core when the room presses "run all" together (the guide's measured estimate)
OWN_PACE_PER_CORE = 9  # ... when each works at their own pace (the guide's 8-10, not measured)
MACHINES_GIB = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)  # common machine sizes


def sizing(rss_mib: int, uss_mib: int) -> str:
    """The sizing table's rows for a learner of ``rss_mib`` RSS and ``uss_mib`` USS."""
    rows = []
    for n in SIZES:
        rss, uss = ((n * mib / 1024 + BASE_GIB) * (1 + HEADROOM_PERCENT / 100) for mib in (rss_mib, uss_mib))
        machine = next((f"{size} GiB RAM" for size in MACHINES_GIB if size >= uss), "several machines")
        cores = f"{math.ceil(n / RUN_ALL_PER_CORE)} / {math.ceil(n / OWN_PACE_PER_CORE)}"
        rows.append(f"| {n} | {rss:.1f} GiB | {uss:.1f} GiB | {machine} | ~{rss:.0f} GiB | {cores} |")
    return "\n".join(rows)


def derived(values: dict[str, tuple[str, ...]]) -> dict[str, str | int]:
    """What the documents quote computed from the recorded figures: MiB per learner with 2 and 10 notebooks, and the
    sizing table (a learner's USS: the hub run's, one notebook and the relay, plus a second kernel's)."""
    server, kernel, relay = (int(v) for v in values["hub_memory"][1:4])
    two = server + 2 * kernel + relay
    uss = int(values["hub_memory"][4]) + int(values["mem_course"][1])
    return {
        "two_notebooks": f"{two:,}",
        "ten_notebooks": f"{server + 10 * kernel + relay:,}",
        "uss_learner": f"{uss:,}",
        "sizing_rows": sizing(two, uss),
        "BASE_GIB": BASE_GIB,
        "HEADROOM_PERCENT": HEADROOM_PERCENT,
        "RUN_ALL_PER_CORE": RUN_ALL_PER_CORE,
        "OWN_PACE_PER_CORE": OWN_PACE_PER_CORE,
    }


def rendered(path: Path, text: str, record: Path) -> str:
    """``text`` with each generated block filled in from ``record`` (and the SEPARATE sections' own recordings)."""
    whole, files = recorded(record)
    values = figures(whole)
    rel = record.name
    names = {"gateway_file": files["gateway"].name, "hub_gateway_file": files["hub-gateway"].name}

    def fill(match: re.Match) -> str:
        name, inline = match.group("name"), match.group("_inside")
        if name not in BLOCKS:
            raise ValueError(f"{path.name}: unknown figures block {name!r}, expected one of {sorted(BLOCKS)}")
        sep = "" if "\n" not in inline else "\n"
        return sep + BLOCKS[name].format(file=rel, **names, **values, **derived(values)) + sep

    return replace_between(text, r"<!-- figures:(?P<name>[\w-]+) -->", r"<!-- /figures:(?P=name) -->", fill, path.name)


def main(check: bool) -> int:
    record, stale = recording(), []
    for path in DOCUMENTS:
        if update(path, rendered(path, path.read_text(), record), check):
            stale.append(path.relative_to(ROOT).as_posix())
    return report(stale, check, "python tools/figures.py", record.relative_to(ROOT).as_posix())


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv[1:]))
