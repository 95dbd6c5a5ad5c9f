"""The student edition (student/) is generated from the solution notebooks and
kept in step with them; its stubs stop at a check that says 'not implemented'."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

from nbgrader_course import SKIP_TAG  # noqa: E402  (tools/nbgrader_course.py)

import notebooks as nbtool  # noqa: E402  (tools/notebooks.py)

SOLUTIONS = sorted((REPO / "notebooks").glob("*.ipynb"))
GRADED = [p for p in SOLUTIONS if "### BEGIN SOLUTION" in p.read_text()]
# The lessons with code to write (lesson 00 has only the model answers to its open questions).
CODED = [
    p
    for p in GRADED
    if any("### BEGIN SOLUTION" in c.source for c in nbformat.read(p, 4).cells if c.cell_type == "code")
]


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
    assert "BEGIN SOLUTION" not in sources and "YOUR ANSWER HERE" in sources
    assert solution not in CODED or "raise NotImplementedError()" in sources
    assert all(not c.outputs and c.execution_count is None for c in student.cells if c.cell_type == "code")


@pytest.mark.parametrize("solution", GRADED, ids=lambda p: p.name)
def test_pasting_the_solutions_back_gives_the_solution_notebook(solution: Path) -> None:
    """With its solutions pasted back, a student notebook is the solution notebook, which nbval runs green."""
    original = nbformat.read(solution, as_version=4)
    student = nbformat.read(REPO / "student" / solution.name, as_version=4)
    assert nbtool.paste_solutions(student, original) == [c.source for c in original.cells]
    assert [c.cell_type for c in student.cells] == [c.cell_type for c in original.cells]


@pytest.mark.executes_notebooks
@pytest.mark.parametrize("solution", CODED, ids=lambda p: p.name)
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


# The graded functions: the learner writes them; their references live in resnet_course only.
GRADED_FUNCTIONS = {
    "residual_block",
    "basic_block",
    "identity_block",
    "convolutional_block",
    "ResNet50",
    "preact_block",
    "grad_cam",
    "tf_config",
}


def test_resnet_utils_exports_no_reference_of_a_graded_function() -> None:
    import resnet_utils

    from resnet_course import blocks, evaluation, models

    references = [
        blocks.basic_block,
        blocks.identity_block,
        blocks.convolutional_block,
        blocks.preact_block,
        models.ResNet50,
        evaluation.grad_cam,
    ]
    exported = {name: getattr(resnet_utils, name) for name in dir(resnet_utils) if not name.startswith("__")}
    assert not GRADED_FUNCTIONS & set(exported)
    aliases = [name for name, value in exported.items() if any(value is ref for ref in references)]
    assert not aliases, f"resnet_utils exports a reference under another name: {aliases}"


@pytest.mark.parametrize("path", sorted((REPO / "student").glob("*.ipynb")), ids=lambda p: p.name)
def test_student_edition_imports_no_reference(path: Path) -> None:
    """No graded function is imported (by its name or an alias), and nothing from resnet_course directly."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("resnet_course"), ast.unparse(node)
                assert not {alias.name for alias in node.names} & GRADED_FUNCTIONS, ast.unparse(node)
            if isinstance(node, ast.Import):
                assert not any(alias.name.startswith("resnet_course") for alias in node.names), ast.unparse(node)


def test_every_lesson_has_graded_work_in_nbgrader_format() -> None:
    graded = {}
    for path in GRADED:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                graded[f"{path.name}:{meta['grade_id']}"] = (path.name, meta["points"])
            if meta.get("solution") and cell.cell_type == "code":
                assert "### BEGIN SOLUTION" in cell.source, (path.name, meta["grade_id"])
    checked = {grade_id: where for grade_id, where in graded.items() if where[1] > 0}  # the checks; the answers: 0
    assert {name[:2] for name, _ in checked.values()} == {"01", "02", "03", "04", "05", "06"}, graded
    assert len(checked) >= 10, graded
    # Every lesson ends with the teacher key: model answers to its open questions, in a manually graded cell.
    assert {name for name, _ in graded.values()} == {p.name for p in SOLUTIONS}


# A cell that trains: Keras's fit, the course's training helpers, a function defined around them,
# or lesson 05's launcher of training processes.
TRAINS = re.compile(
    r"\.fit\(|\brun_degradation\(|\btraining_speed\(|\brecalibrate_batchnorm\(|\bmachine_speed\(|\btrain\("
    r"|\blaunch_workers\("
)


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_cells_that_train_are_skipped_while_grading_and_graded_cells_are_not(solution: Path) -> None:
    """nbgrader skips the cells tagged SKIP_TAG (tools/nbgrader_course.py): every cell that trains
    carries the tag, so that autograding takes seconds; no graded cell or solution carries it."""
    for index, cell in enumerate(nbformat.read(solution, as_version=4).cells):
        tagged = SKIP_TAG in cell.metadata.get("tags", [])
        if cell.cell_type == "code" and TRAINS.search(cell.source):
            assert tagged, f"{solution.name}, cell {index}: it trains, so it needs the tag {SKIP_TAG!r}"
        if cell.metadata.get("nbgrader", {}).get("grade") or cell.metadata.get("nbgrader", {}).get("solution"):
            assert not tagged, f"{solution.name}, cell {index}: a graded cell must run while nbgrader grades"
