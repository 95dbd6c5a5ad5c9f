"""Google Colab: the first cell of every notebook, `course.py colab`, and the README's badges.

Colab itself can't run here; the tests fake its `google.colab` module and
record what the cell would run instead of cloning and installing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import nbformat
import pytest

import course

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import notebooks as nbtool  # noqa: E402  (tools/notebooks.py)

NOTEBOOKS = [p for folder in ("notebooks", "student") for p in sorted((REPO / folder).glob("[0-9]*.ipynb"))]
URL = nbtool.repository()
CLONE = "/content/" + URL.rsplit("/", 1)[-1]


def first_code_cell(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return next(cell.source for cell in nb.cells if cell.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_notebook_starts_with_the_colab_cell(path: Path) -> None:
    assert first_code_cell(path) == nbtool.colab_cell(URL), "run `.venv/bin/python tools/notebooks.py colab`"


def run_cell(monkeypatch: pytest.MonkeyPatch, in_colab: bool, cloned: bool) -> dict[str, Any]:
    """Execute the Colab cell with Colab faked; what it ran, where it moved, what it put on sys.path."""
    calls: dict[str, Any] = {"run": [], "chdir": []}
    if in_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(subprocess, "run", lambda command, **kw: calls["run"].append((command, kw)))
    monkeypatch.setattr(os, "chdir", calls["chdir"].append)
    real_isdir = os.path.isdir
    monkeypatch.setattr(os.path, "isdir", lambda p: cloned if p == CLONE else real_isdir(p))
    before = list(sys.path)
    exec(nbtool.colab_cell(URL), {})
    calls["path_added"] = [p for p in sys.path if p not in before]
    return calls


def test_outside_colab_the_cell_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = run_cell(monkeypatch, in_colab=False, cloned=False)
    assert calls == {"run": [], "chdir": [], "path_added": []}


def test_in_colab_the_cell_clones_installs_and_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = run_cell(monkeypatch, in_colab=True, cloned=False)
    commands = [command for command, _ in calls["run"]]
    assert commands == [
        ["git", "clone", "--depth=1", URL, CLONE],
        [sys.executable, f"{CLONE}/course.py", "colab"],
    ]
    assert all(kw.get("check") for _, kw in calls["run"]), "a failed clone or install must stop the notebook"
    assert calls["path_added"] == [CLONE] and calls["chdir"] == [f"{CLONE}/notebooks"]


def test_in_colab_a_second_run_does_not_clone_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = run_cell(monkeypatch, in_colab=True, cloned=True)
    assert [command[:2] for command, _ in calls["run"]] == [[sys.executable, f"{CLONE}/course.py"]]


def test_colab_keeps_a_tensorflow_with_keras_3() -> None:
    command = course.colab_install_command("2.19.0")
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert command[-2:] == ["--editable", str(REPO)], "the course and the dependencies Colab lacks, nothing else"


@pytest.mark.parametrize("installed", [None, "2.15.1", "2.12.0rc1"])
def test_colab_installs_the_course_tensorflow_when_it_has_none_or_an_old_one(installed: str | None) -> None:
    assert course.colab_install_command(installed)[-1] == course.pinned_tensorflow()
    assert course.pinned_tensorflow() == "tensorflow==2.21.0"


def test_major_minor() -> None:
    assert course.major_minor("2.19.0rc1") == (2, 19)
    with pytest.raises(ValueError, match="not a version"):
        course.major_minor("nightly")


def test_readme_has_a_colab_badge_per_notebook() -> None:
    readme = (REPO / "README.md").read_text()
    github = URL.removeprefix("https://github.com/")
    for path in NOTEBOOKS:
        link = f"https://colab.research.google.com/github/{github}/blob/main/{path.parent.name}/{path.name}"
        assert link in readme, f"README: no Colab badge for {path.parent.name}/{path.name} ({link})"


def test_with_colab_cell_inserts_once_and_replaces(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell("import keras", execution_count=1)]
    )
    once = nbtool.with_colab_cell(nb, nbtool.colab_cell("https://github.com/a/old"))
    twice = nbtool.with_colab_cell(once, nbtool.colab_cell(URL))
    sources = [cell.source for cell in twice.cells]
    assert sources == ["# T", nbtool.colab_cell(URL), "import keras"]
    assert [cell.execution_count for cell in twice.cells[1:]] == [1, 2]
