"""Fixtures shared by the tests: a local Messages API at instant pace and real SDK clients pointed at it."""

from __future__ import annotations

import functools
import ssl
from pathlib import Path

import anthropic
import httpx2
import pytest

from helpers.offline import start

from .parts import need, skip_or_fail

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "sse-samples"
MODEL = "claude-sonnet-4-6"


def relay_to(api, **options):
    """The relay (helpers.web) in a background thread, streaming from the local API ``api``; a context manager."""
    from helpers.web import start as start_relay

    factory = lambda: anthropic.AsyncAnthropic(base_url=api.url, api_key="test-key", max_retries=0)  # noqa: E731
    return start_relay(client_factory=factory, **options)


@functools.cache
def trust_store() -> ssl.SSLContext:
    """The system's certificates, loaded once: each HTTP client made without one loads them again, tens of
    milliseconds that the tests' plain-http loopback servers never use (pass it as ``verify=``)."""
    return ssl.create_default_context()


class _Requests:
    """``http.get(url, ...)``, ``http.post`` …: httpx2's functions of the same names (a new client per request, so no
    cookie or connection carries over from one request to the next), with the certificates loaded once."""

    def request(self, method: str, url: str, **options) -> httpx2.Response:
        with httpx2.Client(verify=trust_store(), timeout=options.pop("timeout", 30)) as client:
            return client.request(method, url, **options)

    def get(self, url: str, **options) -> httpx2.Response:
        return self.request("GET", url, **options)

    def head(self, url: str, **options) -> httpx2.Response:
        return self.request("HEAD", url, **options)

    def post(self, url: str, **options) -> httpx2.Response:
        return self.request("POST", url, **options)

    def put(self, url: str, **options) -> httpx2.Response:
        return self.request("PUT", url, **options)


http = _Requests()


def samples_or_skip() -> Path:
    """The recorded streams beside the repo; a user's clone has none, so tests that need them skip."""
    if not SAMPLES.is_dir():
        skip_or_fail("recorded samples not found at ../shared/sse-samples (they sit beside the project's own checkout)")
    return SAMPLES


NEEDS = {"browser": "chromium", "hub": "node/npm"}  # what a test with the marker needs (tests/test_markers.py)


def pytest_runtest_setup(item):
    """A test marked browser or hub skips (fails under CI) before any setup when its part is missing."""
    for marker, part in NEEDS.items():
        if item.get_closest_marker(marker):
            need(part)


@pytest.fixture(scope="session")
def api():
    with start(pace="instant") as running:
        yield running


@pytest.fixture(scope="session")
def client(api):
    """One SDK client for the session (it is thread-safe)."""
    http_client = anthropic.DefaultHttpxClient(verify=trust_store())
    with anthropic.Anthropic(base_url=api.url, api_key="test-key", max_retries=0, http_client=http_client) as shared:
        yield shared


@pytest.fixture
def aclient(api):
    """An async SDK client per test: its connections belong to the test's event loop."""
    http_client = anthropic.DefaultAsyncHttpxClient(verify=trust_store())
    return anthropic.AsyncAnthropic(base_url=api.url, api_key="test-key", max_retries=0, http_client=http_client)
