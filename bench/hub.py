"""A class at once on a real JupyterHub: N learners log in, start their servers together, run lesson 01 and stream
lesson 08's relay page, all through the hub's proxy, the way their browsers would.

The hub is the real thing, on loopback, in a temporary folder: ``jupyterhub`` with configurable-http-proxy (from npm,
``make hub`` installs both), ``DummyAuthenticator`` with a fixed password, ``SimpleLocalProcessSpawner`` (each
learner's home is a folder under the temporary one), the course installed in the single-user environment (this venv),
offline mode, jupyter-server-proxy's ``/relay/`` entry. It is started and stopped by PID.

Each learner, concurrently:

1. logs in through the hub's login form (the fixed password), then starts their server through the hub's REST API
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
    python bench/hub.py --serve           # `make hub`: a hub to try by hand on http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import psutil

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "notebooks" / "01_text_stream.ipynb"
PASSWORD = "course-hub-test-password"  # the test hub's fixed password: loopback only, never a real hub's
RELAY_PROMPT = "Write a haiku about debugging."
MIB = 1024 * 1024
CHP = Path(sys.prefix) / "node" / "node_modules" / ".bin" / "configurable-http-proxy"  # where `make hub` puts it

CONFIG = """\
# Written by bench/hub.py for one run; everything below lives in this folder and listens on 127.0.0.1 only.
import json, shutil
from pathlib import Path

settings = json.loads({settings!r})
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = settings["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings["hub_port"]
c.JupyterHub.db_url = "sqlite:///" + settings["root"] + "/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = settings["root"] + "/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = settings["root"] + "/jupyterhub.pid"
c.ConfigurableHTTPProxy.command = [settings["chp"]]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:%d" % settings["proxy_api_port"]
c.ConfigurableHTTPProxy.pid_file = settings["root"] + "/proxy.pid"

# DummyAuthenticator with one shared password (deprecated in favour of SharedPasswordAuthenticator since 5.3,
# kept because it is what the tests ask for): any user name logs in with it.
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = settings["password"]

# Every learner's server is a process of this machine's user, its home a folder under ours.
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = settings["root"] + "/home/{{username}}"
c.Spawner.cmd = [settings["singleuser"]]
c.Spawner.args = settings["args"]
c.Spawner.default_url = "/lab"
c.Spawner.environment = settings["environment"]
c.Spawner.start_timeout = c.Spawner.http_timeout = settings["timeout"]
c.JupyterHub.concurrent_spawn_limit = 0  # a whole class starts at the same minute
c.JupyterHub.implicit_spawn_seconds = 1  # a link into a stopped server (nbgitpuller's) starts it, no extra click


def copy_course(spawner):
    home = Path(spawner.home_dir)
    home.mkdir(parents=True, exist_ok=True)
    for source in map(Path, settings["copy"]):
        if not (home / source.name).exists():
            (shutil.copytree if source.is_dir() else shutil.copy)(source, home / source.name)


c.Spawner.pre_spawn_hook = copy_course

# Kernels talk to their server over Unix sockets, not TCP: thirty servers starting kernels at once on one host race
# for free ports, and a kernel that loses dies at start ("Address already in use"), leaving its learner waiting on a
# kernel that never answers. A socket's path must stay under ~100 characters, so each runtime folder is short.
c.Spawner.args.append("--KernelManager.transport=ipc")
c.Spawner.environment["JUPYTER_RUNTIME_DIR"] = lambda spawner: settings["runtime"] + "/" + spawner.user.name
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proxy_command() -> str:
    """configurable-http-proxy: the copy `make hub` installs from npm, else one on PATH."""
    found = str(CHP) if CHP.exists() else shutil.which("configurable-http-proxy")
    if not found:
        raise RuntimeError(
            "configurable-http-proxy not found: run `make hub` (it installs it from npm into .venv/node)"
        )
    return found


class Hub:
    """A JupyterHub in ``root`` on 127.0.0.1, a context manager. ``env`` adds to the learners' environment;
    ``copy`` lists files put in every learner's home before their server starts."""

    def __init__(self, root: Path, *, port: int = 0, env: dict | None = None, copy=(), timeout: float = 600):
        self.root, self.timeout = Path(root), timeout
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.environment = {"COURSE_OFFLINE": "1", **(env or {})}
        self.copy = [str(path) for path in copy]
        self.process: subprocess.Popen | None = None
        self.log = self.root / "jupyterhub.log"
        self.runtime = ""  # a short folder for the learners' kernel sockets, made on enter

    def home(self, name: str) -> Path:
        return self.root / "home" / name

    def _config(self) -> str:
        args = ["--ServerApp.ip=127.0.0.1"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--allow-root")  # CI containers run as root; Jupyter refuses to without it
        settings = {
            "root": str(self.root),
            "port": self.port,
            "hub_port": free_port(),
            "proxy_api_port": free_port(),
            "chp": proxy_command(),
            "password": PASSWORD,
            "singleuser": str(Path(sys.executable).with_name("jupyterhub-singleuser")),
            "args": args,
            "environment": self.environment,
            "timeout": int(self.timeout),
            "copy": self.copy,
            "runtime": self.runtime,
        }
        return CONFIG.format(settings=json.dumps(settings))

    def __enter__(self) -> Hub:
        self.root.mkdir(parents=True, exist_ok=True)
        self.runtime = tempfile.mkdtemp(prefix="hub-rt-")
        config = self.root / "jupyterhub_config.py"
        config.write_text(self._config())
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "COURSE_", "JUPYTER"))}
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(config)],
                cwd=self.root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyterhub exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx2.get(f"{self.url}/hub/api/", timeout=5).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"jupyterhub did not answer within 120 s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else "(no log)"

    def __exit__(self, *exc) -> None:
        """Stop the hub by its PID (it stops the learners' servers and its proxy), then end by PID whatever it had
        started that is still running (servers and kernels run in sessions of their own, so no process group holds
        them all)."""
        if self.process is None:
            return
        try:
            started = self.processes()[1:]
        except psutil.Error:
            started = []
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        for process in started:
            try:
                process.kill()  # psutil checks it is still the same process, not a reused PID
            except psutil.NoSuchProcess:
                pass
        self.process = None
        shutil.rmtree(self.runtime, ignore_errors=True)

    # -- processes, for memory and CPU figures -------------------------------------------------------------------

    def processes(self) -> list[psutil.Process]:
        """The hub and everything it started: proxy, single-user servers, their kernels and relays."""
        hub = psutil.Process(self.process.pid)
        return [hub, *hub.children(recursive=True)]

    def servers(self) -> dict[str, psutil.Process]:
        """Each learner's single-user server process, by user name."""
        found = {}
        for process in self.processes():
            try:
                if any("jupyterhub-singleuser" in part for part in process.cmdline()):
                    found[process.environ()["JUPYTERHUB_USER"]] = process
            except (psutil.Error, KeyError):
                continue
        return found


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
        form = {"username": self.name, "password": PASSWORD, "_xsrf": xsrf.group(1)}
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
        started, event, texts = time.monotonic(), "message", []
        async with self.http.stream("POST", page_path + "chat", json=body, headers=headers) as response:
            if response.status_code != 200:
                await response.aread()
                expect(response, 200)
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    if event == "text":
                        if self.ttft_relay is None:
                            self.ttft_relay = time.monotonic() - started
                        texts.append(json.loads(line[5:])["text"])
                    elif event == "error":
                        raise Refused(f"the relay sent an error event: {line[5:].strip()}")
        self.relay_text = "".join(texts)
        if not self.relay_text:
            raise Refused("the relay streamed no text")

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
    """RSS per learner (total and by part; "uss": what a learner's processes add on their own), hub's, proxy's."""
    per_learner: dict[str, list[float]] = {"total": [], "server": [], "kernel": [], "relay": [], "uss": []}
    for server in hub.servers().values():
        parts, uss = {"server": 0.0, "kernel": 0.0, "relay": 0.0}, 0.0
        for process in [server, *server.children(recursive=True)]:
            try:
                line = " ".join(process.cmdline())
                kind = "kernel" if "ipykernel" in line else "relay" if "helpers.web" in line else "server"
                info = process.memory_full_info()
            except psutil.Error:
                continue
            parts[kind] += info.rss / MIB
            uss += info.uss / MIB
        for kind, mib in parts.items():
            per_learner[kind].append(mib)
        per_learner["total"].append(sum(parts.values()))
        per_learner["uss"].append(uss)
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


async def run_class(hub: Hub, learners: int, lesson: str = LESSON.name, spawn_timeout: float = 900) -> Result:
    """Log ``learners`` users in, start their servers together, then have each run ``lesson`` and stream the relay."""
    names = [f"learner{i:02d}" for i in range(1, learners + 1)]
    class_ = [Learner(hub.url, name) for name in names]
    me = psutil.Process()
    bench_before = sum(me.cpu_times()[:2])
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
        f"(the local API's own realistic first-token delay is 400-900 ms)",
        f"TTFT, relay page through /user/NAME/relay/: p50 {percentile(relay, 50):.0f} ms, "
        f"p99 {percentile(relay, 99):.0f} ms",
        f"memory per learner (RSS): {per_learner:.0f} MiB = server {mean(mem['server'] or [0]):.0f} + kernel with "
        f"its local API thread {mean(mem['kernel'] or [0]):.0f} + relay {mean(mem['relay'] or [0]):.0f} "
        f"(max {max(mem['total'] or [0]):.0f}); USS {mean(mem['uss'] or [0]):.0f} MiB (what it adds on its own)",
        f"hub's own memory (RSS): hub {result.hub_mib:.0f} MiB + proxy {result.proxy_mib:.0f} MiB",
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
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/hub.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=30, help="how many learners start at once (default 30)")
    parser.add_argument("--serve", action="store_true", help="only start the hub, with every lesson in each home")
    parser.add_argument("--port", type=int, default=0, help="the hub's port (default: free; --serve: 8000)")
    parser.add_argument("--keep", type=Path, help="run the hub in this new folder and keep it (its log, the homes)")
    args = parser.parse_args(argv)
    if not 1 <= args.learners <= 500:
        parser.error(f"--learners: expected 1 to 500, got {args.learners}")
    if args.keep and args.keep.exists():
        parser.error(f"--keep: expected a folder that does not exist yet, got {args.keep}")
    try:
        proxy_command()
    except RuntimeError as err:
        parser.exit(1, f"{err}\n")
    with tempfile.TemporaryDirectory(prefix="course-hub-") as tmp:
        tmp = args.keep or tmp
        if args.serve:
            # every lesson and its solutions, and the files 00_setup looks for upward from the notebook
            course = [*sorted((ROOT / "notebooks").iterdir()), ROOT / ".env.example", ROOT / ".gitignore"]
            with Hub(Path(tmp), port=args.port or 8000, copy=course) as hub:
                print(f"JupyterHub on {hub.url}: any user name, password {PASSWORD!r}; Ctrl-C stops it", flush=True)
                try:
                    hub.process.wait()
                except KeyboardInterrupt:
                    pass
            return 0
        with Hub(Path(tmp), port=args.port, copy=[LESSON]) as hub:
            result = asyncio.run(run_class(hub, args.learners))
        for line in report(result):
            print(line, flush=True)
    return 0 if len(result.streamed) == args.learners else 1


if __name__ == "__main__":
    sys.exit(main())
