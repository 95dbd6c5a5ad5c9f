"""The nbgrader round trip of tools/nbgrader_course.py: lay out the course, generate the assignments,
autograde three submissions and read the score sheets from nbgrader's gradebook.

- the solution notebooks get full marks in every lesson;
- the unmodified release gets zero on every graded cell, and the grader does not crash;
- a submission of lesson 02 with one wrong answer (the identity block's final ReLU left out) loses
  exactly that exercise's points.

Needs requirements-teacher.txt (`make test` installs it); skipped with the reason without it, except
under CI=true, where it fails instead. The course's configuration makes nbgrader skip the cells that
train (tagged SKIP_TAG), so autograding takes seconds per notebook; the solutions run with no error,
which shows that no kept cell needs a skipped one.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import nbgrader_course  # noqa: E402  (tools/nbgrader_course.py)

ASSIGNMENTS = [
    "01_degradation_problem",
    "02_residual_blocks",
    "03_resnet50_signs",
    "04_beyond_resnet50",
    "05_multi_worker",
    "06_transfer_learning",
]
WRONG = "02_residual_blocks"
pytestmark = pytest.mark.executes_notebooks  # `make check` leaves the round trip to `make test`

if importlib.util.find_spec("nbgrader") is None:
    reason = "nbgrader is not installed: `make test` installs requirements-teacher.txt, or pip install -r it"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from nbgrader.api import Gradebook  # noqa: E402


def nbgrader(course: Path, *args: str, timeout: int = 1800) -> str:
    """Run an nbgrader command in the course folder; its output (fails the test when nbgrader fails)."""
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def points(notebook: Path) -> dict[str, float]:
    """The graded cells of a solution notebook and their points."""
    cells = nbformat.read(notebook, as_version=4).cells
    meta = [c.metadata.get("nbgrader", {}) for c in cells]
    return {m["grade_id"]: float(m["points"]) for m in meta if m.get("grade")}


def wrong_identity_block(notebook: Path) -> None:
    """The learner's mistake: the identity block returns before its final ReLU."""
    nb = nbformat.read(notebook, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "identity_block")
    assert '    X = Activation("relu")(X)\n    ### END SOLUTION' in cell.source
    cell.source = cell.source.replace('    X = Activation("relu")(X)\n    ### END SOLUTION', "    ### END SOLUTION")
    nbformat.write(nb, notebook)


def submit(course: Path, student: str, assignment: str, solution: bool) -> Path:
    """A submission as nbgrader collects it: the released folder, with the notebook as the learner left it."""
    folder = course / "submitted" / student / assignment
    shutil.copytree(course / "release" / assignment, folder)
    if solution:
        shutil.copy2(course / "source" / assignment / f"{assignment}.ipynb", folder / f"{assignment}.ipynb")
    return folder / f"{assignment}.ipynb"


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The course folder after generate_assignment and autograde of every lesson."""
    course = tmp_path_factory.mktemp("nbgrader") / "course"
    nbgrader_course.layout(course)
    # One nbgrader process per step, each for every student or lesson at once ("*" is a glob over the
    # assignment folders): each process takes 2-6 s to start.
    (course / "students.csv").write_text("id\nsolutions\nrelease\nwrong\n")
    nbgrader(course, "db", "student", "import", "students.csv")
    nbgrader(course, "generate_assignment", "*", "--force")
    for assignment in ASSIGNMENTS:
        submit(course, "solutions", assignment, solution=True)
        submit(course, "release", assignment, solution=False)
    wrong_identity_block(submit(course, "wrong", WRONG, solution=True))
    start = time.time()
    nbgrader(course, "autograde", "*", "--force")
    print(f"\nnbgrader autograde of {len(ASSIGNMENTS)} lessons: {time.time() - start:.0f} s", flush=True)
    return course


def scores(course: Path, student: str, assignment: str) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission(assignment, student)
        # A manually graded cell (the open questions) has no score until a teacher grades it: 0 here.
        return {grade.name: float(grade.score or 0) for nb in submission.notebooks for grade in nb.grades}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_solutions_get_full_marks(course: Path, assignment: str) -> None:
    expected = points(REPO / "notebooks" / f"{assignment}.ipynb")
    assert expected, f"{assignment} has no graded cell"
    assert scores(course, "solutions", assignment) == expected


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_solutions_run_without_error_and_skip_only_the_tagged_cells(course: Path, assignment: str) -> None:
    graded = nbformat.read(course / "autograded" / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    code = [c for c in graded.cells if c.cell_type == "code"]
    errors = [c.source[:80] for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    skipped = [c for c in code if nbgrader_course.SKIP_TAG in c.metadata.get("tags", [])]
    assert all(c.execution_count is None and not c.outputs for c in skipped)
    assert all(c.execution_count is not None for c in code if c not in skipped)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_unmodified_release_gets_zero_on_every_graded_cell(course: Path, assignment: str) -> None:
    got = scores(course, "release", assignment)
    assert set(got) == set(points(REPO / "notebooks" / f"{assignment}.ipynb"))
    assert all(score == 0 for score in got.values()), got


def test_one_wrong_answer_loses_exactly_its_points(course: Path) -> None:
    expected = points(REPO / "notebooks" / f"{WRONG}.ipynb") | {"check_identity_block": 0.0}
    assert scores(course, "wrong", WRONG) == expected
    feedback = nbformat.read(course / "autograded" / "wrong" / WRONG / f"{WRONG}.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in feedback.cells if c.cell_type == "code" for o in c.outputs)
    assert "The final ReLU is missing" in text  # the learner's feedback names the mistake


def test_the_release_has_stubs_and_the_course_files(course: Path) -> None:
    for assignment in ASSIGNMENTS:
        release = course / "release" / assignment
        assert {"resnet_utils.py", "resnet_course", "images", "scripts", "datasets"} <= {
            p.name for p in release.iterdir()
        }
        assert len(list((release / "datasets" / "sign-language-digits").glob("[0-5]/*.JPG"))) == 1237
        source = (release / f"{assignment}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in source and "raise NotImplementedError()" in source


def test_layout_refuses_a_folder_with_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("a teacher's file")
    with pytest.raises(FileExistsError, match="expected a new or empty folder"):
        nbgrader_course.layout(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "a teacher's file"
