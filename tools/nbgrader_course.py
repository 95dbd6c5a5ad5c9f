"""Lay out an nbgrader course from the lessons (for teachers; needs requirements-teacher.txt).

    python tools/nbgrader_course.py COURSE_DIR
        Write COURSE_DIR/nbgrader_config.py and one assignment per lesson,
        COURSE_DIR/source/NN_topic/, holding the solution notebook and what
        it reads: resnet_utils.py, the resnet_course package, the figures
        of images/, scripts/ (lesson 05's training script), the shipped
        photos (datasets/sign-language-digits/, 12 MB) and, when they exist,
        the data caches made from them and of the synthetic set. COURSE_DIR must be new or empty
        (nothing in it is overwritten). Then, in COURSE_DIR:

            nbgrader generate_assignment 01_degradation_problem   # release/ for the learners
            nbgrader autograde 01_degradation_problem             # grades submitted/<student>/...

The configuration gives each cell 30 minutes instead of nbgrader's 30
seconds, and makes nbgrader's executor skip the cells tagged
``skip-when-grading`` (``SKIP_TAG``): the cells that train a network and
those that read what it learned. No grade depends on them, so autograding a
lesson takes seconds instead of the minutes of its training; the graded cells,
their checks and everything they use run as in the lesson. In the feedback
those cells appear without outputs. tests/test_nbgrader.py runs the round
trip: generate, then autograde the solutions (full marks, and no cell fails),
the unmodified release (zero) and a submission with one wrong answer (that
cell's points lost); tests/test_student.py checks that every cell that trains
carries the tag.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from resnet_course.data import SYNTHETIC_FILE  # noqa: E402
from resnet_course.digits import DIGITS_CACHE, PHOTOS_DIR  # noqa: E402

COURSE_ID = "resnet-by-doing"
SKIP_TAG = "skip-when-grading"
CONFIG = f'''# nbgrader's configuration for the course (written by tools/nbgrader_course.py).
c = get_config()  # noqa: F821  (nbgrader provides get_config)
c.CourseDirectory.course_id = "{COURSE_ID}"
# The lessons build and check whole networks: give each cell 30 minutes (nbgrader's default is 30 seconds).
c.Execute.timeout = 1800
# No grade depends on the training: skip the cells that train, and those that read what they learned.
# Delete this line to run them too (then autograding a lesson takes as long as its training).
c.Execute.skip_cells_with_tag = "{SKIP_TAG}"
# The stub of a solution region, as in the course's student edition.
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
'''


def lessons(repo: Path = REPO) -> list[Path]:
    """The solution notebooks, one assignment each."""
    return sorted((repo / "notebooks").glob("*.ipynb"))


def _ignore_caches(directory: str, names: list[str]) -> list[str]:
    return [n for n in names if n in ("__pycache__", ".ipynb_checkpoints") or n.endswith(".pyc")]


def layout(course: Path, repo: Path = REPO) -> list[Path]:
    """Write the nbgrader course folder ``course``; returns the assignment folders written."""
    if course.exists() and any(course.iterdir()):
        raise FileExistsError(f"{course}: expected a new or empty folder, found files in it")
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(CONFIG)
    written = []
    for notebook in lessons(repo):
        assignment = course / "source" / notebook.stem
        assignment.mkdir(parents=True)
        # The lessons show the figures of images/ as ../images/: in an assignment they sit next to the notebook.
        (assignment / notebook.name).write_text(notebook.read_text().replace("](../images/", "](images/"))
        shutil.copytree(repo / "images", assignment / "images")
        shutil.copy2(repo / "resnet_utils.py", assignment / "resnet_utils.py")
        shutil.copytree(repo / "resnet_course", assignment / "resnet_course", ignore=_ignore_caches)
        shutil.copytree(repo / "scripts", assignment / "scripts", ignore=_ignore_caches)  # TRAIN_SCRIPT (05)
        # The photos every lesson trains on; the caches, when made, spare each kernel their first load_dataset.
        datasets = assignment / "datasets"
        shutil.copytree(repo / "datasets" / PHOTOS_DIR.name, datasets / PHOTOS_DIR.name)
        if (repo / "datasets" / DIGITS_CACHE).is_dir():
            shutil.copytree(repo / "datasets" / DIGITS_CACHE, datasets / DIGITS_CACHE)
        if (repo / "datasets" / SYNTHETIC_FILE).exists():
            shutil.copy2(repo / "datasets" / SYNTHETIC_FILE, datasets / SYNTHETIC_FILE)
        written.append(assignment)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("course", type=Path, help="the course folder to create (new or empty)")
    args = parser.parse_args(argv)
    try:
        for assignment in layout(args.course.resolve()):
            print(f"{assignment}: written")
    except FileExistsError as err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
