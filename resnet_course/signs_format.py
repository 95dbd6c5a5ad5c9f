"""The original course's SIGNS file format (HDF5): the validated reader and the writer.

Lessons: every lesson, through ``load_dataset`` (``resnet_course/data.py``): the
original course's ``train_signs.h5`` / ``test_signs.h5`` are read here, and the
Sign Language Digits photos are cached in the same format
(``resnet_course/digits.py``), so both go through one reader.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import h5py
import numpy as np

from resnet_course.constants import IMAGE_SHAPE, NUM_CLASSES

TRAIN_FILE = "train_signs.h5"


TEST_FILE = "test_signs.h5"


class DatasetError(ValueError):
    """A SIGNS data file or archive is missing, unreadable, or not in the expected format."""


def read_signs_file(path: Path, prefix: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read and validate one SIGNS file (read-only): images ``(m, 64, 64, 3)`` uint8, labels ``(m,)``, classes ``(6,)``.

    ``prefix`` is ``"train"`` or ``"test"``: the file holds ``{prefix}_set_x``,
    ``{prefix}_set_y`` and ``list_classes``. Every problem raises
    ``DatasetError`` naming the file, the expected and the found.
    """
    keys = (f"{prefix}_set_x", f"{prefix}_set_y", "list_classes")
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in keys if k not in f]
            if missing:
                raise DatasetError(
                    f"{path}: missing dataset(s) {missing}; expected {list(keys)}, found {sorted(f.keys())}"
                )
            x, y, classes = (np.asarray(f[k][()]) for k in keys)
    except OSError as err:
        raise DatasetError(f"{path}: not a readable HDF5 file (truncated or corrupt?): {err}") from err
    if x.ndim != 4 or x.shape[1:] != IMAGE_SHAPE:
        raise DatasetError(f"{path}: {keys[0]} should have shape (m, 64, 64, 3), found {x.shape}")
    if x.dtype != np.uint8:
        raise DatasetError(f"{path}: {keys[0]} should be uint8 pixels, found dtype {x.dtype}")
    y = y.reshape(-1) if y.ndim == 2 and 1 in y.shape else y
    if y.shape != (x.shape[0],):
        raise DatasetError(f"{path}: {keys[1]} should have shape ({x.shape[0]},) to match {keys[0]}, found {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise DatasetError(f"{path}: {keys[1]} should hold integer labels, found dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= NUM_CLASSES):
        raise DatasetError(f"{path}: {keys[1]} labels should lie in 0..5, found values from {y.min()} to {y.max()}")
    if classes.shape != (NUM_CLASSES,):
        raise DatasetError(f"{path}: list_classes should have shape (6,), found {classes.shape}")
    return x, y.astype(np.int64), classes


def write_signs_files(
    directory: Path,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    attrs: dict[str, str],
) -> None:
    """Write ``train_signs.h5`` and ``test_signs.h5`` into a new folder ``directory``, all or nothing.

    Both files are written into a temporary folder beside ``directory``, which
    is then renamed to it, so a crash never leaves half a data set behind.
    ``attrs`` (e.g. source and licence) are stored on both files.
    """
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    staging.chmod(0o755)  # mkdtemp makes it private
    try:
        for prefix, (x, y) in (("train", train), ("test", test)):
            with h5py.File(staging / (TRAIN_FILE if prefix == "train" else TEST_FILE), "w") as f:
                f[f"{prefix}_set_x"] = x
                f[f"{prefix}_set_y"] = y
                f["list_classes"] = np.arange(NUM_CLASSES, dtype=np.int64)
                f.attrs.update(attrs)
        os.replace(staging, directory)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
