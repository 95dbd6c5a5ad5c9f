"""The learner's environment: versions, devices and Graphviz, for the setup cells.

Lessons: 00 (``environment_report``, ``lesson_minutes``), 02-03 (``has_graphviz``, through ``show_diagram``).
"""

from __future__ import annotations

import os
import platform
import shutil

import keras
import numpy as np
import tensorflow as tf


def has_graphviz() -> bool:
    """True when Graphviz's ``dot`` program, which ``keras.utils.plot_model`` needs, is on PATH."""
    return shutil.which("dot") is not None


def environment_report() -> dict[str, str]:
    """Versions and devices of this environment, for the setup cells."""
    gpus = tf.config.list_physical_devices("GPU")
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "keras backend": keras.backend.backend(),
        "numpy": np.__version__,
        "devices": f"{len(gpus)} GPU(s)" if gpus else f"CPU only ({os.cpu_count()} cores)",
        "graphviz": "found"
        if has_graphviz()
        else "missing (diagrams are skipped; run `make test` as root or see README)",
    }


# Each lesson's work, in images of the course ResNet-50's training step: the
# seconds its notebook took to execute (`tools/notebooks.py execute`) times
# `training_speed` of the course ResNet-50 (58.1 images/s), both measured on
# the same machine, a 2-core Intel Xeon with AVX-512 and AMX, on 2026-11-29
# (01: 148 s, 02: 7 s, 03: 341 s, 04: 543 s). Elsewhere a lesson takes about
# this work divided by that machine's own speed: an estimate, since the
# lessons' other networks and the input pipeline need not scale alike.
LESSON_WORK = {"01": 8_600, "02": 410, "03": 19_800, "04": 31_500}


def lesson_minutes(speed: float) -> dict[str, float]:
    """Estimated minutes to execute lessons 01-04 where the course ResNet-50 trains at ``speed`` images/s."""
    if speed <= 0:
        raise ValueError(f"lesson_minutes: speed must be positive, found {speed}")
    return {lesson: work / speed / 60 for lesson, work in LESSON_WORK.items()}
