"""The README's and docs/workshop.md's figures are written by tools/figures.py from one recorded `make bench` run."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import pytest

from .conftest import ROOT

_spec = importlib.util.spec_from_file_location("figures", ROOT / "tools" / "figures.py")
assert _spec and _spec.loader
figures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(figures)


def test_the_documents_match_the_recorded_run():
    result = subprocess.run([sys.executable, "tools/figures.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_generated_block_is_in_a_document_and_reads_only_recorded_figures():
    used = set()
    for path in figures.DOCUMENTS:
        used |= set(re.findall(r"<!-- figures:([\w-]+) -->", path.read_text()))
    assert used == set(figures.BLOCKS)
    values = figures.figures(figures.recording().read_text())
    assert set(values) == set(figures.FIGURES)  # every pattern found its figure


def test_a_figure_edited_by_hand_is_caught_and_rewritten(tmp_path):
    readme = figures.DOCUMENTS[0]
    text = readme.read_text()
    line = re.search(r"`hub: .*?`", text).group(0)
    edited = text.replace(line, line.replace("all ready in", "all ready in 1"))
    assert edited != text
    assert figures.rendered(readme, edited, figures.recording()) == text


def test_a_recording_that_lacks_a_figure_is_refused_by_name():
    text = figures.recording().read_text()
    with pytest.raises(ValueError, match=r"hub_own \(section 'hub'\)"):
        figures.figures(text.replace("hub's own memory", "hub memory"))


FIGURE = re.compile(r"\d[\d.,]*\s?(ms|s|kB|MB|MiB|µs|x|×|%|tokens/s)(?![\w/])")


def test_no_benchmark_figure_is_written_into_the_code():
    """A figure in a docstring or comment rots: the code names the benchmark and the README's Figures instead."""
    found = []
    for path in sorted((ROOT / "helpers").rglob("*")):
        if path.suffix not in {".py", ".js"}:
            continue
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if "bench/" in line or "bench." in line:
                window = " ".join(lines[max(0, i - 1) : i + 3])
                if FIGURE.search(window):
                    found.append(f"{path.relative_to(ROOT)}:{i + 1}: {line.strip()}")
    assert found == []
