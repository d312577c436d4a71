"""The package's structure: no import cycle anywhere in helpers/ (imports at module level and inside functions both
count), and the local API as a one-way stack (its data model and request readers import nothing of the package; each
capability the router lists imports only those)."""

from __future__ import annotations

import ast
from pathlib import Path

from helpers.offline import router

from .conftest import ROOT

PACKAGE = ROOT / "helpers"
# The data model, the request readers and the course's model table (model ids, limits, tool versions): leaves that
# import nothing of helpers, so any layer may stand on them.
BOTTOM = {"helpers.offline.model", "helpers.offline.read", "helpers.models"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The helpers modules ``name`` imports, anywhere in its code. ``from pkg import x`` counts as importing the
    module ``pkg.x`` when there is one, else ``pkg``; the implicit import of a parent package does not count."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        item = stack.pop()
                        on_stack.discard(item)
                        group.append(item)
                        if item == node:
                            break
                    if len(group) > 1:
                        out.append(sorted(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return out


def test_the_cycle_finder_finds_cycles_through_function_level_imports(tmp_path):
    """The checker itself: a cycle closed by an import inside a function is found."""
    (tmp_path / "a.py").write_text("from . import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from .a import x\n    return x\n")
    known = {"pkg.a", "pkg.b"}
    edges = {
        "pkg.a": imports_of("pkg.a", tmp_path / "a.py", known),
        "pkg.b": imports_of("pkg.b", tmp_path / "b.py", known),
    }
    assert edges == {"pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}}
    assert cycles(edges) == [["pkg.a", "pkg.b"]]
    assert cycles({"pkg.a": {"pkg.b"}, "pkg.b": set()}) == []


def test_no_import_cycle_in_helpers():
    edges = graph()
    assert "helpers.offline.router" in edges and len(edges) > 30  # the whole package was read
    found = cycles(edges)
    assert not found, "import cycles in helpers/ (module-level or inside functions): " + "; ".join(
        " <-> ".join(group) for group in found
    )


def test_the_bottom_of_the_local_api_imports_nothing_of_the_package():
    edges = graph()
    for name in BOTTOM:
        assert edges[name] == set(), f"{name} must import nothing of helpers, imports {sorted(edges[name])}"


def test_each_capability_the_router_lists_stands_on_the_bottom_only():
    edges = graph()
    capabilities = {rule.answer.__module__ for rule in router.RULES}
    assert {"helpers.offline.web_search", "helpers.offline.code_execution", "helpers.offline.replies"} <= capabilities
    for name in capabilities:
        assert edges[name] <= BOTTOM, f"{name} imports {sorted(edges[name] - BOTTOM)}: a capability uses only {BOTTOM}"


def test_the_router_is_one_ordered_list_ending_in_a_rule_that_always_answers():
    request = {"model": "claude-sonnet-4-6", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    last = router.RULES[-1]
    assert last.answer(router.turn_of(request)) is not None
    assert router.choose(request).blocks[0].type == "text"
