"""How the course's checks share the cores: `make test`, `make check` and `make execute`.

Standard library only: course.py imports it (for `test` and `check`) with nothing but the standard library.

- ``workers(cores)``: how many pytest-xdist workers run at once: one more than the cores
  (measured: with one per core, waits left a core idle), at most ``MAX_WORKERS``.
  ``make execute`` runs one notebook process per core.
- ``thread_env(workers, cores)``: the TensorFlow threads of each process (its share of the
  cores), as the environment variables TensorFlow reads when it starts; kernels, nbgrader
  and the tests' subprocesses inherit them. Two processes of two threads each on two cores
  fight over them; one thread each keeps both cores busy.
- ``unit(nodeid)``: the unit of work one pytest worker runs from start to end, in order: a
  test file, or a notebook with all its cells (one kernel).
- ``READS``: a notebook that reads a file another notebook writes. Under pytest both start
  at once on two workers; the reader waits at its first cell that names the file until the
  writer has finished (the root conftest.py), and ``ordered`` puts the writer first so that
  it never waits behind the reader. ``make execute`` runs the two one after the other in
  one process instead (``chain``).
- ``ordered(units)``: the longest units first (``SECONDS``, measured), so that no long
  notebook starts last while the other worker is idle.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

MAX_WORKERS = 4
# reader -> (writer, the file's name): lesson 04 compares the ResNet-50 that lesson 03 saved next to it.
READS = {"notebooks/04_beyond_resnet50.ipynb": ("notebooks/03_resnet50_signs.ipynb", "resnet50_signs.keras")}
WRITERS = {writer for writer, _ in READS.values()}
# Seconds per work unit under `make test` with 2 workers on a 2-core AMD EPYC (family 25, model 17), from a
# clean clone of f09eb3d; only their order matters. A unit not listed here counts as NEW_NOTEBOOK seconds when
# it is a notebook (a new lesson is as long as a long one until it is measured), else 0.
SECONDS = {
    "notebooks/04_beyond_resnet50.ipynb": 586,
    "notebooks/03_resnet50_signs.ipynb": 497,
    "notebooks/01_degradation_problem.ipynb": 311,
    "notebooks/05_multi_worker.ipynb": 217,
    "tests/test_nbgrader.py": 145,
    "tests/test_install.py": 91,
    "notebooks/00_setup_and_data.ipynb": 79,
    "tests/test_quality.py": 35,
    "tests/test_student.py": 31,
    "tests/test_grading_resnet50.py": 26,
    "tests/test_training.py": 21,
    "tests/test_resume.py": 16,
    "notebooks/02_residual_blocks.ipynb": 6,
}
NEW_NOTEBOOK = 600


def cores() -> int:
    """The cores this process may run on (the affinity mask where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def workers(available: int) -> int:
    """pytest-xdist workers on ``available`` cores: one more than the cores, so that while one waits (for the
    package registry, a kernel or a worker process to start, lesson 05's time-outs) the cores stay busy;
    at most MAX_WORKERS, and one on one core."""
    return 1 if available <= 1 else min(available + 1, MAX_WORKERS)


def thread_env(processes: int, available: int) -> dict[str, str]:
    """TensorFlow's thread counts for each of ``processes`` processes sharing ``available`` cores."""
    threads = str(max(1, available // max(1, processes)))
    return {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": threads}


def unit(nodeid: str) -> str:
    """The work unit of a pytest node id ('tests/test_data.py::test_x', 'notebooks/x.ipynb::Cell 3'): its file."""
    return nodeid.split("::", 1)[0]


def chain(notebook: str) -> str:
    """The notebook whose process executes ``notebook`` under `make execute`: the one it reads from, or itself."""
    return READS[notebook][0] if notebook in READS else notebook


def seconds(unit: str) -> float:
    """The expected seconds of a work unit (for the order only); a writer counts as long as its readers."""
    own = SECONDS.get(unit, NEW_NOTEBOOK if unit.endswith(".ipynb") else 0)
    return max([own] + [seconds(reader) for reader, (writer, _) in READS.items() if writer == unit])


def ordered(units: Iterable[str]) -> list[str]:
    """``units`` without repeats, longest first, a writer before its readers; equally long ones keep their order."""
    unique = list(dict.fromkeys(units))
    ranked = sorted(unique, key=lambda unit: -seconds(unit))
    for reader, (writer, _) in READS.items():
        if reader in ranked and writer in ranked and ranked.index(writer) > ranked.index(reader):
            ranked.remove(writer)
            ranked.insert(ranked.index(reader), writer)
    return ranked
