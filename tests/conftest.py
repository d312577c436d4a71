"""Fixtures shared by the tests: a local Messages API at instant pace and real SDK clients pointed at it."""

from __future__ import annotations

from pathlib import Path

import anthropic
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


@pytest.fixture
def client(api):
    return anthropic.Anthropic(base_url=api.url, api_key="test-key", max_retries=0)


@pytest.fixture
def aclient(api):
    return anthropic.AsyncAnthropic(base_url=api.url, api_key="test-key", max_retries=0)
