"""The course's JupyterHub, on loopback in a folder of its own: what `make hub` serves, and what the tests and
bench/hub.py start for a class.

It is the real thing: ``jupyterhub`` with configurable-http-proxy (from npm; ``make hub`` installs both),
``DummyAuthenticator`` with one password made at random for each run, ``SimpleLocalProcessSpawner`` (each learner's home is a folder under the
hub's), the course installed in the single-user environment (this venv), offline mode, jupyter-server-proxy's
``/relay/`` entry. :class:`Hub` starts it and stops it, and everything it started, by PID.

    python -m helpers.hub            # `make hub`: a hub to try by hand on http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2
import psutil

from helpers.net import free_port

ROOT = Path(__file__).resolve().parents[1]
CHP = Path(sys.prefix) / "node" / "node_modules" / ".bin" / "configurable-http-proxy"  # where `make hub` puts it

EXTENSIONS_OFF = ("jupyter_lsp", "notebook", "notebook_shim")  # server extensions installed but unused by the class

CONFIG = """\
# Written by helpers/hub.py for one run; everything below lives in this folder and listens on 127.0.0.1 only.
import asyncio, json, shutil, time
from pathlib import Path

from jupyterhub.spawner import SimpleLocalProcessSpawner

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

# DummyAuthenticator with one shared password, new at random for each run (deprecated in favour of
# SharedPasswordAuthenticator since 5.3, kept because it is what the tests ask for): any user name logs in with it.
# A trial on loopback only: a hub that holds a key needs a real authenticator and HTTPS (docs/workshop.md).
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = settings["password"]

# Every learner's server is a process of this machine's user, its home a folder under ours.
# ClassSpawner's start returns once the server listens, so the hub finds it up on its first check: the hub's own
# checks back off up to 5 s apart, and a class of 30 waited seconds for them.
class ClassSpawner(SimpleLocalProcessSpawner):
    async def start(self):
        ip, port = await super().start()
        deadline = time.monotonic() + self.start_timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            try:
                _, writer = await asyncio.open_connection(ip or "127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.2)
                continue
            writer.close()
            break
        return ip, port


c.JupyterHub.spawner_class = ClassSpawner
c.SimpleLocalProcessSpawner.home_dir_template = settings["root"] + "/home/{{username}}"
c.Spawner.cmd = settings["singleuser"]
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

# Lighter learners (helpers/lighter.py): the server and its kernels (the class's python3 kernel spec, first on
# JUPYTER_PATH) skip optional imports no lesson uses, and the server loads no extension the class does not use
# (language servers, the Notebook 7 interface: the class works in JupyterLab).
c.Spawner.environment["JUPYTER_PATH"] = settings["kernels"]
c.Spawner.args += ["--ServerApp.jpserver_extensions=%s=False" % name for name in settings["extensions_off"]]
# nbgitpuller links clone into one plain folder only (helpers/jupyter_gitpull.py), whether or not make ran here
c.Spawner.args.append("--ServerApp.jpserver_extensions=helpers.jupyter_gitpull=True")
# /proxy/PORT/ opens only a server the learner's own server started, never a classmate's (helpers/jupyter_ports.py)
c.Spawner.args.append("--ServerApp.jpserver_extensions=helpers.jupyter_ports=True")

c.Authenticator.admin_users = set(settings["admins"])

# Cohort mode: the class gateway, a service the hub runs, holds the key; each learner's kernel reaches it directly
# on loopback with the learner's own hub token (ANTHROPIC_AUTH_TOKEN: a plain anthropic.Anthropic() works too).
if settings["gateway"]:
    gateway = settings["gateway"]
    c.JupyterHub.services = [
        {{
            "name": "gateway",
            "url": gateway["url"],
            "command": [settings["python"], "-m", "helpers.gateway"],
            "environment": gateway["environment"],
            "cwd": settings["root"],
            "oauth_no_confirm": True,
            "timeout": 120,  # seconds the hub waits for it to answer at start, on a machine busy starting a class
        }}
    ]
    # the gateway reads who is an admin or an instructor; admins, and the instructors group, may log in to it
    c.JupyterHub.load_groups = {{"instructors": {{"users": settings["instructors"]}}}}
    c.JupyterHub.load_roles = [
        {{"name": "course-gateway", "services": ["gateway"], "scopes": ["read:users", "read:users:groups"]}},
        {{"name": "course-instructors", "groups": ["instructors"], "scopes": ["access:services!service=gateway"]}},
    ]
    c.Spawner.environment.update(
        {{
            "COURSE_GATEWAY_URL": gateway["api"],
            "ANTHROPIC_BASE_URL": gateway["api"],
            "ANTHROPIC_AUTH_TOKEN": lambda spawner: spawner.api_token,
        }}
    )
"""


def kind_of(command: list[str]) -> str:
    """What a process of a learner's is, by its command line: their kernel, their relay (lesson 08's page) or their
    server (helpers.lighter's, or what it stands in for)."""
    line = " ".join(command)
    if "helpers.lighter kernel" in line or "ipykernel_launcher" in line:
        return "kernel"
    return "relay" if "helpers.lighter relay" in line or "-m helpers.web" in line else "server"


def proxy_command() -> str:
    """configurable-http-proxy: the copy `make hub` installs from npm, else one on PATH."""
    found = str(CHP) if CHP.exists() else shutil.which("configurable-http-proxy")
    if not found:
        raise RuntimeError(
            "configurable-http-proxy not found: run `make hub` (it installs it from npm into .venv/node)"
        )
    return found


def alive(process: psutil.Process) -> bool:
    """Still running: not ended, and not a zombie waiting for its parent (init, for an orphan) to reap it."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def end_groups(processes: set[psutil.Process], timeout: float = 10) -> None:
    """End each process and the process group it leads (what it started in its group ends with it): SIGTERM, then
    SIGKILL for what still runs after ``timeout`` seconds. psutil checks each is still the process it was, not a
    reused PID; the group this interpreter belongs to is never signalled as a whole."""
    ours = os.getpgrp()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        processes = {process for process in processes if alive(process)}
        for process in processes:
            try:
                if os.getpgid(process.pid) == process.pid != ours:
                    os.killpg(process.pid, sig)
                else:
                    process.send_signal(sig)
            except (psutil.Error, ProcessLookupError):
                continue
        deadline = time.monotonic() + timeout
        while any(map(alive, processes)) and time.monotonic() < deadline:
            time.sleep(0.1)


class Hub:
    """A JupyterHub in ``root`` on 127.0.0.1, a context manager. ``env`` adds to the learners' environment;
    ``copy`` lists files put in every learner's home before their server starts."""

    def __init__(
        self,
        root: Path,
        *,
        port: int = 0,
        env: dict | None = None,
        copy=(),
        timeout: float = 600,
        gateway: dict | None = None,
        admins=(),
        instructors=(),
    ):
        """``gateway``: run the class gateway (cohort mode) with this environment (its key, limits, pace; see
        ``python -m helpers.gateway``), and point every learner at it instead of a local API of their own.
        ``admins``: user names that are hub admins; ``instructors``: the instructors group (both see the gateway's
        dashboard)."""
        self.root, self.timeout = Path(root), timeout
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.hub_port, self.proxy_api_port = free_port(), free_port()  # the hub's own API, the proxy's API
        self.gateway_port = free_port() if gateway is not None else 0
        self.gateway_env = dict(gateway or {})
        self.admins, self.instructors = list(admins), list(instructors)
        offline = {} if gateway is not None else {"COURSE_OFFLINE": "1"}
        self.environment = {**offline, **(env or {})}
        self.copy = [str(path) for path in copy]
        self.process: subprocess.Popen | None = None
        self.log = self.root / "jupyterhub.log"
        self.runtime = ""  # a short folder for the learners' kernel sockets, made on enter
        self.password = secrets.token_urlsafe(12)  # any user name logs in with it; new for every hub

    def home(self, name: str) -> Path:
        return self.root / "home" / name

    @property
    def gateway_url(self) -> str:
        """The gateway's API base, as the learners' kernels reach it (loopback, not through the hub's proxy)."""
        return f"http://127.0.0.1:{self.gateway_port}/services/gateway" if self.gateway_port else ""

    @property
    def gateway_state(self) -> Path:
        return self.root / "gateway.sqlite"

    def gateway_settings(self) -> dict | None:
        if not self.gateway_port:
            return None
        environment = {
            "COURSE_GATEWAY_STATE": str(self.gateway_state),
            "COURSE_PACE": self.environment.get("COURSE_PACE", "realistic"),
            **self.gateway_env,
        }
        return {"url": f"http://127.0.0.1:{self.gateway_port}", "api": self.gateway_url, "environment": environment}

    def _config(self) -> str:
        args = ["--ServerApp.ip=127.0.0.1"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--allow-root")  # CI containers run as root; Jupyter refuses to without it
        settings = {
            "root": str(self.root),
            "port": self.port,
            "hub_port": self.hub_port,
            "proxy_api_port": self.proxy_api_port,
            "chp": proxy_command(),
            "password": self.password,
            "singleuser": [sys.executable, "-m", "helpers.lighter", "server"],
            "kernels": str(ROOT / "jupyter"),
            "extensions_off": EXTENSIONS_OFF,
            "args": args,
            "environment": self.environment,
            "timeout": int(self.timeout),
            "copy": self.copy,
            "runtime": self.runtime,
            "python": sys.executable,
            "admins": self.admins,
            "instructors": self.instructors,
            "gateway": self.gateway_settings(),
        }
        return CONFIG.format(settings=json.dumps(settings))

    def __enter__(self) -> Hub:
        self.root.mkdir(parents=True, exist_ok=True)
        self.runtime = tempfile.mkdtemp(prefix="hub-rt-")
        config = self.root / "jupyterhub_config.py"
        config.touch(mode=0o600)  # it holds the password: readable by this user only
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
            if (status := self.running().poll()) is not None:
                raise RuntimeError(f"jupyterhub exited with {status}:\n{self.log_tail()}")
            try:  # the hub answers before its services do: with a gateway, ready means it answers too (401)
                if httpx2.get(f"{self.url}/hub/api/", timeout=5).status_code == 200 and (
                    not self.gateway_port or httpx2.get(f"{self.gateway_url}/v1/models", timeout=5).status_code == 401
                ):
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"jupyterhub did not answer within 120 s:\n{self.log_tail()}")

    def running(self) -> subprocess.Popen:
        """The hub's process; a clear error if the hub was not started (``with Hub(...) as hub:``) or has stopped."""
        if self.process is None:
            raise RuntimeError("the hub is not running: start it with `with Hub(root) as hub:`")
        return self.process

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else "(no log)"

    def __exit__(self, *exc) -> None:
        """Stop the hub by its PID (it stops the learners' servers, its services and its proxy), then end whatever it
        had started that still runs, each with its process group (the hub starts its proxy, services and servers in
        sessions of their own, so no one group holds them all). A hub that died (at start, say) left its children
        to init: they are found by the folder they run in, the hub's (the proxy and the gateway run in it, servers
        and their kernels in homes under it)."""
        if self.process is None:
            return
        started = self._started()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        end_groups({*started, *self._started()})
        self.process = None
        shutil.rmtree(self.runtime, ignore_errors=True)

    def _started(self) -> set[psutil.Process]:
        """What the hub started and still runs: its process tree, and any process running in the hub's folder."""
        found: set[psutil.Process] = set()
        try:
            found.update(psutil.Process(self.running().pid).children(recursive=True))
        except psutil.Error:
            pass
        root, mine = str(self.root.resolve()), os.getpid()
        for process in psutil.process_iter():
            try:
                where = process.cwd()
            except psutil.Error:
                continue
            if process.pid not in (mine, self.running().pid) and (where == root or where.startswith(root + os.sep)):
                found.add(process)
        return found

    # -- processes, for memory and CPU figures -------------------------------------------------------------------

    def processes(self) -> list[psutil.Process]:
        """The hub and everything it started: proxy, single-user servers, their kernels and relays."""
        hub = psutil.Process(self.running().pid)
        return [hub, *hub.children(recursive=True)]

    def servers(self) -> dict[str, psutil.Process]:
        """Each learner's single-user server process, by user name."""
        found = {}
        for process in self.processes():
            try:
                if process.cmdline()[1:4] == ["-m", "helpers.lighter", "server"]:
                    found[process.environ()["JUPYTERHUB_USER"]] = process
            except (psutil.Error, KeyError):
                continue
        return found


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """A command that starts a hub (`make hub`, bench/hub.py): adds ``--keep`` to ``parser``, parses ``argv``, and
    stops with a clear message if the ``--keep`` folder exists already or configurable-http-proxy is missing."""
    parser.add_argument("--keep", type=Path, help="run the hub in this new folder and keep it (its log, the homes)")
    args = parser.parse_args(argv)
    if args.keep and args.keep.exists():
        parser.error(f"--keep: expected a folder that does not exist yet, got {args.keep}")
    try:
        proxy_command()
    except RuntimeError as err:
        parser.exit(1, f"{err}\n")
    return args


def main(argv: list[str] | None = None) -> int:
    """`make hub`: start the hub with every lesson in each learner's home, until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m helpers.hub", description=main.__doc__)
    parser.add_argument("--port", type=int, default=8000, help="the hub's port (default 8000)")
    args = parse_args(parser, argv)
    # every lesson and its solutions, and the files 00_setup looks for upward from the notebook
    course = [*sorted((ROOT / "notebooks").iterdir()), ROOT / ".env.example", ROOT / ".gitignore"]
    with (
        tempfile.TemporaryDirectory(prefix="course-hub-") as tmp,
        Hub(Path(args.keep or tmp), port=args.port, copy=course) as hub,
    ):
        print(f"JupyterHub on {hub.url}: any user name, password {hub.password} (new each run); Ctrl-C stops it")
        sys.stdout.flush()
        try:
            hub.running().wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
