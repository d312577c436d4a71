"""The Binder configuration, built the way repo2docker builds it, without Docker.

repo2docker copies the repository, reads only ``binder/`` (it exists), runs
``pip install -r binder/requirements.txt`` from the repository root into a fresh environment, and starts every
command through ``binder/start``. This test installs the same requirement files from the repository root into a fresh
venv with uv (pip reads them the same way; uv's cache and parallel installs take seconds where pip took minutes),
then runs the course through ``binder/start``: offline whatever the environment says, and the environment doctor passes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv

import pytest

from .conftest import ROOT
from .parts import need

FAKE_KEY = "sk-ant-api03-" + "binder-must-never-use-this-key-0000"  # built, so no tracked file holds a key-like literal
STREAM = """
import os, helpers, helpers.connect as connect
print("COURSE_OFFLINE=" + os.environ.get("COURSE_OFFLINE", "<unset>"))
print("helpers from " + os.path.dirname(helpers.__file__))
sdk = connect.client()
with sdk.messages.stream(model="claude-sonnet-4-6", max_tokens=64, messages=[{"role": "user", "content": "Count to 3"}]) as s:
    print("streamed: " + "".join(s.text_stream))
"""


def repo_copy(dest):
    """The repository as repo2docker sees it: tracked and new (not ignored) files, no venv, no caches."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(repository copy, venv bin folder) after the install repo2docker would run."""
    need("git")  # lists the repository's files
    tmp = tmp_path_factory.mktemp("binder")
    repo = repo_copy(tmp / "repo")
    env_dir = tmp / "env"
    venv.create(env_dir)
    bin_dir = env_dir / "bin"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "uv",
            "pip",
            "install",
            "--python",
            str(bin_dir / "python"),
            "--quiet",
            "-r",
            "binder/requirements.txt",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    post = subprocess.run(["binder/postBuild"], cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert post.returncode == 0, post.stdout + post.stderr  # repo2docker runs postBuild once, after the install
    return repo, bin_dir


def through_start(built, *command, **extra) -> subprocess.CompletedProcess:
    """Run a command as Binder would: through binder/start, with the built environment first on PATH."""
    repo, bin_dir = built
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURSE_", "ANTHROPIC_", "VIRTUAL_ENV"))}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", **extra)
    return subprocess.run(
        [str(repo / "binder" / "start"), *command], cwd=repo, env=env, capture_output=True, text=True, timeout=300
    )


def test_binder_reads_its_own_folder_and_pins_the_course_requirements():
    lines = [line.split("#")[0].strip() for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines()]
    assert [line for line in lines if line] == ["-r ../requirements.txt", "-c ../requirements.lock"]
    assert (ROOT / "binder" / "runtime.txt").read_text().strip().startswith("python-3.")
    assert os.access(ROOT / "binder" / "start", os.X_OK) and os.access(ROOT / "binder" / "postBuild", os.X_OK)


@pytest.mark.slow
def test_the_course_streams_offline_through_binder_start_even_with_a_key(built):
    repo, _ = built
    done = through_start(built, "python", "-c", STREAM, ANTHROPIC_API_KEY=FAKE_KEY)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "COURSE_OFFLINE=1" in done.stdout
    assert f"helpers from {repo / 'helpers'}" in done.stdout  # the editable install of the copied repository
    assert "mode: offline" in done.stdout and "streamed: 1, 2, 3." in done.stdout
    assert FAKE_KEY not in done.stdout + done.stderr


@pytest.mark.slow
def test_a_hub_can_opt_into_live_mode_explicitly(built):
    done = through_start(built, "python", "-c", "import os; print(os.environ['COURSE_OFFLINE'])", COURSE_OFFLINE="0")
    assert done.stdout.strip() == "0", done.stderr


@pytest.mark.slow
def test_the_doctor_passes_in_the_binder_environment(built):
    done = through_start(built, "python", "-m", "helpers.doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all installed at those versions" in done.stdout
    assert (
        "OK   lab extensions  @jupyter-widgets/jupyterlab-manager, anywidget, @jupyterhub/jupyter-server-proxy"
        in done.stdout
    )
    assert "offline (COURSE_OFFLINE is set)" in done.stdout


@pytest.mark.slow
def test_the_notebook_server_has_server_proxy_and_the_course_servers(built):
    done = through_start(built, "jupyter", "server", "extension", "list")
    assert done.returncode == 0, done.stderr
    listing = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)  # without its colours
    assert re.search(r"jupyter_server_proxy\s+enabled", listing), listing
    entries = through_start(
        built,
        "python",
        "-c",
        "from importlib.metadata import entry_points as e; print(sorted(x.name for x in e(group='jupyter_serverproxy_servers')))",
    )
    assert entries.stdout.strip() == "['offline-api', 'relay']", entries.stderr


@pytest.mark.slow
def test_saved_notebooks_keep_their_views_on_binder(built):
    # postBuild installed the same JupyterLab setting defaults as `make` (tools/install_settings.py).
    overrides = built[1].parent / "share" / "jupyter" / "lab" / "settings" / "overrides.d" / "streaming-course.json"
    settings = json.loads(overrides.read_text())
    assert settings["@jupyter-widgets/jupyterlab-manager:plugin"]["saveState"] is True
    # ... and the contents manager that drops an untrusted notebook's saved widget state (which could run code)
    server = json.loads((built[1].parent / "etc" / "jupyter" / "jupyter_server_config.json").read_text())
    assert server["ServerApp"]["contents_manager_class"] == "helpers.jupyter_contents.ContentsManager"
