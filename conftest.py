"""pytest set-up for the whole course (tests/ and the notebooks under nbval).

Every test, every subprocess and every notebook kernel runs offline: the
guard in tests/offline/sitecustomize.py refuses connections that leave the
machine. It is switched on here, before pytest starts any kernel, and
every one of them loads the synthetic SIGNS set.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

GUARD_DIR = Path(__file__).resolve().parent / "tests" / "offline"

os.environ["COURSE_OFFLINE"] = "1"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
# The notebooks' committed outputs are those of the synthetic set: the tests use it even when
# real photos are in datasets/ or SIGNS_SOURCE is set (tools/run_on_source.py runs the others).
os.environ["SIGNS_SOURCE"] = "synthetic"
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GUARD_DIR), os.environ.get("PYTHONPATH")]))

# The test process itself: load the guard module (it installs itself, as COURSE_OFFLINE is set).
_spec = importlib.util.spec_from_file_location("course_offline_guard", GUARD_DIR / "sitecustomize.py")
assert _spec is not None and _spec.loader is not None
_spec.loader.exec_module(importlib.util.module_from_spec(_spec))
