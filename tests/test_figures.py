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
    values = figures.figures(figures.recorded(figures.recording())[0])
    assert set(values) == set(figures.FIGURES)  # every pattern found its figure


def test_a_figure_edited_by_hand_is_caught_and_rewritten(tmp_path):
    readme = figures.DOCUMENTS[0]
    text = readme.read_text()
    line = re.search(r"`hub: .*?`", text).group(0)
    edited = text.replace(line, line.replace("all ready in", "all ready in 1"))
    assert edited != text
    assert figures.rendered(readme, edited, figures.recording()) == text


def test_a_recording_that_lacks_a_figure_is_refused_by_name():
    text = figures.recorded(figures.recording())[0]
    with pytest.raises(ValueError, match=r"the recording lacks these figures: hub_own \(section 'hub'\)$"):
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


def test_a_part_recorded_again_later_supplies_its_section_and_an_older_one_does_not(tmp_path, monkeypatch):
    monkeypatch.setattr(figures, "RECORDINGS", tmp_path)
    whole = tmp_path / "make-bench-2026-01-02.txt"
    whole.write_text("machine: nproc 2\n\n## gateway\nold figures\n\n## hub\nhub figures\n")
    (tmp_path / "bench-gateway-2026-01-01.txt").write_text("machine: nproc 2\n\n## gateway\nolder figures\n")
    (tmp_path / "hub-gateway-30-2026-01-03.txt").write_text("# python bench/hub.py --gateway\ncohort figures\n")
    text, files = figures.recorded(whole)
    parts = figures.sections(text)
    assert parts["gateway"].strip() == "old figures" and files["gateway"] == whole
    assert parts["hub-gateway"].strip().endswith("cohort figures") and files["hub-gateway"].name.startswith("hub-")
    (tmp_path / "bench-gateway-2026-01-05.txt").write_text("machine: nproc 2\n\n## gateway\nnew figures\n")
    text, files = figures.recorded(whole)
    assert figures.sections(text)["gateway"].strip() == "new figures" and files["gateway"].name.endswith("05.txt")


def test_the_sizing_table_is_computed_from_the_recorded_memory():
    values = figures.figures(figures.recorded(figures.recording())[0])
    rows = figures.derived(values)["sizing_rows"].splitlines()
    assert [row.split(" | ")[0] for row in rows] == ["| 30", "| 50", "| 100"]
    bigger = dict(
        values, hub_memory=(values["hub_memory"][0], values["hub_memory"][1], "1024", *values["hub_memory"][3:])
    )
    more = figures.derived(bigger)["sizing_rows"].splitlines()
    # two kernels of 1 GiB each for 30 learners: 60 GiB more, plus the headroom
    before, after = (float(r.split(" | ")[1].removesuffix(" GiB")) for r in (rows[0], more[0]))
    kernel = int(values["hub_memory"][2])
    assert after - before == pytest.approx(30 * 2 * (1024 - kernel) / 1024 * 1.25, abs=0.1)
