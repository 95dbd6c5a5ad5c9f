"""The learner's environment: versions, devices and Graphviz, for the setup cells.

Lessons: 00 (``environment_report``), 02-03 (``has_graphviz``, through ``show_diagram``).
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
