"""Fixtures shared by the tests: a local Messages API at instant pace and real SDK clients pointed at it."""

from __future__ import annotations

from pathlib import Path

import anthropic
import pytest

from helpers.offline import start

from .parts import skip_or_fail

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "sse-samples"
MODEL = "claude-sonnet-4-6"


def samples_or_skip() -> Path:
    """The recorded streams beside the repo; a user's clone has none, so tests that need them skip."""
    if not SAMPLES.is_dir():
        skip_or_fail("recorded samples not found at ../shared/sse-samples (they sit beside the project's own checkout)")
    return SAMPLES


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
