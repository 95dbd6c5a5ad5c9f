"""How the course's checks share the cores: `make test`, `make check` and `make execute`.

Standard library only: course.py imports it (for `test` and `check`) with nothing but the standard library.

- ``workers(cores)``: how many pytest-xdist workers run at once: one per core, at most
  ``MAX_WORKERS``. Measured on the 2-core AMD EPYC (course ResNet-50, one thread per process):
  two processes trained 52-54 images per CPU-second each, three only 44 (they take turns on the
  cores and evict each other's caches), so a third worker made the training 16 % dearer.
  ``make execute`` runs one notebook process per core too.
- ``thread_env(workers, cores)``: the TensorFlow threads of each process (its share of the
  cores), as the environment variables TensorFlow reads when it starts; kernels, nbgrader
  and the tests' subprocesses inherit them. One thread per process trains more images per
  CPU-second than two (48.6 against 38.1 images/s per core, alone, same machine).
- ``READS``: a notebook that reads a file another notebook writes. The two run as one chain,
  the writer first, in one process: one pytest-xdist worker under `make test`, one process
  under `make execute` (``chain``).
- ``unit(nodeid)``: the unit of work one pytest worker runs from start to end, in order: a
  test file, a notebook with all its cells (one kernel), or a chain of notebooks.
- ``ordered(units)``: the longest units first (``SECONDS``, measured; a chain as long as its
  notebooks together), so that no long unit starts last while the other worker is idle.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

MAX_WORKERS = 4
# reader -> writer: lesson 04 compares the ResNet-50 that lesson 03 saves (resnet50_signs.keras).
# The reader runs right after its writer, in the same process.
READS = {"notebooks/04_beyond_resnet50.ipynb": "notebooks/03_resnet50_signs.ipynb"}
# Seconds per file under `make test` with 3 workers on a 2-core AMD EPYC (family 25, model 17), from a clean
# clone of ed2c28f (lesson 04: its 659 s less its wait for lesson 03, about 600); only their order matters.
# A file not listed here counts as NEW_NOTEBOOK seconds when it is a notebook (a new lesson is as long as a
# long one until it is measured), else 0.
SECONDS = {
    "notebooks/04_beyond_resnet50.ipynb": 600,
    "notebooks/03_resnet50_signs.ipynb": 573,
    "notebooks/01_degradation_problem.ipynb": 382,
    "notebooks/05_multi_worker.ipynb": 239,
    "tests/test_nbgrader.py": 227,
    "notebooks/00_setup_and_data.ipynb": 95,
    "tests/test_install.py": 89,
    "tests/test_quality.py": 58,
    "tests/test_grading_resnet50.py": 57,
    "tests/test_training.py": 49,
    "tests/test_student.py": 42,
    "tests/test_resume.py": 31,
    "tests/test_cluster.py": 21,
    "notebooks/02_residual_blocks.ipynb": 9,
    # Measured apart: `tools/notebooks.py execute` of lesson 06 beside tools/run_on_source.py on the same
    # 2-core AMD EPYC (family 25, model 1), one TensorFlow thread each, as two make test workers run.
    "notebooks/06_transfer_learning.ipynb": 354,
}
NEW_NOTEBOOK = 600


def cores() -> int:
    """The cores this process may run on (the affinity mask where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def workers(available: int) -> int:
    """pytest-xdist workers on ``available`` cores: one per core, at most MAX_WORKERS."""
    return max(1, min(available, MAX_WORKERS))


def thread_env(processes: int, available: int) -> dict[str, str]:
    """TensorFlow's thread counts for each of ``processes`` processes sharing ``available`` cores."""
    threads = str(max(1, available // max(1, processes)))
    return {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": threads}


def chain(notebook: str) -> str:
    """The first notebook of the chain that runs ``notebook``: the one it reads from, or itself."""
    return READS.get(notebook, notebook)


def unit(nodeid: str) -> str:
    """The work unit of a pytest node id ('tests/test_data.py::test_x', 'notebooks/x.ipynb::Cell 3'): its
    file, or the first notebook of the file's chain."""
    return chain(nodeid.split("::", 1)[0])


def seconds(unit: str) -> float:
    """The expected seconds of a work unit (for the order only): those of its files together."""
    files = [unit] + [reader for reader, writer in READS.items() if writer == unit]
    return sum(SECONDS.get(f, NEW_NOTEBOOK if f.endswith(".ipynb") else 0) for f in files)


def ordered(units: Iterable[str]) -> list[str]:
    """``units`` without repeats, longest first; equally long ones keep their order."""
    return sorted(dict.fromkeys(units), key=lambda unit: -seconds(unit))
