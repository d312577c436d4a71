"""nbgitpuller's links held to one plain folder of the home (helpers/jupyter_gitpull.py), on a real Jupyter server.

The attack: a link from any site to ``/hub/user-redirect/git-pull?repo=…&targetpath=course/notebooks/helpers``
cloned a stranger's repository beside the lessons as a package named ``helpers``, which the lessons' next
``import helpers`` ran (cwd comes first on the kernel's path).
"""

from __future__ import annotations

import subprocess

import httpx2
import pytest

from helpers.jupyter_gitpull import REPOS_ENV, problem
from tools.install_settings import install_gitpull_guard

from .conftest import ROOT
from .course_server import course_server

pytestmark = pytest.mark.slow  # starts a Jupyter server: `make test`, not `make unit`

TOKEN = "gitpull-test-token"
GIT = ["git", "-c", "user.email=t@example.org", "-c", "user.name=t"]


@pytest.mark.parametrize(
    "repos, targets, expected",
    [
        (["https://github.com/o/course"], [], None),
        (["https://github.com/o/course/"], [], "one folder name"),  # nbgitpuller's API would clone into the home itself
        (["https://github.com/o/course"], ["course-2"], None),
        (["https://github.com/o/course"], ["course/notebooks/helpers"], "one folder name"),
        (["https://github.com/o/course"], ["/tmp/x"], "one folder name"),
        (["https://github.com/o/course"], [".config"], "one folder name"),
        (["https://github.com/o/course"], [".."], "one folder name"),
        (["https://github.com/o/course"], ["ok", "../x"], "one folder name"),
        (["https://github.com/o/.ipython"], [], "one folder name"),
        (["https://github.com/o/x/"], [""], "one folder name"),
        (["https://github.com/o/helpers"], [], "instead of"),  # beside make hub's lessons, it ran at import helpers
        (["https://github.com/o/course"], ["anthropic"], "instead of"),
        ([], [], "one repo"),
        (["https://a/x", "https://a/y"], [], "one repo"),
    ],
)
def test_the_folder_a_pull_clones_into(repos, targets, expected, tmp_path):
    found = problem(repos, targets, ",".join(repos), str(tmp_path))
    assert (found is None) if expected is None else (expected in found), found


def test_the_class_clone_pulled_again_is_not_a_module_it_shadows():
    """A folder the class's clone already made, found as a module only because it is there, is pulled again."""
    assert problem(["https://github.com/o/helpers"], [], "https://github.com/o/helpers", str(ROOT)) is None


def test_the_class_clone_found_as_a_namespace_on_the_servers_path_is_pulled_again(tmp_path, monkeypatch):
    """The hub runs the server with ``python -m``, so its home is on its path and ~/course is a namespace package."""
    (tmp_path / "classclone").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    allowed = "https://github.com/o/classclone"
    assert problem([allowed], [], allowed, str(tmp_path)) is None
    assert "instead of" in problem([allowed], [], allowed, str(tmp_path / "elsewhere"))


def test_nothing_is_pulled_while_no_list_is_set(tmp_path):
    """Any folder a stranger's repository is cloned to runs its code when a notebook there is opened: the kernel is
    ``python -m ipykernel_launcher`` started in the notebook's folder, so the repository's own
    ``ipykernel_launcher.py`` runs first (and urlpath opens the notebook). Only the class's repositories are pulled."""
    found = problem(["https://evil.example/notes"], [], "", str(tmp_path))
    assert found is not None and REPOS_ENV in found and "not set" in found, found


def test_only_the_listed_repositories():
    allowed = "https://github.com/o/course, https://github.com/o/extra/"
    assert problem(["https://github.com/o/course"], [], allowed, str(ROOT)) is None
    assert problem(["https://github.com/o/extra"], [], allowed, str(ROOT)) is None
    assert REPOS_ENV in problem(["https://evil.example/course"], [], allowed, str(ROOT))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real Jupyter server with nbgitpuller and the course's config, as make installs it; yields (origin, root)."""
    root = tmp_path_factory.mktemp("home")
    config = tmp_path_factory.mktemp("config")
    install_gitpull_guard(config)
    upstream = tmp_path_factory.mktemp("upstream")
    for name in ("course", "evil"):  # two upstream repositories, the first listed in $COURSE_GITPULL_REPOS
        repo = upstream / name
        repo.mkdir()
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        (repo / "__init__.py").write_text("raise SystemExit('a stranger ran code')\n")
        subprocess.run([*GIT, "-C", str(repo), "add", "."], check=True)
        subprocess.run([*GIT, "-C", str(repo), "commit", "-qm", name], check=True)
    with course_server(root, config, TOKEN, {REPOS_ENV: str(upstream / "course")}) as origin:
        yield origin, root, str(upstream / "course"), str(upstream / "evil")


@pytest.mark.parametrize("name", ["urlpath", "urlPath", "subpath", "subPath"])
def test_the_pull_page_does_not_print_markup_from_the_link(server, name):
    """nbgitpuller's /git-pull page printed urlpath (or the folder and subpath) into its HTML unescaped: a link with
    the class's own repository ran a stranger's script on the learner's server (its API, their kernels)."""
    origin, _, course, _ = server
    payload = "lab/<img src=x onerror=alert(document.domain)>"
    params = {"repo": course, "branch": "main", name: payload}
    response = httpx2.get(f"{origin}/git-pull", params=params, headers={"Authorization": f"token {TOKEN}"}, timeout=60)
    assert response.status_code == 400 and "expected a path" in response.text, response.text[:500]
    assert response.headers["content-type"].startswith("text/plain")  # the reason quotes the value: as text only
    fine = {"repo": course, "branch": "main", name: "lab/tree/course/notebooks/00_setup.ipynb"}
    assert httpx2.get(f"{origin}/git-pull", params=fine, headers={"Authorization": f"token {TOKEN}"}).status_code == 200


def pull(origin: str, **params) -> httpx2.Response:
    headers = {"Authorization": f"token {TOKEN}"}
    return httpx2.get(f"{origin}/git-pull/api", params=params, headers=headers, timeout=60)


@pytest.mark.parametrize("target", ["course/notebooks/helpers", "helpers", ".config/git", "PLACE/outside"])
def test_a_link_cannot_clone_beside_the_lessons_into_a_dot_folder_or_outside(server, target, tmp_path):
    origin, root, course, _ = server
    target = target.replace("PLACE", str(tmp_path))
    response = pull(origin, repo=course, branch="main", targetpath=target)
    assert response.status_code == 400, response.text[:500]
    assert "one folder name" in response.text or "instead of" in response.text
    assert not (root / target).exists()  # an absolute target is itself: root / "/x" is "/x"


def test_a_repository_not_listed_is_refused(server):
    origin, root, _, evil = server
    response = pull(origin, repo=evil, branch="main")
    assert response.status_code == 400 and REPOS_ENV in response.text, response.text[:500]
    assert not (root / "evil").exists()


def test_the_course_link_still_clones(server):
    origin, root, course, _ = server
    response = pull(origin, repo=course, branch="main")
    assert response.status_code == 200 and '"phase": "finished"' in response.text, response.text[-500:]
    assert (root / "course" / "__init__.py").is_file()
