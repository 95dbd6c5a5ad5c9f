"""The learner's environment: versions, devices, Graphviz, and where the lessons write their files.

Lessons: 00 (``environment_report``, ``machine_speed``, ``lesson_minutes``), 02-03 (``has_graphviz``,
through ``show_diagram``), 02-04 (``output_path``).
"""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from resnet_course.constants import BATCH_SIZE, IMAGE_SHAPE, NUM_CLASSES, OUTPUTS_DIR
from resnet_course.models import ResNet50
from resnet_course.training import compile_recipe, training_speed


def output_path(name: str) -> Path:
    """``outputs/<name>`` in the course folder, where the lessons write what they make (a saved model, a
    diagram, a backup, test images), so that ``notebooks/`` holds the lessons only. The folder above it is
    created when missing; ``outputs/`` is ignored by git, and deleting it loses only what the lessons
    make again."""
    path = OUTPUTS_DIR / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


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
# (01: 205 s, 02: 6 s, 03: 320 s, 04: 402 s, 05: 151 s, its worker
# processes included; 04 took 375 s in the execution before, so expect some
# 10 % of spread). Elsewhere a lesson takes about this work divided by that
# machine's own speed: an estimate, since the lessons' other networks and the
# input pipeline need not scale alike. Lesson 06 was measured the same way on a
# 2-core AMD EPYC (family 25, model 1) on 2026-12-03: 325 s, beside another
# notebook, at 30.9 images/s (`machine_speed`).
LESSON_WORK = {"01": 11_900, "02": 350, "03": 18_600, "04": 23_400, "05": 8_800, "06": 10_000}


def lesson_minutes(speed: float) -> dict[str, float]:
    """Estimated minutes to execute lessons 01-06 where the course ResNet-50 trains at ``speed`` images/s."""
    if speed <= 0:
        raise ValueError(f"lesson_minutes: speed must be positive, found {speed}")
    return {lesson: work / speed / 60 for lesson, work in LESSON_WORK.items()}


def machine_speed() -> float:
    """Images per second at which the course's ResNet-50 trains on this machine, for ``lesson_minutes``.

    Builds the course's ResNet-50 (lesson 03's network), compiles it with lesson
    03's recipe and times training steps on random images with ``training_speed``
    (a warm-up step, then 4 timed batches of ``BATCH_SIZE``). Lesson 00 calls it
    before the learner has written ResNet-50; the network is not returned.
    """
    steps = 4
    images = np.random.RandomState(0).uniform(size=((steps + 1) * BATCH_SIZE, *IMAGE_SHAPE)).astype("float32")
    labels = keras.utils.to_categorical(np.arange(len(images)) % NUM_CLASSES, NUM_CLASSES)
    probe = ResNet50()
    compile_recipe(probe, epochs=1, steps_per_epoch=1)
    return training_speed(probe, images, labels, batch_size=BATCH_SIZE, steps=steps)
