"""tools/parallel.py: how `make test`, `make check` and `make execute` share the cores, and the
root conftest.py's use of it under pytest-xdist (the longest work units first, each unit whole)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import parallel  # noqa: E402  (tools/parallel.py)


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 2), (3, 3), (16, parallel.MAX_WORKERS)])
def test_one_worker_per_core_up_to_the_maximum(cores: int, expected: int) -> None:
    assert parallel.workers(cores) == expected


@pytest.mark.parametrize(("processes", "cores", "threads"), [(3, 2, "1"), (1, 2, "2"), (4, 16, "4"), (2, 2, "1")])
def test_each_process_gets_its_share_of_the_cores(processes: int, cores: int, threads: str) -> None:
    expected = {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": threads}
    assert parallel.thread_env(processes, cores) == expected


def test_cores_counts_what_this_process_may_use() -> None:
    assert 1 <= parallel.cores() <= (os.cpu_count() or 1)


def test_a_unit_is_a_file_or_the_chain_of_a_notebook_that_reads_another() -> None:
    assert parallel.unit("tests/test_data.py::test_x[a::b]") == "tests/test_data.py"
    assert parallel.unit("notebooks/00_setup_and_data.ipynb::Cell 3") == "notebooks/00_setup_and_data.ipynb"
    lesson_03 = "notebooks/03_resnet50_signs.ipynb"
    assert parallel.unit("notebooks/04_beyond_resnet50.ipynb::Cell 3") == lesson_03
    assert parallel.unit(f"{lesson_03}::Cell 3") == lesson_03


def test_lesson_04_runs_after_lesson_03_in_one_process() -> None:
    assert parallel.chain("notebooks/04_beyond_resnet50.ipynb") == "notebooks/03_resnet50_signs.ipynb"
    assert parallel.chain("notebooks/02_residual_blocks.ipynb") == "notebooks/02_residual_blocks.ipynb"


def test_a_chain_counts_as_long_as_its_notebooks_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "READS", {"b.ipynb": "a.ipynb"})
    monkeypatch.setattr(parallel, "SECONDS", {"a.ipynb": 10, "b.ipynb": 500, "c.ipynb": 505})
    assert parallel.seconds("a.ipynb") == 510
    assert parallel.ordered(["c.ipynb", "a.ipynb"]) == ["a.ipynb", "c.ipynb"]


def test_the_longest_units_come_first_and_a_new_notebook_counts_as_long() -> None:
    units = ["tests/test_data.py", "notebooks/00_setup_and_data.ipynb", "notebooks/07_new.ipynb"]
    units += ["tests/test_blocks.py", "notebooks/03_resnet50_signs.ipynb", "tests/test_data.py"]
    assert parallel.seconds("notebooks/07_new.ipynb") == parallel.NEW_NOTEBOOK
    assert parallel.ordered(units) == [
        "notebooks/03_resnet50_signs.ipynb",  # and lesson 04 after it
        "notebooks/07_new.ipynb",
        "notebooks/00_setup_and_data.ipynb",
        "tests/test_data.py",
        "tests/test_blocks.py",
    ]


def test_the_tables_name_files_that_exist() -> None:
    named = set(parallel.SECONDS) | set(parallel.READS) | set(parallel.READS.values())
    missing = sorted(name for name in named if not (REPO / name).exists())
    assert not missing, f"tools/parallel.py names files that do not exist: {missing}"
    measured = {unit for unit in parallel.SECONDS if unit.endswith(".ipynb")}
    notebooks = {p.relative_to(REPO).as_posix() for p in (REPO / "notebooks").glob("*.ipynb")}
    assert notebooks <= measured, "measure the new notebook and add it to SECONDS"


def runs_of(names: list[str]) -> list[str]:
    """``names`` with each run of equal neighbours kept once."""
    return [name for i, name in enumerate(names) if i == 0 or names[i - 1] != name]


def test_an_xdist_worker_collects_the_longest_units_first_each_one_whole() -> None:
    """The root conftest.py's order as a worker collects it: units by SECONDS (lesson 03 and then lesson 04,
    which reads from it, first), each unit's tests in order."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "notebooks"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=os.environ | {"PYTEST_XDIST_WORKER": "gw0"},
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    nodeids = [line for line in done.stdout.splitlines() if "::" in line]
    units = [parallel.unit(nodeid) for nodeid in nodeids]
    runs = runs_of(units)
    assert runs == parallel.ordered(units), runs  # each unit whole, longest first
    files = runs_of([nodeid.split("::")[0] for nodeid in nodeids])
    assert files[:2] == ["notebooks/03_resnet50_signs.ipynb", "notebooks/04_beyond_resnet50.ipynb"], files
    cells = [int(n.rsplit(" ", 1)[1]) for n in nodeids if n.startswith("notebooks/03_resnet50_signs.ipynb")]
    assert cells == sorted(cells)
