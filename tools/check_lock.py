"""Check that requirements.lock is current, offline: `make lint` runs it, `make lock` rewrites the lock (uv).

requirements.lock pins every package the course installs, for every platform (uv's universal resolution), and
`make` installs it as constraints. It is current when:

- every pin of requirements*.txt is in it at the same version (a bumped or added pin without `make lock` fails);
- this environment is the lock: every locked package whose markers hold here is installed at its locked version;
- every package that helpers/, tests/, bench/ and tools/ import is in it (an import of an unpinned package fails).

    python tools/check_lock.py      # prints what is wrong, exits 1; silent when current
"""

from __future__ import annotations

import ast
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
INPUTS = ["requirements.txt", "requirements-dev.txt", "requirements-hub.txt"]
SOURCES = ["helpers", "tests", "bench", "tools"]
OWN = {"helpers", "tests", "bench", "tools", "conftest"}
SEPARATE = ROOT / "tests" / "conformance"  # runs in .venv-conformance, pinned by its own requirements.txt


def requirement_lines(path: Path) -> list[Requirement]:
    """The requirements of a pip requirements file (comments, -r, -e and options left out)."""
    found = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #")[0].strip()
        if line and not line.startswith(("#", "-")):
            found.append(Requirement(line))
    return found


def locked() -> dict[str, list[Requirement]]:
    entries: dict[str, list[Requirement]] = {}
    for requirement in requirement_lines(LOCK):
        entries.setdefault(canonicalize_name(requirement.name), []).append(requirement)
    return entries


def pinned_version(requirement: Requirement) -> str:
    (spec,) = requirement.specifier
    if spec.operator != "==":
        raise ValueError(f"{requirement}: expected an exact pin (==) in {LOCK.name}")
    return spec.version


def applies(requirement: Requirement) -> bool:
    return requirement.marker is None or requirement.marker.evaluate()


def imported_names() -> set[str]:
    """Top-level modules imported anywhere in the sources, without the standard library and the course's own."""
    names, own = set(), set(OWN)
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            if path.is_relative_to(SEPARATE):
                continue
            own.add(path.stem)  # a script's sibling, imported by its name
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - own


def problems() -> list[str]:
    lock = locked()
    found = []
    for name in INPUTS:
        for requirement in requirement_lines(ROOT / name):
            key = canonicalize_name(requirement.name)
            versions = {pinned_version(x) for x in lock.get(key, [])}
            (spec,) = requirement.specifier
            if spec.version not in versions:
                found.append(f"{name}: {requirement.name}{spec} is not in {LOCK.name} (has {sorted(versions)})")
    for key, entries in lock.items():
        for entry in filter(applies, entries):
            try:
                installed = metadata.version(key)
            except metadata.PackageNotFoundError:
                found.append(f"{key}=={pinned_version(entry)} is locked but not installed")
                continue
            if installed != pinned_version(entry):
                found.append(f"{key} is {installed} here, locked at {pinned_version(entry)}")
    distributions = metadata.packages_distributions()
    for module in sorted(imported_names()):
        owners = {canonicalize_name(d) for d in distributions.get(module, [])}
        if not owners:
            found.append(f"`import {module}`: no installed package provides it")
        elif not owners & lock.keys():
            found.append(f"`import {module}` ({', '.join(sorted(owners))}) is not pinned in {LOCK.name}")
    return found


def main() -> int:
    found = problems()
    for line in found:
        print(line)
    if found:
        print(f"{LOCK.name} is not current: run `make lock` (uv pip compile), then `make` installs it")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
