"""The course's shapes, sizes and paths, shared by every module.

Used by every lesson (00-04), through the other modules.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]
# Generated data and the learner's own data files (git-ignored).
DATASETS_DIR = REPO_DIR / "datasets"
# What the lessons write: saved models, diagrams, BackupAndRestore folders, test images (git-ignored);
# COURSE_OUTPUTS moves it (tools/run_on_source.py does, so that its runs leave your outputs/ alone).
OUTPUTS_DIR = Path(os.environ.get("COURSE_OUTPUTS") or REPO_DIR / "outputs")
# SIGNS images: 64x64 RGB, hands showing 0 to 5 fingers.
IMAGE_SHAPE = (64, 64, 3)
NUM_CLASSES = 6
# The batch size of notebook 03's recipe (and of notebook 04's comparison and the benchmark).
BATCH_SIZE = 32
# The epochs of notebook 03's recipe (and of notebook 04's comparison and the benchmark).
RECIPE_EPOCHS = 9
# The share of each class's training images held out for validation (lessons 03 and 04).
VALIDATION_FRACTION = 0.1
