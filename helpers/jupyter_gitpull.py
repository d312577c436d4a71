"""A Jupyter server extension that holds nbgitpuller's links to what the course's own link does.

nbgitpuller (docs/workshop.md hands its link out) clones the ``repo`` a link names to the ``targetpath`` it names,
unchecked: any site can link a learner to ``/hub/user-redirect/git-pull?repo=…&targetpath=…`` and one click clones a
stranger's repository anywhere the learner can write: beside the lessons as a package named ``helpers`` (the
lessons' next ``import helpers`` runs it, with the learner's token in its environment), into a dot-folder that
configures git or IPython, or outside the home by an absolute path. Here every nbgitpuller request is refused (400)
unless the folder it clones to is one plain folder name in the server's root (no ``/``, no leading ``.``) that is
not the name of a module the server's Python imports from elsewhere (a notebook in the home imports a folder named
``helpers`` or ``anthropic`` there before the installed one; ``make hub`` puts the lessons in the home), and whose
repository is one ``$COURSE_GITPULL_REPOS`` names (comma-separated URLs, the hub's ``Spawner.environment``): with
no list nothing is pulled, since any folder runs a stranger's code when one of its notebooks is opened (the kernel,
``python -m ipykernel_launcher``, starts in the notebook's folder and finds the repository's
``ipykernel_launcher.py`` first).

tools/install_settings.py enables it in the environment's Jupyter server config.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
from pathlib import Path

REPOS_ENV = "COURSE_GITPULL_REPOS"
FOLDER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")  # one folder name, not hidden, not . or ..
PLACE = re.compile(r"[A-Za-z0-9_./-]{0,300}")  # urlpath/subpath: nbgitpuller's page prints them as HTML, unescaped
HANDLERS = ("SyncHandler", "UIHandler", "LegacyGitSyncRedirectHandler")


def shadows(folder: str, root: str) -> str | None:
    """Where the module a folder named ``folder`` in ``root`` would stand in for comes from, or None."""
    if not folder.isidentifier():
        return None
    try:
        spec = importlib.util.find_spec(folder)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin in ("built-in", "frozen"):  # none, or one a folder cannot stand in for
        return None
    places = [spec.origin] if spec.origin else list(spec.submodule_search_locations or [])  # a namespace: folders
    inside = Path(root).resolve()
    elsewhere = [p for p in places if not (inside == Path(p).resolve() or inside in Path(p).resolve().parents)]
    if not places:
        return "a module of this Python"
    return elsewhere[0] if elsewhere else None  # None: the class's own clone, pulled again


def problem(
    repos: list[str], targets: list[str], allowed: str, root: str, places: tuple[str, ...] | list[str] = ()
) -> str | None:
    """What is wrong with a pull of ``repos`` (every value the request gave) into ``targets`` (its targetpath values)
    in the folder ``root``, or None; ``allowed`` is ``$COURSE_GITPULL_REPOS``, ``places`` the urlpath and subpath
    values (the page nbgitpuller shows while it pulls puts them in its HTML unescaped: markup there is script)."""
    for place in places:
        if not PLACE.fullmatch(place):
            return f"refused the page to open {place[:100]!r}: expected a path of letters, digits and _ . - /"
    if len(repos) != 1:
        return f"expected one repo parameter, got {len(repos)}"
    repo = repos[0]
    # nbgitpuller's default folder is the repo's last path part, with or without a trailing slash taken off
    folders = targets or [repo.split("/")[-1], repo.rstrip("/").split("/")[-1]]
    for folder in folders:
        if not FOLDER.fullmatch(folder):
            return (
                f"refused to clone into {folder[:100]!r}: expected one folder name in your home (letters, digits, "
                "_ . -, not starting with a dot), no path"
            )
        if where := shadows(folder, root):
            return f"refused to clone into {folder!r}: notebooks beside it would import it instead of {where}"
    listed = {r.strip().rstrip("/") for r in allowed.split(",") if r.strip()}
    if not listed:  # a stranger's repository in any folder runs its own ipykernel_launcher.py when a notebook opens
        return f"refused to clone {repo[:200]!r}: ${REPOS_ENV} (the class's repositories) is not set on this server"
    if repo.rstrip("/") not in listed:
        return f"refused to clone {repo[:200]!r}: this server pulls only the repositories in ${REPOS_ENV}"
    return None


def _guarded(prepare):
    async def guarded_prepare(self, *args, **kwargs):
        repos = self.get_arguments("repo")
        targets = self.get_arguments("targetpath") + self.get_arguments("targetPath")
        places = [v for name in ("urlpath", "urlPath", "subpath", "subPath") for v in self.get_arguments(name)]
        root = os.path.expanduser(self.settings.get("server_root_dir", "."))
        if reason := problem(repos, targets, os.environ.get(REPOS_ENV, ""), root, places):
            self.log.warning("nbgitpuller request refused: %s", reason)
            self.set_status(400, reason.encode("ascii", "backslashreplace").decode())  # a status line is ASCII
            self.set_header("Content-Type", "text/plain; charset=utf-8")  # the reason is shown as text, never markup
            self.finish(reason + "\n")
            return None
        result = prepare(self, *args, **kwargs)
        return await result if inspect.isawaitable(result) else result

    guarded_prepare.course_guard = True
    return guarded_prepare


def _load_jupyter_server_extension(serverapp) -> None:
    try:
        from nbgitpuller import handlers
    except ImportError:
        return  # nothing to guard
    for name in HANDLERS:
        cls = getattr(handlers, name, None)
        if cls is not None and not getattr(cls.prepare, "course_guard", False):
            cls.prepare = _guarded(cls.prepare)
    serverapp.log.info("nbgitpuller links: one plain folder name, only the repositories in $%s", REPOS_ENV)


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "helpers.jupyter_gitpull"}]


__all__ = ["problem", "REPOS_ENV"]
