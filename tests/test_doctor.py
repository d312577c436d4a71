"""The environment doctor, run as learners run it: ``python -m helpers.doctor`` in a subprocess, ``doctor()`` in-process."""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import subprocess
import sys

import pytest

from helpers import doctor
from helpers.net import free_port
from helpers.offline import start

from .conftest import ROOT

FAKE_KEY = "sk-ant-api03-" + "Zq7" * 30 + "-tail9XYZ"
NAMES = ["python", "packages", "widgets", "lab extensions", "mode", "local API", "live API"]


def clean_env(**env) -> dict[str, str]:
    """Our environment without the course's settings, with ``env`` on top."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "COURSE_"))}, **env}


def run_doctor(tmp_path, *args, **env) -> subprocess.CompletedProcess:
    """``doctor.main(args)`` in this process, from an empty folder (so no .env is found), with ``env`` on top of our
    environment; the command line itself runs as a subprocess once (test_the_command_line_runs_as_learners_run_it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        patch.delitem(sys.modules, "ipykernel", raising=False)  # a shell, not a notebook: fixes say `python -m pip`
        for name in [k for k in os.environ if k.startswith(("ANTHROPIC_", "COURSE_"))]:
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = doctor.main(list(args))
            except SystemExit as exit:  # argparse refusing an option
                status = exit.code
    return subprocess.CompletedProcess(["doctor", *args], status, out.getvalue(), err.getvalue())


def test_the_command_line_runs_as_learners_run_it(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "helpers.doctor"],
        cwd=tmp_path,
        env=clean_env(COURSE_OFFLINE="1", ANTHROPIC_API_KEY=FAKE_KEY),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert list(statuses(done.stdout)) == NAMES and done.stdout.rstrip().endswith("ready")
    assert FAKE_KEY not in done.stdout + done.stderr


def statuses(output: str) -> dict[str, list[str]]:
    """Result lines by name: ``{"packages": ["FAIL", "WARN"], ...}``."""
    out: dict[str, list[str]] = {}
    for line in output.splitlines():
        if m := re.match(r"^(OK|WARN|FAIL|SKIP) +(lab extensions|local API|live API|\w+) ", line):
            out.setdefault(m.group(2), []).append(m.group(1))
    return out


def test_offline_everything_ok_and_the_key_never_printed(tmp_path):
    done = run_doctor(tmp_path, COURSE_OFFLINE="1", ANTHROPIC_API_KEY=FAKE_KEY)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert list(statuses(output)) == NAMES
    assert statuses(output) == {name: ["SKIP" if name == "live API" else "OK"] for name in NAMES}
    assert "offline (COURSE_OFFLINE is set)" in output
    assert "a test stream arrived from http://127.0.0.1:" in output and "'1, 2, 3.'" in output
    assert FAKE_KEY not in output and FAKE_KEY[-12:] not in output
    assert output.rstrip().endswith("ready")


def test_offline_without_a_key_says_why(tmp_path):
    done = run_doctor(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "offline (no ANTHROPIC_API_KEY in the environment or .env)" in done.stdout


def test_live_mode_tries_the_api_with_the_key_and_shows_only_its_hint(tmp_path):
    with start(pace="instant") as api:  # a stand-in for api.anthropic.com that answers GET /v1/models
        done = run_doctor(tmp_path, ANTHROPIC_API_KEY=FAKE_KEY, ANTHROPIC_BASE_URL=api.url)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert statuses(output)["mode"] == ["OK"] and statuses(output)["live API"] == ["OK"]
    assert f"live: key …{FAKE_KEY[-4:]} sends requests to {api.url}" in output
    assert f"{api.url} accepted key …{FAKE_KEY[-4:]}" in output
    assert FAKE_KEY not in output and FAKE_KEY[:20] not in output


def test_unreachable_live_api_fails_with_a_fix_and_exit_status_1(tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"
    done = run_doctor(tmp_path, ANTHROPIC_API_KEY=FAKE_KEY, ANTHROPIC_BASE_URL=closed)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    (line,) = [line for line in output.splitlines() if line.startswith("FAIL live API")]
    assert f"cannot reach {closed}" in line and "fix: " in line and "COURSE_OFFLINE=1" in line
    assert FAKE_KEY not in output
    assert "1 FAIL: apply the fix" in output


def test_unreachable_course_offline_url_fails_with_a_fix(tmp_path):
    done = run_doctor(tmp_path, COURSE_OFFLINE="1", COURSE_OFFLINE_URL=f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 1
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("FAIL local API")]
    assert "did not stream: APIConnectionError" in line and "python -m helpers.offline" in line


def test_a_running_course_offline_url_is_used(tmp_path):
    with start(pace="instant") as api:
        done = run_doctor(tmp_path, COURSE_OFFLINE="1", COURSE_OFFLINE_URL=api.url)
        assert api.stats()["streams_completed"] == 1
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"a test stream arrived from {api.url}: '1, 2, 3.'" in done.stdout


def test_missing_package_fails_with_the_pip_fix_and_a_wrong_version_warns(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "# a course that needs more\nanthropic==0.0.1   # too old\nno-such-package-for-this-course==1.2.3\n-e .\n"
    )
    done = run_doctor(tmp_path, "--requirements", str(requirements), COURSE_OFFLINE="1")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    (fail,) = [line for line in lines if line.startswith("FAIL packages")]
    assert "no-such-package-for-this-course is not installed" in fail
    assert 'fix: python -m pip install "no-such-package-for-this-course==1.2.3"' in fail
    (warn,) = [line for line in lines if line.startswith("WARN packages")]
    assert "anthropic 2.14.0 is installed, requirements.txt pins 0.0.1" in warn
    assert 'fix: python -m pip install "anthropic==0.0.1"' in warn


def test_a_missing_requirements_file_is_a_clear_error(tmp_path):
    done = run_doctor(tmp_path, "--requirements", str(tmp_path / "nope.txt"))
    assert done.returncode == 2
    assert "--requirements: no such file:" in done.stderr


def test_pins_reads_the_course_requirements():
    found = dict(doctor.pins(ROOT / "requirements.txt"))
    assert found["anthropic"] == "2.14.0" and found["jupyter-server-proxy"]
    assert "." not in found and "-e" not in found


def test_old_python_fails_with_a_fix():
    result = doctor.examine_python((3, 9, 18))
    assert result.status == "FAIL" and "3.9.18 is too old" in result.found and "Python 3.10 or newer" in result.fix


def test_a_key_inside_any_message_is_masked(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    scrubbed = doctor._scrubbed(doctor.Result("FAIL", "live API", f"echoed {FAKE_KEY}", f"not {FAKE_KEY}"))
    assert FAKE_KEY not in scrubbed.line() and f"…{FAKE_KEY[-4:]}" in scrubbed.found


def test_in_process_output_is_deterministic_once_sanitized(capsys):
    """What 00_setup's first cell prints, through the sanitizer nbval applies (tests/sanitize.cfg)."""
    doctor.doctor()  # conftest forces COURSE_OFFLINE=1
    text = capsys.readouterr().out
    patterns = re.findall(
        r"^regex: (.*)$\n^replace: (.*)$", (ROOT / "tests" / "sanitize.cfg").read_text(), flags=re.MULTILINE
    )
    for regex, replace in patterns:
        text = re.sub(regex, replace, text)
    assert text.splitlines() == [
        "OK   python          3.X.Y (3.10 or newer needed)",
        "OK   packages        N pinned in requirements.txt, all installed at those versions",
        "OK   widgets         ipywidgets, anywidget and jupyterlab_widgets are installed",
        "OK   lab extensions  @jupyter-widgets/jupyterlab-manager, anywidget, @jupyterhub/jupyter-server-proxy",
        "OK   mode            offline (WHY): the local Messages API answers, no key is used",  # why: sanitize.cfg
        "OK   local API       a test stream arrived from http://127.0.0.1:PORT: '1, 2, 3.'",
        "SKIP live API        offline mode does not use it",
        "ready",
    ]


@pytest.mark.parametrize("value", ["1", "true"])
def test_doctor_returns_nothing_to_display(value, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_OFFLINE", value)
    assert doctor.doctor() is None  # a notebook cell shows only the printed lines
    assert "ready" in capsys.readouterr().out


@pytest.mark.parametrize("variable", ["ANTHROPIC_BASE_URL", "COURSE_OFFLINE_URL"])
def test_credentials_in_a_base_url_are_never_printed(tmp_path, variable):
    """The mode banner masks them (connect.public_url); the doctor printed the URL whole, and its output is what a
    learner pastes when asking for help."""
    url = f"http://gw-user:pw-{secrets.token_hex(4)}@127.0.0.1:{free_port()}/v?token=tk-{secrets.token_hex(4)}"
    env = {"ANTHROPIC_API_KEY": FAKE_KEY} if variable == "ANTHROPIC_BASE_URL" else {"COURSE_OFFLINE": "1"}
    done = run_doctor(tmp_path, **env, **{variable: url})
    output = done.stdout + done.stderr
    assert done.returncode == 1 and "gw-user" not in output and "pw-" not in output and "tk-" not in output, output
    assert "http://…@127.0.0.1" in output


@pytest.mark.parametrize("url", ["http://[::1", "ftp://example.org", "http://127.0.0.1:99999"])
@pytest.mark.parametrize("variable", ["ANTHROPIC_BASE_URL", "COURSE_OFFLINE_URL"])
def test_a_base_url_the_sdk_cannot_use_is_a_fail_line_not_a_traceback(tmp_path, variable, url):
    env = {"ANTHROPIC_API_KEY": FAKE_KEY} if variable == "ANTHROPIC_BASE_URL" else {"COURSE_OFFLINE": "1"}
    done = run_doctor(tmp_path, **env, **{variable: url})
    output = done.stdout + done.stderr
    assert done.returncode == 1 and "Traceback" not in output, output
    name = "live API" if variable == "ANTHROPIC_BASE_URL" else "local API"
    (line,) = [line for line in output.splitlines() if line.startswith(f"FAIL {name}")]
    assert "fix: " in line
