"""Every test module that drives a browser or starts a hub carries its marker, so `make unit` leaves it out and a
machine without the part skips it by name (tests/conftest.py, NEEDS)."""

from __future__ import annotations

import ast

import pytest

from .conftest import NEEDS, ROOT

USES = {  # marker: the names whose import means a module needs it
    "browser": {("lab", "chromium"), ("lab", "chromium_path")},
    "hub": {("helpers.hub", "Hub")},
}
MODULES = sorted((ROOT / "tests").rglob("test_*.py"))


def imports(tree: ast.Module) -> set[tuple[str, str]]:
    return {
        ((node.module or "").split(".")[-1] if node.level else node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def module_marks(tree: ast.Module) -> str:
    return " ".join(
        ast.unparse(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in node.targets)
    )


def test_every_marker_that_needs_a_part_is_checked_here():
    assert set(USES) == set(NEEDS)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_module_that_uses_a_browser_or_a_hub_is_marked(path):
    tree = ast.parse(path.read_text())
    used, marks = imports(tree), module_marks(tree)
    for marker, names in USES.items():
        if used & names:
            assert f"pytest.mark.{marker}" in marks, f"{path.name} imports {sorted(used & names)}: add pytestmark"
