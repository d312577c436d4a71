"""Notebook hygiene: the skeleton every lesson shares, and what a reader or nbval would trip over."""

from __future__ import annotations

import json
import re
import sys

import nbformat
import pytest

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))  # tools/nav.py imports tools/markers.py as a script does
from tools import nav  # noqa: E402

LESSONS = [
    "00_setup",
    "01_text_stream",
    "02_raw_events",
    "03_async",
    "04_errors",
    "05_tool_deltas",
    "06_thinking",
    "07_server_tools",
    "08_fastapi_sse",
    "09_playground",
    "10_capstone",
]
NOTEBOOKS = ROOT / "notebooks"
KEY = re.compile(r"sk-ant-[A-Za-z0-9_-]{8,}")
PATHS = re.compile(r"(/home/|/root/|/work/|/tmp/|/Users/|C:\\\\Users)")
TEST_WORDS = re.compile(r"NBVAL|nbval|the (course's )?tests (run|set)|instant pace", re.I)
MAGIC = re.compile(r"^\s*(%pip|!pip|%load_ext autoreload|%autoreload|sys\.path\.|from \S+ import \*)", re.M)


def load(name: str) -> nbformat.NotebookNode:
    path = NOTEBOOKS / f"{name}.ipynb"
    if not path.exists():
        pytest.fail(f"{path.name} is missing: every lesson of the course must exist")
    return nbformat.read(path, as_version=4)


def test_the_course_is_complete():
    names = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assert names == LESSONS


@pytest.mark.parametrize("name", LESSONS)
def test_skeleton(name):
    cells = load(name).cells
    first = "".join(cells[0].source)
    assert cells[0].cell_type == "markdown" and first.startswith(f"# {name[:2]} · ")
    learn = first.split("## What you will learn", 1)
    assert len(learn) == 2, "the first cell lists what you will learn"
    assert len(re.findall(r"^\s*[-*] ", learn[1], re.M)) == 3, "exactly three bullets"
    headings = [
        line
        for c in cells
        if c.cell_type == "markdown"
        for line in "".join(c.source).splitlines()
        if line.startswith("## ")
    ]
    numbered = [h for h in headings if re.match(r"## \d+\. ", h)]
    assert len(numbered) >= 2, "numbered sections"
    assert "## Try it" in headings and "## Summary" in headings
    assert headings.index("## Try it") < headings.index("## Summary")
    assert cells[1].cell_type == "code", "one setup cell follows the overview"
    last = "".join(cells[-1].source)
    assert cells[-1].cell_type == "markdown" and ("**Next:**" in last or "You finished the course" in last)


@pytest.mark.parametrize("name", LESSONS)
def test_hygiene(name):
    path = NOTEBOOKS / f"{name}.ipynb"
    nb = load(name)
    assert path.stat().st_size < 300_000
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "widgets" not in nb.metadata, "no saved widget state (regenerate with tools/run_notebooks.py)"
    for i, cell in enumerate(nb.cells):
        src = "".join(cell.source)
        assert src.strip(), f"cell {i} is empty"
        assert not KEY.search(src), f"cell {i} source looks like it holds an API key"
        if cell.cell_type != "code":
            assert not TEST_WORDS.search(src), f"cell {i} speaks of the tests: {TEST_WORDS.search(src).group()}"
            continue
        assert not MAGIC.search(src), (
            f"cell {i}: no pip installs, sys.path hacks, star imports or autoreload in lessons"
        )
        assert cell.execution_count is not None, f"cell {i} was not run: outputs are kept"
        assert not TEST_WORDS.search(src), (
            f"cell {i}: test-infrastructure words reach the learner ({TEST_WORDS.search(src).group()}): nbval markers "
            "go in the cell's tags (nbval-ignore-output), and the lesson speaks of what the learner runs"
        )
        for out in cell.outputs:
            text = json.dumps(out)
            assert not KEY.search(text), f"cell {i} output looks like it holds an API key"
            assert not PATHS.search(text), f"cell {i} output holds a machine path"
            assert not set(out.get("data", {})) & {"image/png", "image/jpeg", "image/gif"}, (
                f"cell {i}: no embedded images"
            )
            if out.output_type == "error":
                assert "raises-exception" in cell.metadata.get("tags", []), (
                    f"cell {i} has an error output but is not tagged raises-exception"
                )


def test_navigation_and_readme_table_are_current(capsys):
    assert nav.main(check=True) == 0, capsys.readouterr().out


WORD_BUDGET = 1200  # words of markdown a lesson may have, code samples and diagrams included
TIME = re.compile(r"\*\*Time:\*\* about (\d+) minutes · (core path|going further)")
CORE = {"00_setup", "01_text_stream", "02_raw_events", "03_async", "04_errors"}


def markdown_words(nb: nbformat.NotebookNode) -> int:
    text = "\n".join("".join(c.source) for c in nb.cells if c.cell_type == "markdown")
    return len(re.findall(r"\S+", text))


@pytest.mark.parametrize("name", LESSONS)
def test_lessons_are_short_and_say_how_long_they_take(name):
    nb = load(name)
    words = markdown_words(nb)
    assert words <= WORD_BUDGET, f"{name} has {words} words of markdown; the budget is {WORD_BUDGET}"
    found = TIME.search("".join(nb.cells[0].source))
    assert found, "the first cell says how long the lesson takes: '**Time:** about N minutes · core path|going further'"
    assert found.group(2) == ("core path" if name in CORE else "going further")


def test_the_core_path_takes_about_ninety_minutes():
    minutes = {n: int(TIME.search("".join(load(n).cells[0].source)).group(1)) for n in sorted(CORE)}
    assert 60 <= sum(minutes.values()) <= 95, minutes


WRITE_THEN_USE = ["01_text_stream", "02_raw_events", "03_async", "04_errors", "05_tool_deltas", "06_thinking"]


@pytest.mark.parametrize("name", WRITE_THEN_USE)
def test_the_exercise_leaves_the_stream_and_its_loop_to_the_learner(name):
    """The starter in the exercise cell (the one that calls the checker) says what to write, and hands over
    neither the stream's ``with`` block nor its loop: writing them is the lesson's point."""
    starters = [c.source for c in load(name).cells if c.cell_type == "code" and f"lesson{name[:2]}.check(" in c.source]
    assert len(starters) == 1, f"{name}: expected one exercise cell calling lesson{name[:2]}.check"
    assert "✏️" in starters[0], f"{name}: the starter marks what to write with ✏️"
    handed = re.findall(r"^\s*(?:async )?(?:with|for) .*$", starters[0], re.M)
    assert not handed, f"{name}: the starter hands over {handed}"
