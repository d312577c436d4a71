"""A class at once on a real JupyterHub: N learners log in, start their servers together, run lesson 01 and stream
lesson 08's relay page, all through the hub's proxy, the way their browsers would.

The hub is helpers/hub.py's (the one `make hub` serves): on loopback, in a temporary folder, offline, started and
stopped by PID. This file only measures.

Each learner, concurrently:

1. logs in through the hub's login form (the password the hub made for this run), then starts their server through the hub's REST API
   with the session cookie and XSRF header, as the hub's "Start My Server" button does;
2. once every server is up, opens JupyterLab (the OAuth redirects that give the single-user server its cookie),
   creates a notebook session for ``01_text_stream.ipynb`` (copied into their home before the spawn) and runs every
   code cell through the kernel's websocket (``/user/NAME/api/kernels/ID/channels``), as JupyterLab does;
3. opens ``/user/NAME/relay/`` and POSTs one chat to ``relay/chat`` with the headers a same-origin ``fetch`` sends.

Printed: learners ready and streamed / N, the time until every server was up, time to first token per learner
(first text of lesson 01's first streaming cell; first text event of the relay), memory per learner (RSS of the
single-user server, its kernel (which holds the local Messages API as a thread) and the relay process jupyter-server-proxy
started), the hub's own memory (hub + proxy), and CPU during the class-wide "run all".

    python bench/hub.py --learners 30     # the figure the README and docs/workshop.md quote

``--gateway`` (cohort mode): the class through the class gateway, whose one local Messages API streams at 50 tokens/s;
afterwards the whole class asks for a stream at the same instant, straight from that local API and through the
gateway, in turn (TTFT p99 of each), and the checks of :class:`GatewayCheck` run. Memory per learner is then also
given for lesson 01 alone (the server and its kernel): RSS (the figure of the last line) and PSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import psutil

from helpers.gateway import SERVICE_NAME as GATEWAY
from helpers.hub import ROOT, Hub, kind_of, parse_args
from helpers.models import DEFAULT_MODEL as MODEL
from helpers.web.framing import Reader, streamed_text

LESSON = ROOT / "notebooks" / "01_text_stream.ipynb"
RELAY_PROMPT = "Write a haiku about debugging."
INSTRUCTOR = "instructor"  # a hub admin: the dashboard's user in a gateway run
CLASS_PACE = "50"  # tokens per second: the class's local API in a gateway run (a fixed pace, so TTFTs compare)
PAIRS = 3  # bursts of the whole class straight and through the gateway, in turn
SLACK_MS = 25  # the gateway's TTFT p99 may exceed straight's by this much
MIB = 1024 * 1024

# ---------------------------------------------------------------------------------------------------------------------
# One learner, as their browser would behave


class Refused(Exception):
    """A request the hub or a server answered with an unexpected status; carries what was sent and received."""


class KernelLost(Exception):
    """The kernel is gone from its server (it died and was removed): the websocket's URL answers 404."""


def expect(response: httpx2.Response, *statuses: int) -> httpx2.Response:
    if response.status_code not in statuses:
        request = response.request
        raise Refused(
            f"{request.method} {request.url.path} -> {response.status_code} "
            f"(sent {dict((k, v) for k, v in request.headers.items() if k.lower() != 'cookie')}): {response.text[:500]}"
        )
    return response


@dataclass
class Learner:
    hub_url: str
    name: str
    password: str  # the hub's, new for each run
    http: httpx2.AsyncClient = field(init=False)
    spawn_requested: float = 0.0
    ready_at: float | None = None
    ttft_notebook: float | None = None
    ttft_relay: float | None = None
    cells_run: int = 0
    reconnects: int = 0  # kernel websocket reconnections (see Kernel)
    kernels_lost: int = 0  # kernels that died, so the learner started another and ran the lesson again
    run_s: float | None = None  # from opening JupyterLab to the relay's last event
    relay_text: str = ""
    error: str | None = None

    def __post_init__(self):
        limits = httpx2.Limits(max_connections=8)
        timeout = httpx2.Timeout(300, connect=60)
        self.http = httpx2.AsyncClient(base_url=self.hub_url, timeout=timeout, limits=limits, follow_redirects=True)
        self.prefix = f"/user/{self.name}/"

    def cookie(self, name: str, path: str) -> str:
        """The value of cookie ``name`` set for ``path`` (the hub and each server set their own ``_xsrf``)."""
        for cookie in self.http.cookies.jar:
            if cookie.name == name and cookie.path.rstrip("/") == path.rstrip("/"):
                return cookie.value
        raise Refused(f"no {name} cookie for {path}: have {[(c.name, c.path) for c in self.http.cookies.jar]}")

    def cookie_header(self, path: str) -> str:
        """The Cookie header a browser sends to ``path``."""
        return "; ".join(
            f"{c.name}={c.value}" for c in self.http.cookies.jar if path.startswith(c.path.rstrip("/") + "/")
        )

    def browser_headers(self, path: str, **extra) -> dict:
        """What a same-origin fetch from a page under ``path`` adds: Origin, Referer, Sec-Fetch-*, the XSRF token."""
        xsrf_path = "/hub/" if path.startswith("/hub/") else self.prefix
        return {
            "Origin": self.hub_url,
            "Referer": self.hub_url + xsrf_path,
            "Sec-Fetch-Site": "same-origin",
            "Sec-Fetch-Mode": "cors",
            "Sec-Fetch-Dest": "empty",
            "X-XSRFToken": self.cookie("_xsrf", xsrf_path),
            **extra,
        }

    async def log_in(self) -> None:
        page = expect(await self.http.get("/hub/login"), 200)
        xsrf = re.search(r'name="_xsrf"\s+value="([^"]+)"', page.text)
        if not xsrf:
            raise Refused("the login page has no _xsrf field")
        form = {"username": self.name, "password": self.password, "_xsrf": xsrf.group(1)}
        expect(await self.http.post("/hub/login?next=/hub/home", data=form), 200)
        if not any(c.name.startswith("jupyterhub-session") for c in self.http.cookies.jar):
            raise Refused("the hub set no session cookie after logging in")

    async def start_server(self) -> None:
        self.spawn_requested = time.monotonic()
        path = f"/hub/api/users/{self.name}/server"
        expect(await self.http.post(path, headers=self.browser_headers(path)), 201, 202)

    async def wait_ready(self, deadline: float) -> None:
        path = f"/hub/api/users/{self.name}"
        while time.monotonic() < deadline:
            user = expect(await self.http.get(path, headers=self.browser_headers(path)), 200).json()
            server = user.get("servers", {}).get("")
            if server and server.get("ready"):
                self.ready_at = time.monotonic()
                return
            if not user.get("pending") and not server:
                raise Refused(f"{self.name}'s server stopped while starting")
            await asyncio.sleep(0.5)
        raise TimeoutError(f"{self.name}'s server was not ready in time")

    async def open_lab(self) -> None:
        """GET /user/NAME/lab: the hub's OAuth redirects give the server its own cookie, and it sets its _xsrf."""
        page = expect(await self.http.get(self.prefix + "lab"), 200)
        if "jupyter-config-data" not in page.text:
            raise Refused("/lab did not serve JupyterLab")

    async def api(self, method: str, path: str, **kwargs) -> httpx2.Response:
        url = self.prefix + path
        return await self.http.request(method, url, headers=self.browser_headers(url), **kwargs)

    async def run_lesson(self, lesson: str) -> None:
        """Open the notebook, start its kernel through a session, run every code cell over the websocket.

        If the kernel dies on the way (its server then forgets it), do what a learner does in JupyterLab: start a
        new kernel for the notebook and run all the cells again, once."""
        notebook = expect(await self.api("GET", f"api/contents/{lesson}?content=1&type=notebook"), 200).json()
        cells = [cell for cell in notebook["content"]["cells"] if cell["cell_type"] == "code"]
        try:
            await self._run_cells(lesson, cells)
        except KernelLost:
            self.kernels_lost += 1
            self.cells_run = 0
            await self._run_cells(lesson, cells)

    async def _run_cells(self, lesson: str, cells: list[dict]) -> None:
        body = {"path": lesson, "name": lesson, "type": "notebook", "kernel": {"name": "python3"}}
        session = expect(await self.api("POST", "api/sessions", json=body), 201).json()
        async with Kernel(self, session["kernel"]["id"]) as kernel:
            for index, cell in enumerate(cells):
                source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                first_text = await kernel.execute(source)
                if self.ttft_notebook is None and ".text_stream" in source:  # the first cell that prints tokens
                    self.ttft_notebook = first_text
                self.cells_run = index + 1

    async def stream_relay(self) -> None:
        """Lesson 08's page at /user/NAME/relay/, then one chat POST the way its chat.js sends it."""
        page_path = self.prefix + "relay/"
        page = expect(
            await self.http.get(page_path, headers={"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"}), 200
        )
        if "<html" not in page.text.lower():
            raise Refused("/relay/ did not serve the chat page")
        headers = {
            "Origin": self.hub_url,
            "Referer": self.hub_url + page_path,
            "Sec-Fetch-Site": "same-origin",
            "Sec-Fetch-Mode": "cors",
            "Sec-Fetch-Dest": "empty",
            "Accept": "text/event-stream",
        }
        body = {"messages": [{"role": "user", "content": RELAY_PROMPT}]}
        started, reader, events = time.monotonic(), Reader(), []
        async with self.http.stream("POST", page_path + "chat", json=body, headers=headers) as response:
            if response.status_code != 200:
                await response.aread()
                expect(response, 200)
            async for chunk in response.aiter_bytes():
                for event in reader.feed(chunk):
                    if event.event == "text" and self.ttft_relay is None:
                        self.ttft_relay = time.monotonic() - started
                    elif event.event == "error":
                        raise Refused(f"the relay sent an error event: {event.data}")
                    events.append(event)
        self.relay_text = streamed_text(events)
        if not self.relay_text:
            raise Refused("the relay streamed no text")

    async def token(self, note: str = "bench") -> str:
        """A new hub API token of this learner's (as the hub's token page makes one): what their kernel holds."""
        path = f"/hub/api/users/{self.name}/tokens"
        response = expect(await self.http.post(path, json={"note": note}, headers=self.browser_headers(path)), 200, 201)
        return response.json()["token"]

    async def open_dashboard(self) -> httpx2.Response:
        """The gateway's dashboard page, through the hub's OAuth redirects (the cookie it sets is the dashboard's)."""
        return await self.http.get(f"/services/{GATEWAY}/dashboard/")

    async def dashboard_state(self) -> httpx2.Response:
        return await self.http.get(f"/services/{GATEWAY}/dashboard/state")

    async def control(self, **body) -> httpx2.Response:
        """A dashboard control, sent as its page's fetch sends it (same origin, JSON)."""
        path = f"/services/{GATEWAY}/dashboard/control"
        headers = {"Origin": self.hub_url, "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}
        return await self.http.post(path, json=body, headers=headers)

    async def close(self) -> None:
        await self.http.aclose()


class Kernel:
    """A kernel's websocket (``api/kernels/ID/channels``), as JupyterLab opens it: session cookie and Origin.

    Like JupyterLab, it reconnects with the same session id when the server closes the socket (the server does so when
    a new kernel has not answered ``kernel_info`` within its ``kernel_info_timeout``, 60 s, which a class starting 30
    kernels on 2 cores can exceed); the server replays what it buffered for the session meanwhile.
    """

    RECONNECTS = 5  # per kernel, with 1, 2, 4, 8, 16 s between attempts

    def __init__(self, learner: Learner, kernel_id: str):
        self.learner, self.kernel_id = learner, kernel_id
        self.session = uuid.uuid4().hex
        self.ws = None

    async def connect(self) -> None:
        from tornado.httpclient import HTTPClientError, HTTPRequest
        from tornado.websocket import websocket_connect

        learner = self.learner
        path = f"{learner.prefix}api/kernels/{self.kernel_id}/channels"
        url = f"{learner.hub_url.replace('http', 'ws', 1)}{path}?session_id={self.session}"
        headers = {"Cookie": learner.cookie_header(path), "Origin": learner.hub_url}
        request = HTTPRequest(url, headers=headers, connect_timeout=120, request_timeout=120)
        try:
            self.ws = await websocket_connect(request, max_message_size=64 * MIB)
        except HTTPClientError as err:
            if err.code == 404:
                raise KernelLost(f"kernel {self.kernel_id} is gone from {learner.name}'s server") from err
            raise

    async def reconnect(self, during: str) -> None:
        if self.learner.reconnects >= self.RECONNECTS:
            raise Refused(f"the kernel websocket closed during {during}, {self.RECONNECTS} reconnects already")
        await asyncio.sleep(2**self.learner.reconnects)
        self.learner.reconnects += 1
        await self.connect()

    async def __aenter__(self) -> Kernel:
        await self.connect()
        while True:  # JupyterLab asks for kernel_info on every new connection before it runs cells
            try:
                await self.request("kernel_info_request", {}, "shell")
                return self
            except ConnectionError:
                await self.reconnect("kernel_info_request")

    async def __aexit__(self, *exc) -> None:
        self.ws.close()

    async def request(self, msg_type: str, content: dict, channel: str) -> tuple[dict, float | None]:
        """Send one request; wait for its reply and for the kernel to be idle again. Returns the reply's content and
        the seconds until the first stream output (None if there was none). A kernel_info_request whose socket closes
        raises ConnectionError; any other request waits for its answer on a new connection."""
        from tornado.websocket import WebSocketClosedError

        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "msg_type": msg_type,
            "username": self.learner.name,
            "session": self.session,
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "version": "5.3",
        }
        message = {"header": header, "parent_header": {}, "metadata": {}, "content": content, "channel": channel}
        started, first_text, reply, idle = time.monotonic(), None, None, msg_type == "kernel_info_request"
        sent = False
        while reply is None or not idle:
            try:
                if not sent:
                    await self.ws.write_message(json.dumps(message))
                    sent = True
                raw = await asyncio.wait_for(self.ws.read_message(), timeout=600)
            except WebSocketClosedError:
                raw = None
            if raw is None:
                if msg_type == "kernel_info_request":
                    raise ConnectionError("closed")
                await self.reconnect(msg_type)
                continue
            if isinstance(raw, bytes):
                continue  # binary frames carry widget buffers; no stream text comes that way
            got = json.loads(raw)
            if got.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = got["header"]["msg_type"]
            if kind.endswith("_reply"):
                reply = got["content"]
            elif kind == "status" and got["content"]["execution_state"] == "idle":
                idle = True
            elif kind == "stream" and first_text is None:
                first_text = time.monotonic() - started
        return reply, first_text

    async def execute(self, code: str) -> float | None:
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False}
        reply, first_text = await self.request("execute_request", {**content, "stop_on_error": True}, "shell")
        if reply.get("status") != "ok":
            raise Refused(f"a cell failed: {reply.get('ename')}: {reply.get('evalue')}")
        return first_text


# ---------------------------------------------------------------------------------------------------------------------
# The class


@dataclass
class Result:
    learners: list[Learner]
    all_ready_s: float | None
    run_all_s: float
    memory: dict[str, list[float]]  # per learner: "total", "server", "kernel", "relay" (RSS MiB)
    hub_mib: float
    proxy_mib: float
    cpu_spawn_s: float  # CPU seconds of the hub's process tree while the servers started
    cpu_run_s: float  # ... during the class-wide run all and relay streams
    cpu_bench_s: float  # this process (all N "browsers") over both
    gateway: GatewayCheck | None = None
    load: tuple[float, float] = (0.0, 0.0)  # the machine's 1-minute load average when the class started and ended

    @property
    def streamed(self) -> list[Learner]:
        return [x for x in self.learners if x.error is None and x.ttft_notebook is not None and x.relay_text]

    @property
    def ready(self) -> list[Learner]:
        return [x for x in self.learners if x.ready_at is not None]


def tree_cpu(hub: Hub) -> dict[int, float]:
    times = {}
    for process in hub.processes():
        try:
            cpu = process.cpu_times()
            times[process.pid] = cpu.user + cpu.system
        except psutil.Error:
            continue
    return times


def memory_of(hub: Hub) -> tuple[dict[str, list[float]], float, float]:
    """RSS per learner (total and by part; "uss": what a learner's processes add on their own; "lesson": PSS of the
    server and its kernels, what lesson 01 costs a learner, each page shared with other processes counted in equal
    shares, as smem does), hub's, proxy's."""
    per_learner: dict[str, list[float]] = {
        "total": [],
        "server": [],
        "kernel": [],
        "relay": [],
        "uss": [],
        "lesson": [],
        "lesson_rss": [],
    }
    for server in hub.servers().values():
        parts, uss, lesson, lesson_rss = {"server": 0.0, "kernel": 0.0, "relay": 0.0}, 0.0, 0.0, 0.0
        for process in [server, *server.children(recursive=True)]:
            try:
                kind = kind_of(process.cmdline())
                info = process.memory_full_info()
            except psutil.Error:
                continue
            parts[kind] += info.rss / MIB
            uss += info.uss / MIB
            lesson += getattr(info, "pss", info.rss) / MIB if kind != "relay" else 0.0  # PSS: Linux only
            lesson_rss += info.rss / MIB if kind != "relay" else 0.0
        for kind, mib in parts.items():
            per_learner[kind].append(mib)
        per_learner["total"].append(sum(parts.values()))
        per_learner["uss"].append(uss)
        per_learner["lesson"].append(lesson)
        per_learner["lesson_rss"].append(lesson_rss)
    hub_process = psutil.Process(hub.process.pid)
    proxies = [p for p in hub_process.children() if "configurable-http-proxy" in " ".join(p.cmdline())]
    return per_learner, hub_process.memory_info().rss / MIB, sum(p.memory_info().rss for p in proxies) / MIB


RUN_TIMEOUT = 900  # seconds one learner may take to open JupyterLab, run the lesson and stream the relay


async def _learner_runs(learner: Learner, lesson: str, timeout: float = RUN_TIMEOUT) -> None:
    step, started = "opening JupyterLab", time.monotonic()

    async def steps() -> None:
        nonlocal step
        await learner.open_lab()
        step = f"running {lesson}"
        await learner.run_lesson(lesson)
        step = "streaming the relay"
        await learner.stream_relay()

    try:  # a deadline per learner: one that hangs (a socket that never answers) is reported, not waited for forever
        await asyncio.wait_for(steps(), timeout)
        learner.run_s = time.monotonic() - started
    except TimeoutError:
        learner.error = f"{step} (after {learner.cells_run} cells): no answer within {timeout:.0f} s"
    except Exception as exc:  # one learner's failure is a result, not the end of the class
        learner.error = f"{step} (after {learner.cells_run} cells): {type(exc).__name__}: {exc}"


@dataclass
class GatewayCheck:
    """Cohort mode, seen from outside after the class ran: through the dashboard, the learners' processes and one
    learner's over-budget request."""

    through: list[str]  # learners whose usage the gateway counted (every request of theirs went through it)
    key_in: list[str]  # learners with the class's key anywhere in the environment of their server, kernel or relay
    refused: int | None  # the HTTP status an over-budget learner's request got
    refused_as: str  # the SDK's exception class for it
    listed: list[str]  # learners the dashboard lists
    gateway_mib: float  # the gateway and the class's local API (RSS)
    kernel_apis: list[str]  # learners whose kernel listens on TCP: a local Messages API of its own (ipc otherwise)
    ttft_p99_ms: tuple[float, float]  # the whole class streaming at once: (straight, through the gateway), median pair


def kernels_listening(hub: Hub) -> list[str]:
    """Learners with a kernel that serves a local Messages API of its own: a port of the kernel's that answers the
    local API's ``/_offline/stats``."""
    found = []
    for name, server in hub.servers().items():
        for process in server.children(recursive=True):
            try:
                if kind_of(process.cmdline()) != "kernel":
                    continue
                ports = [c.laddr.port for c in process.net_connections(kind="inet") if c.status == "LISTEN"]
            except psutil.Error:
                continue
            for port in ports:
                try:
                    if httpx2.get(f"http://127.0.0.1:{port}/_offline/stats", timeout=5).status_code == 200:
                        found.append(name)
                        break
                except httpx2.HTTPError:
                    continue
    return found


def environments_holding(hub: Hub, secret: str) -> list[str]:
    """Learners with ``secret`` in any environment variable of their server or anything it started."""
    holding = []
    for name, server in hub.servers().items():
        for process in [server, *server.children(recursive=True)]:
            try:
                if any(secret in value for value in process.environ().values()):
                    holding.append(name)
                    break
            except psutil.Error:
                continue
    return holding


def class_api(hub: Hub) -> str:
    """The URL of the class's one local Messages API, the gateway's child process."""
    for process in hub.processes():
        try:
            if "helpers.offline" in " ".join(process.cmdline()) and "helpers.gateway" in " ".join(
                process.parent().cmdline()
            ):
                port = next(c.laddr.port for c in process.net_connections(kind="inet") if c.status == "LISTEN")
                return f"http://127.0.0.1:{port}"
        except (psutil.Error, StopIteration):
            continue
    raise RuntimeError("the gateway runs no local Messages API for the class")


async def class_ttft(hub: Hub, class_: list[Learner]) -> tuple[float, float]:
    """TTFT p99 (ms) of the whole class asking for a stream at the same instant, straight from the class's local API
    and through the gateway (each learner with a hub token of their own), ``PAIRS`` bursts each way in turn: the
    median pair by difference, so one burst disturbed by the machine does not decide it."""
    from helpers.connect import OFFLINE_KEY

    tokens = [await learner.token("ttft") for learner in class_]
    api = class_api(hub)
    body = {"model": MODEL, "max_tokens": 1024, "stream": True, "messages": [{"role": "user", "content": RELAY_PROMPT}]}
    limits = httpx2.Limits(max_connections=2 * len(class_), max_keepalive_connections=2 * len(class_))
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(120, connect=60), limits=limits) as http:

        async def first_text(url: str, key: str) -> float:
            started, first, tail = time.monotonic(), None, b""
            headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
            async with http.stream("POST", f"{url}/v1/messages", json=body, headers=headers) as response:
                if response.status_code != 200:
                    await response.aread()
                    expect(response, 200)
                async for chunk in response.aiter_raw():  # read to the end: the class streams whole answers
                    if first is None and b'"text_delta"' in tail + chunk:
                        first = time.monotonic() - started
                    tail = chunk[-16:]
            if first is None:
                raise Refused(f"{url}: a stream with no text")
            return first * 1000

        async def burst(url: str, keys: list[str]) -> float:
            return percentile(await asyncio.gather(*(first_text(url, key) for key in keys)), 99)

        await burst(hub.gateway_url, tokens)  # each new token's first check asks the hub; then it is cached
        pairs = [
            (await burst(api, [OFFLINE_KEY] * len(class_)), await burst(hub.gateway_url, tokens)) for _ in range(PAIRS)
        ]
    return sorted(pairs, key=lambda pair: pair[1] - pair[0])[len(pairs) // 2]


async def check_gateway(hub: Hub, class_: list[Learner], key: str) -> GatewayCheck:
    import anthropic

    ttft = await class_ttft(hub, class_)

    instructor = Learner(hub.url, INSTRUCTOR, hub.password)
    try:
        await instructor.log_in()
        expect(await instructor.open_dashboard(), 200)
        state = expect(await instructor.dashboard_state(), 200).json()
        rows = {row["name"]: row for row in state["learners"]}
        names = [x.name for x in class_]
        through = [n for n in names if rows.get(n, {}).get("tokens", 0) > 0]
        # one learner over budget: the instructor lowers the class's budget below what everyone used, then restores it
        expect(await instructor.control(action="limits", limits={**state["limits"], "tokens": 1}), 200)
        client = anthropic.AsyncAnthropic(base_url=hub.gateway_url, api_key=await class_[0].token(), max_retries=0)
        refused, refused_as = None, "no error"
        try:
            await client.messages.create(model=MODEL, max_tokens=16, messages=[{"role": "user", "content": "Hi"}])
        except anthropic.APIStatusError as err:
            refused, refused_as = err.status_code, type(err).__name__
        finally:
            await client.close()
        expect(await instructor.control(action="limits", limits=state["limits"]), 200)
    finally:
        await instructor.close()
    gateway = [p for p in hub.processes() if "helpers.gateway" in " ".join(p.cmdline())]
    mib = sum(p.memory_info().rss for g in gateway for p in [g, *g.children(recursive=True)]) / MIB
    holding = environments_holding(hub, key)
    return GatewayCheck(through, holding, refused, refused_as, list(rows), mib, kernels_listening(hub), ttft)


async def run_class(
    hub: Hub, learners: int, lesson: str = LESSON.name, spawn_timeout: float = 900, gateway_key: str = ""
) -> Result:
    """Log ``learners`` users in, start their servers together, then have each run ``lesson`` and stream the relay.
    ``gateway_key``: the hub runs the class gateway holding this key; check it afterwards (:class:`GatewayCheck`)."""
    names = [f"learner{i:02d}" for i in range(1, learners + 1)]
    class_ = [Learner(hub.url, name, hub.password) for name in names]
    me = psutil.Process()
    bench_before = sum(me.cpu_times()[:2])
    load_before = os.getloadavg()[0]
    try:
        await asyncio.gather(*(learner.log_in() for learner in class_))
        before_spawn = tree_cpu(hub)
        spawned = time.monotonic()
        await asyncio.gather(*(learner.start_server() for learner in class_))
        deadline = time.monotonic() + spawn_timeout
        outcomes = await asyncio.gather(*(x.wait_ready(deadline) for x in class_), return_exceptions=True)
        for learner, outcome in zip(class_, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                learner.error = f"not ready: {type(outcome).__name__}: {outcome}"
        all_ready = time.monotonic() - spawned if all(x.ready_at for x in class_) else None
        at_ready = tree_cpu(hub)
        started = time.monotonic()
        await asyncio.gather(*(_learner_runs(x, lesson) for x in class_ if x.error is None))
        run_all = time.monotonic() - started
        at_end = tree_cpu(hub)
        memory, hub_mib, proxy_mib = memory_of(hub)
        gateway = await check_gateway(hub, class_, gateway_key) if gateway_key else None
    finally:
        await asyncio.gather(*(learner.close() for learner in class_))
    cpu_spawn = sum(at_ready.values()) - sum(before_spawn.values())
    cpu_run = sum(at_end.values()) - sum(at_ready.get(pid, 0.0) for pid in at_end)
    return Result(
        learners=class_,
        all_ready_s=all_ready,
        run_all_s=run_all,
        memory=memory,
        hub_mib=hub_mib,
        proxy_mib=proxy_mib,
        cpu_spawn_s=cpu_spawn,
        cpu_run_s=cpu_run,
        cpu_bench_s=sum(me.cpu_times()[:2]) - bench_before,
        gateway=gateway,
        load=(load_before, os.getloadavg()[0]),
    )


# ---------------------------------------------------------------------------------------------------------------------
# The report


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank: with 30 values p99 is the slowest learner."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * q // 100) - 1))] if ordered else float("nan")


def report(result: Result) -> list[str]:
    n = len(result.learners)
    k = len(result.streamed)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    ttft = [x.ttft_notebook * 1000 for x in result.streamed if x.ttft_notebook is not None]
    relay = [x.ttft_relay * 1000 for x in result.streamed]
    runs = [x.run_s for x in result.streamed if x.run_s is not None]
    mem = result.memory
    mean = statistics.fmean
    per_learner = mean(mem["total"]) if mem["total"] else float("nan")
    ready_s = f"{result.all_ready_s:.1f}" if result.all_ready_s is not None else "never"
    cpu_learner = result.cpu_run_s / max(k, 1)
    lines = [
        f"learners ready: {len(result.ready)}/{n} · streamed: {k}/{n}",
        f"time until every server was up: {ready_s} s (spawns requested together; CPU {result.cpu_spawn_s:.0f} s, "
        f"{result.cpu_spawn_s / n:.1f} s per server)",
        f"class-wide run all (lesson 01, every cell, + one relay stream each): {result.run_all_s:.1f} s wall, "
        f"{result.cpu_run_s:.0f} CPU s ({cpu_learner:.1f} per learner), "
        f"{result.cpu_run_s / result.run_all_s:.2f} of {cores} cores busy on average "
        f"(+ {result.cpu_bench_s:.1f} CPU s for the {n} simulated browsers in this process); each learner's run "
        f"p50 {percentile(runs, 50):.1f} s, p99 {percentile(runs, 99):.1f} s",
        f"TTFT, lesson 01's first streaming cell: p50 {percentile(ttft, 50):.0f} ms, p99 {percentile(ttft, 99):.0f} ms "
        + (
            f"(the class's local API at {CLASS_PACE} tokens/s)"
            if result.gateway
            else "(the local API's own realistic first-token delay is 400-900 ms)"
        ),
        f"TTFT, relay page through /user/NAME/relay/: p50 {percentile(relay, 50):.0f} ms, "
        f"p99 {percentile(relay, 99):.0f} ms",
        f"memory per learner (RSS): {per_learner:.0f} MiB = server {mean(mem['server'] or [0]):.0f} + kernel"
        f"{'' if result.gateway else ' with its local API thread'} {mean(mem['kernel'] or [0]):.0f} + relay {mean(mem['relay'] or [0]):.0f} "
        f"(max {max(mem['total'] or [0]):.0f}); USS {mean(mem['uss'] or [0]):.0f} MiB (what it adds on its own)",
        f"hub's own memory (RSS): hub {result.hub_mib:.0f} MiB + proxy {result.proxy_mib:.0f} MiB",
        f"load average (1 min) of this machine: {result.load[0]:.2f} when the class started, {result.load[1]:.2f} at "
        f"its end ({cores} cores; other work on the machine slows the class)",
        f"kernel websocket reconnects, as JupyterLab makes them when the server closes a socket: "
        f"{sum(x.reconnects for x in result.learners)}; kernels lost and started again by their learner: "
        f"{sum(x.kernels_lost for x in result.learners)}",
    ]
    for learner in result.learners:
        if learner.error:
            lines.append(f"  {learner.name}: {learner.error}")
    lines.append(
        f"hub: {k}/{n} learners streamed · all ready in {ready_s} s · TTFT p50 {percentile(ttft, 50):.0f} ms, "
        f"p99 {percentile(ttft, 99):.0f} ms · memory per learner {per_learner:.0f} MiB"
    )
    if (gateway := result.gateway) is not None:
        lesson = mean(mem["lesson"]) if mem["lesson"] else float("nan")
        lesson_rss = mean(mem["lesson_rss"]) if mem["lesson_rss"] else float("nan")
        streamed = {x.name for x in result.streamed}
        through = [name for name in gateway.through if name in streamed]
        straight_ms, through_ms = gateway.ttft_p99_ms
        lines[-1:-1] = [
            f"gateway process with the class's local API: {gateway.gateway_mib:.0f} MiB (RSS); an over-budget "
            f"request raised {gateway.refused_as}; kernels with a local API of their own: "
            f"{len(gateway.kernel_apis)} of {n}",
            f"memory per learner after lesson 01 (the server and its kernel, the relay page not opened): RSS "
            f"{lesson_rss:.0f} MiB (max {max(mem['lesson_rss'] or [0]):.0f}), PSS {lesson:.0f} MiB (max "
            f"{max(mem['lesson'] or [0]):.0f}) (target <= 250 MiB RSS: every page a learner's processes map, the "
            f"libraries they share with the others counted in full; the gateway line's figure)",
            f"TTFT p99, the whole class asking at the same instant at {CLASS_PACE} tokens/s: through the gateway "
            f"{through_ms:.0f} ms, straight from the class's local API {straight_ms:.0f} ms (+{through_ms - straight_ms:.0f}"
            f" ms; target within +{SLACK_MS} ms: {'met' if through_ms - straight_ms <= SLACK_MS else 'MISSED'}; the "
            f"median of {PAIRS} pairs)",
        ]
        lines.append(
            f"gateway: {len(through)}/{n} learners streamed through it · key in {len(gateway.key_in)} of {n} learner "
            f"environments · over budget: refused {gateway.refused} · dashboard lists "
            f"{sum(x.name in gateway.listed for x in result.learners)} learners · memory per learner {lesson_rss:.0f} MiB"
        )
    return lines


def gateway_key() -> str:
    """The key the bench gives the gateway: made up for the run (the class runs offline, so nothing is spent); what
    matters is that no learner's process ever holds it."""
    import secrets

    return "sk-ant-api03-" + secrets.token_urlsafe(64) + "AA"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/hub.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=30, help="how many learners start at once (default 30)")
    parser.add_argument("--port", type=int, default=0, help="the hub's port (default: a free one)")
    parser.add_argument(
        "--gateway", action="store_true", help="cohort mode: the class through the class gateway, which holds a key"
    )
    args = parse_args(parser, argv)
    if not 1 <= args.learners <= 500:
        parser.error(f"--learners: expected 1 to 500, got {args.learners}")
    with tempfile.TemporaryDirectory(prefix="course-hub-") as tmp:
        key = gateway_key() if args.gateway else ""
        gateway = {"ANTHROPIC_API_KEY": key, "COURSE_GATEWAY_MODE": "offline", "COURSE_PACE": CLASS_PACE}
        options = {"gateway": gateway} if key else {}
        with Hub(Path(args.keep or tmp), port=args.port, copy=[LESSON], admins=[INSTRUCTOR], **options) as hub:
            result = asyncio.run(run_class(hub, args.learners, gateway_key=key))
        for line in report(result):
            print(line, flush=True)
    return 0 if passed(result) else 1


def passed(result: Result) -> bool:
    """Every learner streamed; in cohort mode also through the gateway, no key anywhere, the over-budget refusal,
    every learner on the dashboard."""
    n, gateway = len(result.learners), result.gateway
    if len(result.streamed) != n:
        return False
    return gateway is None or (
        len(gateway.through) == n
        and not gateway.key_in
        and gateway.refused == 402
        and len(gateway.listed) >= n
        and not gateway.kernel_apis
    )


if __name__ == "__main__":
    sys.exit(main())
