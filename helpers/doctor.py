"""The environment doctor: one line per requirement, ``OK``/``WARN``/``FAIL`` (or ``SKIP``), with the fix for each problem.

    python -m helpers.doctor           # or: make doctor
    from helpers.doctor import doctor; doctor()  # the first cell of 00_setup

Exits with status 1 when anything FAILs. Never prints the API key: only its masked hint (``…abcd``).
In offline mode the output is the same on every machine apart from the Python version.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MIN_PYTHON = (3, 10)
REQUIREMENTS = Path(__file__).resolve().parents[1] / "requirements.txt"
LAB_EXTENSIONS = {  # folder under share/jupyter/labextensions -> what needs it
    "@jupyter-widgets/jupyterlab-manager": "ipywidgets",
    "anywidget": "the live views",
    "@jupyterhub/jupyter-server-proxy": "the relay page on JupyterHub/Binder",
}
FRONT_END_ONLY = {  # needed where JupyterLab runs, not in a kernel that VS Code or Colab drives
    "jupyterlab": "JupyterLab itself",
    "notebook": "Notebook 7",
    "nbval": "make test",
    "jupyter-server-proxy": "the relay page on JupyterHub/Binder",
}
TEST_PROMPT, TEST_ANSWER = "Count to 3", "1, 2, 3."
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:==\s*([^\s;#]+))?")


@dataclass(frozen=True)
class Result:
    status: str  # OK, WARN, FAIL or SKIP
    name: str
    found: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status:<4} {self.name:<15} {self.found}"
        return f"{text} · fix: {self.fix}" if self.fix else text


def _pip() -> str:
    """How to run pip where the learner is: ``%pip`` in a notebook, ``python -m pip`` in a shell."""
    return "%pip" if "ipykernel" in sys.modules else "python -m pip"


# ---------------------------------------------------------------------------------------------------------------------
# What the doctor examines, each returning one or more Results


def examine_python(version: tuple = sys.version_info) -> Result:
    found = ".".join(map(str, version[:3]))
    need = ".".join(map(str, MIN_PYTHON))
    if tuple(version[:2]) >= MIN_PYTHON:
        return Result("OK", "python", f"{found} ({need} or newer needed)")
    return Result(
        "FAIL",
        "python",
        f"{found} is too old",
        f"install Python {need} or newer and recreate the environment (make clean lab)",
    )


def pins(requirements: Path) -> list[tuple[str, str | None]]:
    """``(name, pinned version or None)`` for each package line of a requirements file (options and ``-e`` skipped)."""
    out = []
    for raw in requirements.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-") and (m := _PIN.match(line)):
            out.append((m.group(1), m.group(2)))
    return out


def examine_packages(requirements: Path = REQUIREMENTS) -> list[Result]:
    if not requirements.is_file():
        return [
            Result(
                "WARN",
                "packages",
                f"{requirements.name} not found beside helpers/, so versions were not compared",
                "install the course from its repository: pip install -r requirements.txt",
            )
        ]
    results = []
    wanted = pins(requirements)
    for name, pin in wanted:
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            spec = f"{name}=={pin}" if pin else name
            optional = name.lower() in FRONT_END_ONLY and not _installed("jupyterlab")
            why = f" (needed only for {FRONT_END_ONLY[name.lower()]})" if optional else ""
            results.append(
                Result(
                    "WARN" if optional else "FAIL",
                    "packages",
                    f"{name} is not installed{why}",
                    f'{_pip()} install "{spec}"  (or all of them: {_pip()} install -r requirements.txt)',
                )
            )
            continue
        if pin and installed != pin:
            results.append(
                Result(
                    "WARN",
                    "packages",
                    f"{name} {installed} is installed, {requirements.name} pins {pin}",
                    f'{_pip()} install "{name}=={pin}"',
                )
            )
    if not results:
        results.append(
            Result("OK", "packages", f"{len(wanted)} pinned in {requirements.name}, all installed at those versions")
        )
    return results


def examine_widgets() -> Result:
    missing = [name for name in ("ipywidgets", "anywidget", "jupyterlab_widgets") if not _installed(name)]
    if missing:
        return Result(
            "FAIL",
            "widgets",
            f"not installed: {', '.join(missing)}",
            f"{_pip()} install -r requirements.txt, then restart JupyterLab",
        )
    return Result("OK", "widgets", "ipywidgets, anywidget and jupyterlab_widgets are installed")


def examine_lab_extensions() -> Result:
    """The front-end halves of the widgets (and of server-proxy), looked up where JupyterLab looks for them."""
    from jupyter_core.paths import jupyter_path

    roots = [Path(p) for p in jupyter_path("labextensions")]
    found = [ext for ext in LAB_EXTENSIONS if any((root / ext / "package.json").is_file() for root in roots)]
    missing = [ext for ext in LAB_EXTENSIONS if ext not in found]
    if not missing:
        return Result("OK", "lab extensions", ", ".join(found))
    what = ", ".join(f"{ext} (for {LAB_EXTENSIONS[ext]})" for ext in missing)
    fix = f"{_pip()} install -r requirements.txt, then restart JupyterLab and reload the page"
    if not _installed("jupyterlab"):  # JupyterLab runs from another environment (or this is VS Code / Colab)
        return Result(
            "WARN",
            "lab extensions",
            f"JupyterLab is not in this environment; not seen here: {what}",
            f"if you use JupyterLab, install the course's requirements where it runs: {fix}",
        )
    return Result("FAIL", "lab extensions", f"missing: {what}", fix)


def examine_mode() -> Result:
    from helpers import connect

    try:
        m = connect.mode()
    except ValueError as err:  # the key's shape, masked
        return Result("FAIL", "mode", f"live, but {err}".split(": ", 1)[0], str(err).split(": ", 1)[-1])
    if m.offline:
        why = (
            "COURSE_OFFLINE is set"
            if os.environ.get("COURSE_OFFLINE", "").strip().lower() in connect._TRUE
            else "no ANTHROPIC_API_KEY in the environment or .env"
        )
        return Result("OK", "mode", f"offline ({why}): the local Messages API answers, no key is used")
    return Result("OK", "mode", f"live: key {m.key_hint} sends requests to {connect.public_url(m.base_url)}")


def examine_local_api() -> Result:
    """One real streaming request through the SDK to the local API (``COURSE_OFFLINE_URL``, or one started here)."""
    import anthropic
    import httpx2

    from helpers.connect import OFFLINE_KEY, public_url
    from helpers.models import DEFAULT_MODEL

    url = os.environ.get("COURSE_OFFLINE_URL", "").strip().rstrip("/")
    api = None
    try:
        if not url:
            from helpers.offline import start

            api = start(pace="instant")
            url = api.url
        sdk = anthropic.Anthropic(api_key=OFFLINE_KEY, base_url=url, max_retries=0, timeout=15)
        with sdk.messages.stream(
            model=DEFAULT_MODEL, max_tokens=64, messages=[{"role": "user", "content": TEST_PROMPT}]
        ) as stream:
            text = "".join(stream.text_stream)
    except (anthropic.APIError, httpx2.InvalidURL, OSError, RuntimeError, ValueError) as err:
        where = (
            f"COURSE_OFFLINE_URL={public_url(url)}"
            if os.environ.get("COURSE_OFFLINE_URL")
            else "the local API started here"
        )
        fix = (
            "start it with `python -m helpers.offline --port 0` and set COURSE_OFFLINE_URL to the URL it prints, or unset COURSE_OFFLINE_URL"
            if os.environ.get("COURSE_OFFLINE_URL")
            else f"{_pip()} install -r requirements.txt; if a firewall blocks 127.0.0.1, allow loopback"
        )
        return Result("FAIL", "local API", f"{where} did not stream: {type(err).__name__}: {err}", fix)
    finally:
        if api is not None:
            api.stop()
    if text != TEST_ANSWER:
        return Result(
            "FAIL",
            "local API",
            f"{public_url(url)} streamed {text!r}, expected {TEST_ANSWER!r}",
            "point COURSE_OFFLINE_URL at `python -m helpers.offline` from this course, or unset it",
        )
    return Result("OK", "local API", f"a test stream arrived from {public_url(url)}: {text!r}")


def examine_live_api() -> Result:
    """A cheap authenticated request (list one model), only in live mode."""
    import anthropic
    import httpx2

    from helpers import connect

    try:
        m = connect.mode()
    except ValueError:
        return Result("SKIP", "live API", "not tried: the key's shape is wrong (see the mode line)")
    if m.offline:
        return Result("SKIP", "live API", "offline mode does not use it")
    where = connect.public_url(m.base_url)  # a user name, password or token in it is never printed
    try:
        sdk = anthropic.Anthropic(
            api_key=os.environ["ANTHROPIC_API_KEY"].strip(), base_url=m.base_url, max_retries=0, timeout=15
        )
        page = sdk.models.list(limit=1)
    except (httpx2.InvalidURL, httpx2.UnsupportedProtocol, ValueError):
        return Result(
            "FAIL",
            "live API",
            f"ANTHROPIC_BASE_URL is not a URL the SDK can use ({where})",
            "set it to the API's address, such as https://api.anthropic.com, or unset it",
        )
    except anthropic.AuthenticationError:
        return Result(
            "FAIL",
            "live API",
            f"{where} rejected key {m.key_hint} (401)",
            "put a valid key in .env (console.anthropic.com → API keys), or work offline with COURSE_OFFLINE=1",
        )
    except anthropic.APIStatusError as err:
        return Result(
            "FAIL",
            "live API",
            f"{where} answered {err.status_code} ({type(err).__name__})",
            "check the key's workspace and ANTHROPIC_BASE_URL, or work offline with COURSE_OFFLINE=1",
        )
    except anthropic.APIConnectionError as err:
        return Result(
            "FAIL",
            "live API",
            f"cannot reach {where}: {err}",
            "check the network (a proxy? HTTPS_PROXY) and ANTHROPIC_BASE_URL, or work offline with COURSE_OFFLINE=1",
        )
    first = page.data[0].id if page.data else "no models listed"
    return Result("OK", "live API", f"{where} accepted key {m.key_hint} ({first})")


def _installed(dist: str) -> bool:
    try:
        importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


# ---------------------------------------------------------------------------------------------------------------------
# Running them


def examine_all(requirements: Path = REQUIREMENTS, emit: Callable[[Result], None] | None = None) -> list[Result]:
    """Every examination in order; ``emit`` sees each result as soon as it is known (the slow ones come last)."""
    steps: list[Callable[[], Result | list[Result]]] = [
        examine_python,
        lambda: examine_packages(requirements),
        examine_widgets,
        examine_lab_extensions,
        examine_mode,
        examine_local_api,
        examine_live_api,
    ]
    results = []
    for step in steps:
        out = step()
        for result in out if isinstance(out, list) else [out]:
            result = _scrubbed(result)
            results.append(result)
            if emit:
                emit(result)
    return results


def doctor(requirements: str | Path | None = None) -> None:
    """Print the doctor's report (the first cell of 00_setup); a summary line says what to do next."""
    _report(Path(requirements) if requirements else REQUIREMENTS)


def _report(requirements: Path) -> list[Result]:
    results = examine_all(requirements, emit=lambda r: print(r.line(), flush=True))
    fails = sum(r.status == "FAIL" for r in results)
    warns = sum(r.status == "WARN" for r in results)
    if fails:
        print(f"{fails} FAIL: apply the fix on each FAIL line, then run the doctor again")
    else:
        print("ready" + (f" ({warns} WARN: the course runs, but see the lines above)" if warns else ""))
    return results


def _scrubbed(result: Result) -> Result:
    """Belt and braces: no examination may echo the key, even inside an error message from a library."""
    key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
    if len(key) < 8:
        return result
    from helpers.connect import mask

    return Result(result.status, result.name, result.found.replace(key, mask(key)), result.fix.replace(key, mask(key)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.doctor", description="Check that this environment can run the course."
    )
    parser.add_argument(
        "--requirements",
        metavar="FILE",
        type=Path,
        default=REQUIREMENTS,
        help="the pinned requirements to compare with (default: the course's requirements.txt)",
    )
    args = parser.parse_args(argv)
    if not args.requirements.is_file() and args.requirements != REQUIREMENTS:
        parser.error(f"--requirements: no such file: {args.requirements}")
    return 1 if any(r.status == "FAIL" for r in _report(args.requirements)) else 0


if __name__ == "__main__":
    sys.exit(main())
