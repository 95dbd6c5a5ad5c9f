"""The student edition (student/) is generated from the solution notebooks and
kept in step with them; its stubs stop at a check that says 'not implemented'."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import notebooks as nbtool  # noqa: E402  (tools/notebooks.py)

SOLUTIONS = sorted((REPO / "notebooks").glob("*.ipynb"))
GRADED = [p for p in SOLUTIONS if "### BEGIN SOLUTION" in p.read_text()]


def test_every_notebook_has_a_student_edition() -> None:
    assert sorted(p.name for p in (REPO / "student").glob("*.ipynb")) == [p.name for p in SOLUTIONS]


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_student_edition_is_up_to_date(solution: Path) -> None:
    expected = nbformat.writes(nbtool.to_student(nbformat.read(solution, as_version=4)))
    committed = (REPO / "student" / solution.name).read_text()
    assert committed.strip() == expected.strip(), "the student edition is out of date: run `make student`"


@pytest.mark.parametrize("solution", GRADED, ids=lambda p: p.name)
def test_stubs_replace_solutions_and_outputs_are_cleared(solution: Path) -> None:
    student = nbformat.read(REPO / "student" / solution.name, as_version=4)
    sources = "\n".join(c.source for c in student.cells)
    assert "BEGIN SOLUTION" not in sources and "raise NotImplementedError()" in sources
    assert all(not c.outputs and c.execution_count is None for c in student.cells if c.cell_type == "code")


@pytest.mark.parametrize("solution", GRADED, ids=lambda p: p.name)
def test_pasting_the_solutions_back_gives_the_solution_notebook(solution: Path) -> None:
    """With its solutions pasted back, a student notebook is the solution notebook, which nbval runs green."""
    original = nbformat.read(solution, as_version=4)
    student = nbformat.read(REPO / "student" / solution.name, as_version=4)
    assert nbtool.paste_solutions(student, original) == [c.source for c in original.cells if c.cell_type == "code"]
    assert len(student.cells) == len(original.cells)
    assert [c.source for c in student.cells if c.cell_type == "markdown"] == [
        c.source for c in original.cells if c.cell_type == "markdown"
    ]


@pytest.mark.parametrize("solution", GRADED, ids=lambda p: p.name)
def test_student_notebook_runs_to_its_first_stub(solution: Path) -> None:
    nb = nbformat.read(REPO / "student" / solution.name, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO / "student")}}
    )
    with pytest.raises(CellExecutionError):
        client.execute()
    executed = [c for c in nb.cells if c.cell_type == "code" and c.execution_count is not None]
    failed = executed[-1]
    stub_index = next(
        i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "NotImplementedError()" in c.source
    )
    assert nb.cells.index(failed) == stub_index + 1, "execution should stop at the check right after the first stub"
    text = "".join(o.get("text", "") for o in failed.outputs)
    assert "Not implemented yet" in text, text
