"""requirements.lock is current (tools/check_lock.py, which `make lint` runs), and the check catches what it names."""

from __future__ import annotations

import shutil

import pytest

from tools import check_lock

from .conftest import ROOT


@pytest.fixture
def copy(tmp_path, monkeypatch):
    """The requirement files, the lock and one source folder in a folder the check is pointed at."""
    for name in [*check_lock.INPUTS, check_lock.LOCK.name]:
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "x.py").write_text("import anthropic\nimport json\nfrom helpers import connect\n")
    monkeypatch.setattr(check_lock, "ROOT", tmp_path)
    monkeypatch.setattr(check_lock, "LOCK", tmp_path / check_lock.LOCK.name)
    monkeypatch.setattr(check_lock, "SOURCES", ["helpers"])
    return tmp_path


def test_the_lock_is_current():
    assert check_lock.problems() == []


def test_the_copy_passes_as_the_repository_does(copy):
    assert check_lock.problems() == []


def test_a_pin_bumped_without_relocking_is_named(copy):
    path = copy / "requirements.txt"
    path.write_text(path.read_text().replace("anthropic==", "anthropic==0.0.1 #", 1))
    assert any(
        line.startswith("requirements.txt: anthropic==0.0.1 is not in requirements.lock")
        for line in check_lock.problems()
    )


def test_a_locked_version_this_environment_does_not_have_is_named(copy):
    lock = copy / "requirements.lock"
    text = lock.read_text()
    pin = next(line for line in text.splitlines() if line.startswith("jiter=="))
    lock.write_text(text.replace(pin, "jiter==0.0.1"))
    problems = check_lock.problems()
    assert any(line.startswith("jiter is ") and line.endswith("locked at 0.0.1") for line in problems), problems


def test_an_import_of_an_unpinned_package_is_named(copy):
    (copy / "helpers" / "y.py").write_text("import uv\nimport not_a_package_anywhere\n")
    lock = copy / "requirements.lock"
    lock.write_text("\n".join(x for x in lock.read_text().splitlines() if not x.startswith("uv==")))
    dev = copy / "requirements-dev.txt"
    dev.write_text("\n".join(x for x in dev.read_text().splitlines() if not x.startswith("uv==")))
    problems = check_lock.problems()
    assert "`import uv` (uv) is not pinned in requirements.lock" in problems, problems
    assert "`import not_a_package_anywhere`: no installed package provides it" in problems, problems
