"""Tests for resnet_course.environment and resnet_course.quiet: the report, Graphviz, and a quiet import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from resnet_course import environment
from resnet_course.constants import BATCH_SIZE, IMAGE_SHAPE, NUM_CLASSES
from resnet_course.environment import (
    LESSON_WORK,
    environment_report,
    has_graphviz,
    lesson_minutes,
    machine_speed,
)


def test_environment_report_names_versions_and_graphviz() -> None:
    report = environment_report()
    assert report["python"] == ".".join(map(str, sys.version_info[:3]))
    assert report["keras"].startswith("3.")
    assert report["graphviz"].startswith("found" if has_graphviz() else "missing")


def test_has_graphviz_follows_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not has_graphviz()
    dot = tmp_path / "dot"
    dot.write_text("#!/bin/sh\n")
    dot.chmod(0o755)
    assert has_graphviz()


ONEDNN = "from tensorflow.python.util import _pywrap_util_port\nprint(_pywrap_util_port.IsMklEnabled())\n"


def test_importing_resnet_utils_is_quiet_and_changes_only_what_it_documents() -> None:
    """No TensorFlow line on stderr; fd 2 works afterwards; the variables, the logger level and oneDNN as
    documented (TensorFlow's own answer to whether its oneDNN kernels are on)."""
    code = (
        "import logging, os, sys\n"
        "import resnet_utils\n"
        "import tensorflow as tf\n"
        "print(os.environ['TF_CPP_MIN_LOG_LEVEL'], os.environ['TF_ENABLE_ONEDNN_OPTS'])\n"
        "print(logging.getLevelName(tf.get_logger().level))\n"
        "os.write(2, b'fd 2 still works\\n')\n"
    ) + ONEDNN
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3", "1", "ERROR", "True"]
    assert done.stderr == "fd 2 still works\n", done.stderr


def test_an_explicit_log_level_and_onednn_choice_are_kept() -> None:
    code = "import os\nimport resnet_utils\nprint(os.environ['TF_CPP_MIN_LOG_LEVEL'])\n" + ONEDNN
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "1", "TF_ENABLE_ONEDNN_OPTS": "0"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.stdout.split() == ["1", "False"], done.stderr[-2000:]


def test_lesson_minutes_scale_with_the_machine_speed() -> None:
    assert list(LESSON_WORK) == ["01", "02", "03", "04", "05", "06"] and all(work > 0 for work in LESSON_WORK.values())
    slow, fast = lesson_minutes(10.0), lesson_minutes(100.0)
    assert all(np.isclose(slow[k], 10 * fast[k]) for k in LESSON_WORK)
    assert np.isclose(fast["03"], LESSON_WORK["03"] / 100 / 60)
    with pytest.raises(ValueError, match="found 0"):
        lesson_minutes(0)


def test_machine_speed_times_the_course_resnet50_compiled_with_the_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    """What it times, with a spy in place of training_speed (lesson 00 runs the real one under nbval,
    on the real network: building and tracing ResNet-50 twice would only double its 30 s)."""
    seen: dict[str, Any] = {}

    def spy(model: keras.Model, x: np.ndarray, y: np.ndarray, batch_size: int, steps: int) -> float:
        seen.update(model=model, x=x.shape, y=y.shape, batch_size=batch_size, steps=steps)
        return 42.0

    monkeypatch.setattr(environment, "training_speed", spy)
    assert machine_speed() == 42.0
    model = seen.pop("model")
    assert model.count_params() == 23_600_006 and model.input_shape == (None, *IMAGE_SHAPE)  # lesson 03's network
    assert isinstance(model.loss, keras.losses.CategoricalCrossentropy) and model.loss.label_smoothing == 0.1
    assert seen == {
        "x": (5 * BATCH_SIZE, *IMAGE_SHAPE),
        "y": (5 * BATCH_SIZE, NUM_CLASSES),
        "batch_size": BATCH_SIZE,
        "steps": 4,
    }


def test_output_path_is_in_the_ignored_outputs_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from resnet_course.constants import OUTPUTS_DIR, REPO_DIR

    assert OUTPUTS_DIR == REPO_DIR / "outputs"
    ignored = subprocess.run(["git", "check-ignore", "-q", "outputs/model.keras"], cwd=REPO_DIR, check=False)
    assert ignored.returncode == 0, "outputs/ must be ignored by git (.gitignore)"
    monkeypatch.setattr(environment, "OUTPUTS_DIR", tmp_path / "outputs")
    path = environment.output_path("backup/resnet50_signs")
    assert path == tmp_path / "outputs" / "backup" / "resnet50_signs"
    assert path.parent.is_dir() and not path.exists()  # the folder above it is made; the file is the caller's


def test_course_outputs_moves_the_outputs_folder(tmp_path: Path) -> None:
    """tools/run_on_source.py sets COURSE_OUTPUTS, so that its scratch runs leave the learner's outputs/ alone."""
    code = "from resnet_course.constants import OUTPUTS_DIR; print(OUTPUTS_DIR)"
    env = os.environ | {"COURSE_OUTPUTS": str(tmp_path / "scratch")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == str(tmp_path / "scratch")
