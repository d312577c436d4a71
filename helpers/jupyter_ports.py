"""A Jupyter server extension: ``/proxy/PORT/`` (and ``/relay/``) opens only a server this Jupyter server started.

jupyter-server-proxy's ``/proxy/PORT/`` (lessons 08 and 10 send learners there) forwards to whatever listens on
``127.0.0.1:PORT``. Where learners share one machine's loopback (TLJH, ``make hub``), that may be a classmate's
server: one link to the learner's own ``/hub/user-redirect/proxy/PORT/`` serves the classmate's page under the
learner's own server URL, and its script has the learner's login and XSRF cookie, so their files, terminals and
kernels (``subdomain_host`` does not help: the page is on the learner's own origin). A named server (``/relay/``) is
reached the same way once a classmate binds its port before it does. Here such a request (page or websocket) is
refused with 403, text/plain, unless something listens on that port at 127.0.0.1 (else ::1) and every socket a
connection there reaches belongs to this server or a process it started (its kernels, its terminals and what they
run); the proxy is then pinned to that address (``localhost`` resolves to ::1 first on Debian, where a classmate may
listen beside the learner's 127.0.0.1). Linux reads that from ``/proc``; elsewhere (no shared-loopback hub) nothing
is checked.

tools/install_settings.py enables it in the environment's Jupyter server config; the course's hub on every server.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")
LISTEN = "0A"  # the TCP state of a listening socket in /proc/net/tcp
LOOPBACK = ("localhost", "127.0.0.1")  # the hosts jupyter-server-proxy allows by default
# /proc/net/tcp{,6} local addresses (little-endian hex words) -> what a connection to 127.0.0.1 / [::1] reaches there
RECEIVES = {
    ("tcp", "0100007F"): "v4",
    ("tcp6", "0000000000000000FFFF00000100007F"): "v4",  # ::ffff:127.0.0.1
    ("tcp", "00000000"): "v4 any",
    ("tcp6", "00000000000000000000000000000000"): "v6 any",  # also IPv4's, unless IPv6-only
    ("tcp6", "00000000000000000000000001000000"): "v6",  # ::1
}
GUARDS: set = set()  # the guarded methods put in place


def listening(port: int, proc: Path = PROC) -> dict[str, set[int]] | None:
    """Where ``127.0.0.1:port`` and ``[::1]:port`` connect: the inodes of the TCP sockets listening there, by address
    (a socket on 127.0.0.2 or an IPv6-only one gets none of them); None without /proc."""
    tables = {name: proc / "net" / name for name in ("tcp", "tcp6")}
    if not tables["tcp"].is_file():
        return None
    found: dict[str, set[int]] = {name: set() for name in ("v4", "v4 any", "v6", "v6 any")}
    for name, table in tables.items():
        if not table.is_file():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()  # sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            if len(fields) <= 9 or fields[3] != LISTEN:
                continue
            address, _, hex_port = fields[1].rpartition(":")
            if int(hex_port, 16) == port and (where := RECEIVES.get((name, address))):
                found[where].add(int(fields[9]))
    return found


def destination(found: dict[str, set[int]]) -> tuple[str, set[int]] | None:
    """The address the proxy connects to and the sockets a connection there reaches: 127.0.0.1 when something takes
    it (a socket bound to it or to every IPv4 address; else an IPv6 socket on every address, which takes IPv4 too
    unless it is IPv6-only), else [::1]."""
    if found["v4"]:
        return "127.0.0.1", found["v4"]
    if found["v4 any"]:
        return "127.0.0.1", found["v4 any"]
    if found["v6"] or found["v6 any"]:
        return "[::1]", found["v6"] | found["v6 any"]
    return None


def started_by(root: int, proc: Path = PROC) -> set[int]:
    """``root`` and every process descended from it (those whose /proc entry can be read)."""
    children: dict[int, list[int]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it ended meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])  # after the command's name, which may hold ")": state, ppid
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += children.get(pid, [])
    return found


def sockets_of(pids: set[int], proc: Path = PROC) -> set[int]:
    """The inodes of the sockets the processes ``pids`` hold open."""
    inodes = set()
    for pid in pids:
        try:
            fds = list((proc / str(pid) / "fd").iterdir())
        except OSError:  # ended, or another user's
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    return inodes


def problem(port: int, server: int | None = None, proc: Path = PROC) -> str | None:
    """Why ``/proxy/{port}/`` must not be opened by the Jupyter server ``server`` (this process), or None."""
    return check(port, server, proc)[0]


def check(port: int, server: int | None = None, proc: Path = PROC) -> tuple[str | None, str | None]:
    """(``problem``'s answer, the address to connect to: None to leave it as asked): only sockets a connection there
    reaches are judged, read after the walk of /proc (so a port can change hands only until the proxy connects)."""
    if not (proc / "net" / "tcp").is_file():
        return None, None  # no /proc: not Linux, where no hub shares one loopback between learners
    owned = sockets_of(started_by(os.getpid() if server is None else server, proc), proc)
    found = listening(port, proc)
    reached = destination(found) if found is not None else None
    if reached is None:
        return f"nothing listens on port {port}: start your server first, from a notebook or a terminal here", None
    address, inodes = reached
    if inodes - owned:
        return (
            f"port {port} is served by a process this Jupyter server did not start (another user's?): /proxy/ "
            "opens only servers you started here, from a notebook or a terminal"
        ), None
    return None, address


def _guarded(method, websocket: bool):
    async def guarded(self, host, port, *args, **kwargs):
        reason, self._course_address = check(int(port)) if _checked(self, host, port) else (None, None)
        if reason:
            self.log.warning("/proxy/ request refused: %s", reason)
            self.set_status(403)
            if websocket:
                self.close()
                return None
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(reason + "\n")
            return None
        return await method(self, host, port, *args, **kwargs)

    GUARDS.add(guarded)
    return guarded


def _pinned(method):
    """``get_client_uri`` connecting to the address the guard checked, not to ``localhost`` (which resolves to ::1
    first on Debian's /etc/hosts, where a classmate may listen beside the learner's 127.0.0.1)."""

    def pinned(self, protocol, host, port, proxied_path):
        uri = method(self, protocol, host, port, proxied_path)
        address = getattr(self, "_course_address", None)
        start = f"{protocol}://{host}:{port}"
        if address and address != host and uri.startswith(start):
            return f"{protocol}://{address}:{port}" + uri[len(start) :]
        return uri

    GUARDS.add(pinned)
    return pinned


def _checked(handler, host: str, port: str) -> bool:
    """Whether ``handler`` proxies to a port of this machine's loopback: the ``/proxy/`` routes, and named servers
    (``/relay/``: jupyter-server-proxy picks a free port, closes it and starts the server, which binds it seconds
    later; whoever binds it first is served), but not a unix socket (port 0) nor a host an operator allowed."""
    from jupyter_server_proxy.handlers import LocalProxyHandler, RemoteProxyHandler

    return isinstance(handler, LocalProxyHandler | RemoteProxyHandler) and host in LOOPBACK and port not in ("0", 0)


def _load_jupyter_server_extension(serverapp) -> None:
    try:
        from jupyter_server_proxy.handlers import ProxyHandler
    except ImportError:
        return  # nothing to guard
    for name, websocket in (("proxy", False), ("proxy_open", True)):
        method = getattr(ProxyHandler, name)
        if method not in GUARDS:  # loaded twice (a config file and a command-line flag): guard once
            setattr(ProxyHandler, name, _guarded(method, websocket))
    if ProxyHandler.get_client_uri not in GUARDS:
        ProxyHandler.get_client_uri = _pinned(ProxyHandler.get_client_uri)
    serverapp.log.info("/proxy/PORT/ opens only servers this Jupyter server started")


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "helpers.jupyter_ports"}]


__all__ = ["problem"]
