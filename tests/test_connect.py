"""Mode selection: offline by default, live with a key, forced offline by COURSE_OFFLINE, never leaking the key."""

from __future__ import annotations

import os
import subprocess
import sys

import anthropic
import pytest

from helpers import connect

from .conftest import MODEL

FAKE_KEY = "sk-ant-api03-" + "Q" * 86 + "-AbCd1234"
HAIKU = [{"role": "user", "content": "Write a haiku about debugging."}]


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A clean environment in an empty folder (no .env), with the local API of this test session."""
    names = ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "COURSE_OFFLINE", "COURSE_OFFLINE_URL", "COURSE_RECORD")
    for name in (*names, "COURSE_GATEWAY_URL", "JUPYTERHUB_API_TOKEN", "JUPYTERHUB_USER", "JPY_SESSION_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_offline_without_key(env, api, capsys):
    env.setenv("COURSE_OFFLINE_URL", api.url)
    client = connect.client()
    assert isinstance(client, anthropic.Anthropic)
    assert (
        capsys.readouterr().out
        == f"mode: offline · requests go to the local Messages API at {api.url} · no key needed\n"
    )
    with client.messages.stream(model=MODEL, max_tokens=64, messages=HAIKU) as stream:
        assert stream.get_final_text().startswith("Silent")


def test_starts_its_own_local_api_when_none_is_named(env):
    url = connect.local_api_url()
    assert url.startswith("http://127.0.0.1:")
    assert connect.local_api_url() == url  # one per process
    client = connect.client(quiet=True)
    assert client.messages.create(model=MODEL, max_tokens=64, messages=HAIKU).content


def test_live_with_key_masks_it(env, capsys):
    env.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    client = connect.client()
    out = capsys.readouterr().out
    assert out == "mode: live · requests go to https://api.anthropic.com · key …1234\n"
    assert FAKE_KEY not in out and FAKE_KEY[:-4] not in out
    assert client.api_key == FAKE_KEY
    assert repr(connect.mode()).count(FAKE_KEY) == 0


def test_key_from_dotenv_file(env, tmp_path):
    (tmp_path / ".env").write_text(f"ANTHROPIC_API_KEY={FAKE_KEY}\n")
    sub = tmp_path / "notebooks"
    sub.mkdir()
    env.chdir(sub)  # notebooks run from a subfolder: .env is found upward
    assert connect.mode().name == "live"


def test_forced_offline_even_with_key(env, api):
    env.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    env.setenv("COURSE_OFFLINE", "1")
    env.setenv("COURSE_OFFLINE_URL", api.url)
    assert connect.mode().offline
    assert connect.client(quiet=True).api_key == connect.OFFLINE_KEY
    env.setenv("COURSE_OFFLINE", "0")
    assert connect.mode().name == "live"
    assert connect.client(offline=True, quiet=True).base_url.host == "127.0.0.1"  # the fault demos' way


def test_live_honours_base_url(env, api, capsys):
    env.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    env.setenv("ANTHROPIC_BASE_URL", api.url + "/")
    client = connect.async_client()
    assert isinstance(client, anthropic.AsyncAnthropic)
    assert capsys.readouterr().out == f"mode: live · requests go to {api.url} · key …1234\n"


async def test_async_client_streams_in_live_mode_against_a_gateway(env, api):
    env.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    env.setenv("ANTHROPIC_BASE_URL", api.url)
    client = connect.async_client(quiet=True, max_retries=0)
    async with client.messages.stream(model=MODEL, max_tokens=64, messages=HAIKU) as stream:
        text = "".join([t async for t in stream.text_stream])
    assert text.startswith("Silent")


def test_recording_in_live_mode_then_replaying_for_a_class(env, tmp_path):
    """One key records real streams; the local API then serves them to the same requests, offline."""
    from helpers.offline import start

    recorded_from = start(pace="instant")
    try:
        env.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
        env.setenv("ANTHROPIC_BASE_URL", recorded_from.url)
        env.setenv("COURSE_RECORD", str(tmp_path / "cassettes"))
        live = connect.client(quiet=True)
        messages = [{"role": "user", "content": "Tell me something about owls"}]
        with live.messages.stream(model=MODEL, max_tokens=64, messages=messages) as stream:
            live_text = stream.get_final_text()
        cassettes = sorted(p.suffix for p in (tmp_path / "cassettes").iterdir())
        assert cassettes == [".json", ".sse"]
        assert FAKE_KEY not in "".join(p.read_text() for p in (tmp_path / "cassettes").iterdir())
    finally:
        recorded_from.stop()
    # Replace the recording's text so we can tell a replay from a scripted answer.
    sse_file = next((tmp_path / "cassettes").glob("*.sse"))
    first_word = live_text.split()[0]
    sse_file.write_bytes(sse_file.read_bytes().replace(first_word.encode(), b"RECORDED", 1))
    with start(pace="instant", cassettes=tmp_path / "cassettes") as replaying:
        client = anthropic.Anthropic(base_url=replaying.url, api_key="k")
        with client.messages.stream(model=MODEL, max_tokens=64, messages=messages) as stream:
            assert stream.get_final_text().startswith("RECORDED")
        with client.messages.stream(model=MODEL, max_tokens=64, messages=HAIKU) as stream:
            assert stream.get_final_text().startswith("Silent")  # no recording: scripted answer


# ---------------------------------------------------------------------------------------------------------------------
# The key's shape is checked when the mode is chosen, and the error never shows the key


@pytest.mark.parametrize(
    ("dotenv", "problem"),
    [
        (f'ANTHROPIC_API_KEY="{FAKE_KEY[:50]}\n{FAKE_KEY[50:]}"\n', "a line break at position 51"),
        (f"ANTHROPIC_API_KEY={FAKE_KEY[:50]} {FAKE_KEY[50:]}\n", "a space at position 51"),
        (f"ANTHROPIC_API_KEY={FAKE_KEY[:50]}é{FAKE_KEY[50:]}\n", "a character HTTP headers cannot carry"),
        ("ANTHROPIC_API_KEY=" + FAKE_KEY.removeprefix("sk-ant-") + "\n", "does not start with sk-ant-"),
    ],
)
def test_a_malformed_key_is_named_masked_and_never_sent(env, tmp_path, capsys, dotenv, problem):
    from helpers.doctor import examine_live_api, examine_mode

    (tmp_path / ".env").write_text(dotenv)
    with pytest.raises(ValueError, match=problem) as info:
        connect.client()
    message = str(info.value)
    assert "ANTHROPIC_API_KEY (…1234" in message  # the last 4 characters, as the banner shows them
    assert "Illegal header value" not in message
    mode, live = examine_mode(), examine_live_api()
    assert mode.status == "FAIL" and problem.split(" at ")[0] in mode.found and mode.fix
    assert live.status == "SKIP"
    shown = message + mode.line() + live.line() + capsys.readouterr().out
    for piece in (FAKE_KEY[:50], FAKE_KEY[50:-4], FAKE_KEY.removeprefix("sk-ant-")[:20]):
        assert piece not in shown


def test_a_gateway_may_use_its_own_key_shape(env, api):
    env.setenv("ANTHROPIC_API_KEY", "gateway-key-1234")
    env.setenv("ANTHROPIC_BASE_URL", api.url)
    assert connect.mode().key_hint == "…1234"
    assert connect.client(quiet=True).messages.create(model=MODEL, max_tokens=64, messages=HAIKU).content


@pytest.mark.parametrize(
    ("base_url", "shown"),
    [
        ("https://alice:s3cret-pass@gateway.example/v1", "https://…@gateway.example/v1"),
        ("https://sk-ant-api03-leaked@gateway.example", "https://…@gateway.example"),
        ("https://gateway.example/v1?token=s3cret-pass", "https://gateway.example/v1?…"),
        ("sk-ant-api03-s3cret-pass", "(not a URL: check ANTHROPIC_BASE_URL)"),
    ],
)
def test_the_banner_masks_credentials_in_the_url(env, capsys, base_url, shown):
    env.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    env.setenv("ANTHROPIC_BASE_URL", base_url)
    connect.mode().banner()
    line = connect.mode().banner()
    assert line == f"mode: live · requests go to {shown} · key …1234"
    assert "s3cret" not in line and "leaked" not in line


HUB_TOKEN = "3f9c2a7e5b1d4c8e9a0b6d2f7e1c5a9b"  # the shape of a JupyterHub token


def test_a_class_gateway_is_found_by_itself_and_gets_the_hub_token_not_a_key(env, api, capsys):
    """What a kernel on the hub holds in cohort mode: the gateway's URL (from the spawner) and the learner's hub
    token. The local API stands in for the gateway here (tests/test_gateway.py runs the real one)."""
    env.setenv("COURSE_GATEWAY_URL", api.url + "/")
    env.setenv("JUPYTERHUB_API_TOKEN", HUB_TOKEN)
    env.setenv("JUPYTERHUB_USER", "ann")
    env.setenv("JPY_SESSION_NAME", "/home/ann/course/notebooks/01_text_stream.ipynb")
    client = connect.client(default_headers={"x-mine": "1"})  # no key anywhere: a gateway needs none
    out = capsys.readouterr().out
    assert out == (f"mode: class gateway · requests go to {api.url} as ann · the class's key stays on the gateway\n")
    assert HUB_TOKEN not in out
    assert client.api_key == HUB_TOKEN and str(client.base_url).rstrip("/") == api.url
    raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=64, messages=HAIKU)
    sent = raw.http_request.headers
    assert sent["x-course-notebook"] == "01_text_stream.ipynb" and sent["x-mine"] == "1"
    assert raw.parse().content
    assert connect.mode().name == "gateway"
    env.setenv("ANTHROPIC_API_KEY", FAKE_KEY)  # a key of the learner's own does not take the class off the gateway
    assert connect.mode().name == "gateway"
    env.setenv("COURSE_OFFLINE", "1")  # forced offline: the class's local API, through the gateway
    offline = connect.client(quiet=True)
    assert str(offline.base_url).rstrip("/") == api.url + "/offline" and offline.api_key == HUB_TOKEN


def test_a_kernel_on_the_gateway_loads_no_local_api_server():
    """Lesson 01's imports and a gateway client, in a fresh interpreter: the local API's server, its ASGI stack and
    uvicorn stay unloaded (they cost a learner's kernel memory; the class's one local API runs beside the gateway)."""
    code = (
        "import os, sys\n"
        "os.environ.update(COURSE_GATEWAY_URL='http://127.0.0.1:9/services/gateway', JUPYTERHUB_API_TOKEN='t' * 32)\n"
        "from helpers import connect\n"
        "from helpers.widgets import TextView, Timeline\n"
        "from helpers.exercises import lesson01\n"
        "assert connect.client(quiet=True).api_key == 't' * 32\n"
        "print(sorted(m for m in sys.modules if m.startswith(('helpers.offline.server', 'uvicorn', 'starlette'))))\n"
    )
    env = {
        k: v for k, v in os.environ.items() if k not in ("COURSE_OFFLINE", "COURSE_OFFLINE_URL", "ANTHROPIC_API_KEY")
    }
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[]\n"


def test_no_gateway_without_the_hub_token(env, api):
    env.setenv("COURSE_GATEWAY_URL", api.url)
    assert connect.mode().name == "offline"


def test_save_key_writes_the_course_env_from_the_notebooks_folder_and_prints_it_masked(env, tmp_path, capsys):
    """A learner in JupyterLab (whose file browser opens at notebooks/) saves the key without typing it in a cell."""
    (tmp_path / ".env.example").write_text("ANTHROPIC_API_KEY=\n")
    (tmp_path / ".env").write_text("# mine\nANTHROPIC_API_KEY=sk-ant-old-key-0000\nCOURSE_PACE=instant\n")
    sub = tmp_path / "notebooks"
    sub.mkdir()
    env.chdir(sub)
    path = connect.save_key(f"  {FAKE_KEY}\n")  # pasted with spaces and a newline around it
    assert path == str(tmp_path / ".env")
    assert (tmp_path / ".env").read_text() == f"# mine\nANTHROPIC_API_KEY={FAKE_KEY}\nCOURSE_PACE=instant\n"
    assert (tmp_path / ".env").stat().st_mode & 0o777 == 0o600
    out = capsys.readouterr().out
    assert "…1234" in out and FAKE_KEY[:-4] not in out
    assert connect.mode().name == "live"


def test_save_key_refuses_a_malformed_key_and_writes_nothing(env, tmp_path):
    (tmp_path / ".env.example").write_text("ANTHROPIC_API_KEY=\n")
    with pytest.raises(ValueError, match="does not start with sk-ant-") as raised:
        connect.save_key("my-password-123")
    assert "my-password" not in str(raised.value)
    with pytest.raises(ValueError, match="a space at position"):
        connect.save_key("sk-ant-two words")
    assert not (tmp_path / ".env").exists()
    (tmp_path / ".env.example").unlink()
    with pytest.raises(ValueError, match="no .env.example above this folder"):
        connect.save_key(FAKE_KEY)
