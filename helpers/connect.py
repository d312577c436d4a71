"""Choose live or offline mode and make real SDK clients for it.

Order of precedence, first match wins:

1. ``offline=True`` passed to :func:`client` / :func:`async_client`, or ``COURSE_OFFLINE=1`` in the environment
   (the tests set it) -> offline.
2. A class gateway (cohort mode on JupyterHub): the spawner set ``COURSE_GATEWAY_URL`` and the kernel holds the
   learner's hub token (``JUPYTERHUB_API_TOKEN``) -> requests go to the gateway with that token as the credential;
   the class's key stays on the gateway (see :mod:`helpers.gateway`). Offline (case 1) behind a gateway reaches
   the class's one local API through it (``{gateway}/offline``), so the kernel starts none of its own.
3. ``ANTHROPIC_API_KEY`` in the environment or in a ``.env`` file (found from the working directory upward)
   -> live. ``ANTHROPIC_BASE_URL`` is honoured, so a gateway or proxy works.
4. Otherwise -> offline: a local Messages API is started on 127.0.0.1 in a background thread (or
   ``COURSE_OFFLINE_URL`` names one that is already running) and the clients talk to it.

Other variables: ``COURSE_PACE`` (realistic | instant | tokens per second) paces the local API;
``COURSE_CASSETTES=folder`` makes it serve recorded streams to the requests they were recorded for;
``COURSE_RECORD=folder`` in live mode saves every complete stream there (see :mod:`helpers.offline.cassettes`).

Either way you get the real ``anthropic.Anthropic`` / ``anthropic.AsyncAnthropic``; only where requests go differs.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import anthropic

from helpers.gateway import learner as gateway

OFFLINE_KEY = "offline-mode-needs-no-key"
DEFAULT_LIVE_URL = "https://api.anthropic.com"
_TRUE = {"1", "true", "yes", "on"}

_local_api = None
_local_api_lock = threading.Lock()


@dataclass(frozen=True)
class Mode:
    """Where requests go. ``key_hint`` is the key masked to its last 4 characters, never the key."""

    name: str  # "live", "gateway" or "offline"
    base_url: str
    key_hint: str  # for the gateway: the learner's hub user name

    @property
    def offline(self) -> bool:
        return self.name == "offline"

    def banner(self) -> str:
        if self.name == "gateway":
            return (
                f"mode: class gateway · requests go to {public_url(self.base_url)} as {self.key_hint} · "
                "the class's key stays on the gateway"
            )
        if self.offline:
            return (
                f"mode: offline · requests go to the local Messages API at {public_url(self.base_url)} · no key needed"
            )
        return f"mode: live · requests go to {public_url(self.base_url)} · key {self.key_hint}"


def public_url(url: str) -> str:
    """``url`` fit to print: a user name and password in it (``https://user:pass@gateway``) become ``…@``, and a
    query string (where gateways put tokens) ``?…``. What is not a URL is not shown at all (it may be a key pasted in
    the wrong place)."""
    if url.startswith("(") and url.endswith(")"):  # a description, e.g. "(local API, started on first use)"
        return url
    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
    except ValueError:
        parts = None
    if parts is None or not parts.scheme or not host:
        return "(not a URL: check ANTHROPIC_BASE_URL)"
    netloc = f"…@{host}" if "@" in parts.netloc else parts.netloc
    return urlunsplit((parts.scheme, netloc, parts.path, "…" if parts.query else "", "…" if parts.fragment else ""))


def mask(key: str) -> str:
    """``sk-ant-…abcd``: enough to tell keys apart, never enough to use one."""
    return f"…{key[-4:]}" if len(key) > 8 else "…"


def check_key(key: str, base_url: str = DEFAULT_LIVE_URL) -> None:
    """Raise ValueError saying what is wrong with the key's shape (masked: its last 4 characters at most).

    A key with a line break, a space or a non-ASCII character inside cannot go in an HTTP header (a key pasted over
    two lines in ``.env`` does that); one without the ``sk-ant-`` prefix is not an Anthropic API key (a gateway named
    by ``ANTHROPIC_BASE_URL`` may use its own keys, so the prefix is only required for api.anthropic.com).
    """
    where = f"ANTHROPIC_API_KEY ({mask(key)}, {len(key)} characters)"
    fix = "put the whole key on one line in .env (ANTHROPIC_API_KEY=sk-ant-...), with no quotes or spaces inside"
    for i, ch in enumerate(key):
        if ch.isspace() or not ch.isascii() or not ch.isprintable():
            what = (
                "a line break"
                if ch in "\r\n"
                else "a space"
                if ch.isspace()
                else "a character HTTP headers cannot carry"
            )
            raise ValueError(f"{where} has {what} at position {i + 1}: {fix}")
    if base_url.rstrip("/") == DEFAULT_LIVE_URL and not key.startswith("sk-ant-"):
        raise ValueError(
            f"{where} does not start with sk-ant-, so it is not an Anthropic API key: copy the whole key from "
            "console.anthropic.com (API keys) into .env, or set COURSE_OFFLINE=1 to work offline"
        )


def load_env() -> None:
    """Read ``.env`` (searching from the working directory upward) without overriding the environment."""
    from dotenv import find_dotenv, load_dotenv

    load_dotenv(find_dotenv(usecwd=True), override=False)


def save_key(key: str, folder: str | os.PathLike | None = None) -> str:
    """Write ``ANTHROPIC_API_KEY=key`` into the course's ``.env`` (beside ``.env.example``, found from the working
    directory upward, or in ``folder``), readable by you alone; return the file's path. Prints only the masked key.

    For a notebook: ``connect.save_key(getpass())`` keeps the key out of the cell, its output and the saved file.
    Raises ValueError naming what is wrong with the key's shape (see :func:`check_key`)."""
    from pathlib import Path

    from dotenv import find_dotenv, set_key

    key = key.strip()
    check_key(key, os.environ.get("ANTHROPIC_BASE_URL", "").strip() or DEFAULT_LIVE_URL)
    if folder is None:
        example = find_dotenv(".env.example", usecwd=True)
        if not example:
            raise ValueError("no .env.example above this folder: pass folder= to say where the course is")
        folder = Path(example).parent
    path = Path(folder) / ".env"
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    set_key(path, "ANTHROPIC_API_KEY", key, quote_mode="never")
    print(f"saved key {mask(key)} to {path.name} in the course folder: restart the kernel to go live")
    return str(path)


def _forced_offline() -> bool:
    return os.environ.get("COURSE_OFFLINE", "").strip().lower() in _TRUE


def mode(offline: bool | None = None) -> Mode:
    """Decide the mode from the argument, the environment and ``.env``; starts nothing.

    Raises ValueError naming what is wrong with a live key's shape (see :func:`check_key`), never showing the key."""
    load_env()
    key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
    if offline or (offline is None and _forced_offline()):
        return Mode("offline", os.environ.get("COURSE_OFFLINE_URL") or "(local API, started on first use)", "")
    if found := gateway.detect():
        return Mode("gateway", found.url, found.user)
    if offline is None and not key:
        return Mode("offline", os.environ.get("COURSE_OFFLINE_URL") or "(local API, started on first use)", "")
    base_url = os.environ.get("ANTHROPIC_BASE_URL", "").strip() or DEFAULT_LIVE_URL
    check_key(key, base_url)
    return Mode("live", base_url.rstrip("/"), mask(key))


def local_api_url() -> str:
    """The URL of the local Messages API for this process, starting it in a background thread if needed."""
    global _local_api
    if url := os.environ.get("COURSE_OFFLINE_URL"):
        return url.rstrip("/")
    with _local_api_lock:
        if _local_api is None:
            from helpers.offline import start

            _local_api = start(
                pace=os.environ.get("COURSE_PACE") or "realistic",
                cassettes=os.environ.get("COURSE_CASSETTES") or None,
            )
        return _local_api.url


def _resolve(offline: bool | None) -> tuple[Mode, dict]:
    m = mode(offline)
    if m.offline and (found := gateway.detect()) and not os.environ.get("COURSE_OFFLINE_URL"):
        url = f"{found.url}/offline"  # the class's one local API, through the gateway: none in this kernel
        return Mode("offline", url, ""), {"api_key": found.token, "base_url": url, "default_headers": found.headers()}
    if m.offline:
        url = local_api_url()
        return Mode("offline", url, ""), {"api_key": OFFLINE_KEY, "base_url": url}
    if m.name == "gateway" and (found := gateway.detect()):
        return m, {"api_key": found.token, "base_url": found.url, "default_headers": found.headers()}
    kwargs: dict = {"api_key": os.environ["ANTHROPIC_API_KEY"].strip(), "base_url": m.base_url}
    if record_dir := os.environ.get("COURSE_RECORD"):
        kwargs["_record_dir"] = record_dir
    return m, kwargs


def _make(cls, offline: bool | None, quiet: bool, options: dict):
    if offline not in (None, True, False) or quiet not in (True, False):
        raise TypeError(
            f"offline= expects True, False or None (decide from the environment) and quiet= True or False, "
            f"got offline={offline!r}, quiet={quiet!r}"
        )
    m, kwargs = _resolve(offline)
    record_dir = kwargs.pop("_record_dir", None)
    if record_dir and "http_client" not in options:
        from helpers.offline.cassettes import recording_http_client

        kwargs["http_client"] = recording_http_client(record_dir, asynchronous=cls is anthropic.AsyncAnthropic)
    if not quiet:
        print(m.banner())
    if "default_headers" in kwargs and "default_headers" in options:
        options = {**options, "default_headers": {**kwargs["default_headers"], **options["default_headers"]}}
    return cls(**{**kwargs, **options})


def client(*, offline: bool | None = None, quiet: bool = False, **options) -> anthropic.Anthropic:
    """A real ``anthropic.Anthropic`` for the current mode; prints one line saying where requests go.

    ``offline=True`` always uses the local API (the fault demos do, in both modes). Extra keyword arguments
    (``max_retries``, ``timeout``, ``default_headers`` …) go to the client unchanged.
    """
    return _make(anthropic.Anthropic, offline, quiet, options)


def async_client(*, offline: bool | None = None, quiet: bool = False, **options) -> anthropic.AsyncAnthropic:
    """Like :func:`client`, for ``anthropic.AsyncAnthropic``."""
    return _make(anthropic.AsyncAnthropic, offline, quiet, options)
