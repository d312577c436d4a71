"""tools/markers.py: the one "replace between markers" step of tools/figures.py, inline_js.py and nav.py."""

from __future__ import annotations

import pytest
from markers import replace_between, report, update


def test_the_inside_of_each_region_is_replaced_and_the_markers_stay():
    text = "a <!-- n:x -->old<!-- /n:x --> b <!-- n:y -->\nold\n<!-- /n:y --> c"
    new = replace_between(text, r"<!-- n:(?P<name>\w) -->", r"<!-- /n:(?P=name) -->", lambda m: m.group("name") * 2)
    assert new == "a <!-- n:x -->xx<!-- /n:x --> b <!-- n:y -->yy<!-- /n:y --> c"


def test_an_end_marker_of_another_region_does_not_close_one():
    text = "<!-- n:x -->keep <!-- /n:y --> this<!-- /n:x -->"
    new = replace_between(text, r"<!-- n:(?P<name>\w) -->", r"<!-- /n:(?P=name) -->", lambda m: "new")
    assert new == "<!-- n:x -->new<!-- /n:x -->"


def test_a_text_without_the_region_is_refused_naming_the_markers():
    with pytest.raises(ValueError, match=r"page.html: expected a region from 'START' to 'END'"):
        replace_between("no markers here", "START", "END", lambda m: "", "page.html")


def test_update_writes_only_what_changed_and_check_writes_nothing(tmp_path, capsys):
    path = tmp_path / "doc.md"
    path.write_text("same")
    assert update(path, "same", check=False) is False
    assert update(path, "new", check=True) is True and path.read_text() == "same"
    assert report(["doc.md"], True, "python tools/x.py", "the source") == 1
    assert capsys.readouterr().out == "out of date with the source (run `python tools/x.py`): doc.md\n"
    assert update(path, "new", check=False) is True and path.read_text() == "new"
    assert report([], True, "python tools/x.py") == 0
