"""pytest set-up for the whole course (tests/ and the notebooks under nbval).

Every test, every subprocess and every notebook kernel runs offline: the
guard in tests/offline/sitecustomize.py refuses connections that leave the
machine. It is switched on here, before pytest starts any kernel, and
every one of them loads the synthetic SIGNS set.

`make test` runs the tests on every core with pytest-xdist (course.py passes
`-n` and `--dist loadscope`; tools/parallel.py says how the work is shared):
each worker runs whole test files and whole notebooks (one kernel each, in
order), the longest first; lesson 04 runs right after lesson 03, in the same
worker, as it reads the model 03 saves (parallel.READS). TensorFlow in each
worker, its kernels and subprocesses uses that worker's share of the cores.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "tools"))

import parallel  # tools/parallel.py

from resnet_course.data import SHIPPED_SOURCE

GUARD_DIR = Path(__file__).resolve().parent / "tests" / "offline"

os.environ["COURSE_OFFLINE"] = "1"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # as resnet_utils does, for tests that import TensorFlow first
# The notebooks' committed outputs are those of the shipped photos: the tests use them even when the
# original course's files are in datasets/ or SIGNS_SOURCE is set (tools/run_on_source.py runs the others).
os.environ["SIGNS_SOURCE"] = SHIPPED_SOURCE
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GUARD_DIR), os.environ.get("PYTHONPATH")]))

# The test process itself: load the guard module (it installs itself, as COURSE_OFFLINE is set).
_spec = importlib.util.spec_from_file_location("course_offline_guard", GUARD_DIR / "sitecustomize.py")
assert _spec is not None and _spec.loader is not None
_spec.loader.exec_module(importlib.util.module_from_spec(_spec))

# A pytest-xdist worker: TensorFlow (here, in kernels and in subprocesses) uses this worker's share of the cores.
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    for _name, _value in parallel.thread_env(int(os.environ["PYTEST_XDIST_WORKER_COUNT"]), parallel.cores()).items():
        os.environ.setdefault(_name, _value)

_BEFORE = pytest.StashKey[set[str]]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, the longest work units first (the scheduler hands them out in this order);
    each unit's tests keep their order. Every worker sorts alike, so their collections agree."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return
    rank = {unit: i for i, unit in enumerate(parallel.ordered(parallel.unit(item.nodeid) for item in items))}
    items.sort(key=lambda item: rank[parallel.unit(item.nodeid)])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadscope` with the course's work units (parallel.unit: whole files, or lesson 03 and then lesson
    04) in the collected order."""
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class CourseScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return parallel.unit(nodeid)

    config.option.loadscopereorder = False  # keep the collected order (longest first), not the most tests first
    return CourseScheduling(config, log)


LESSON_FOLDERS = ("notebooks", "student")


def _next_to_the_lessons() -> set[str]:
    """What notebooks/ and student/ hold (their entries, e.g. "notebooks/backup"), besides the lessons."""
    root = Path(__file__).resolve().parent
    return {
        f"{folder}/{p.name}" for folder in LESSON_FOLDERS for p in (root / folder).iterdir() if p.suffix != ".ipynb"
    }


def pytest_configure(config: pytest.Config) -> None:
    """The controller (or the only process) notes what lies next to the lessons, for pytest_sessionfinish."""
    if not hasattr(config, "workerinput"):
        config.stash[_BEFORE] = _next_to_the_lessons()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller (or the only process) fails the run when a lesson wrote a file next to the lessons:
    what they make belongs in outputs/ (resnet_course.environment.output_path)."""
    if hasattr(session.config, "workerinput"):
        return
    before: set[str] = session.config.stash.get(_BEFORE, set())
    new = sorted(_next_to_the_lessons() - before)
    if new:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = f"written next to the lessons during this run (it belongs in outputs/, see output_path): {new}"
        if reporter is not None:
            reporter.write_line(f"FAILED: {message}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
