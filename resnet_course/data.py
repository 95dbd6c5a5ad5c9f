"""SIGNS: the readers and sources behind ``load_dataset``, one-hot labels and the input scaling.

Lessons: 00 (``load_dataset``, ``convert_to_one_hot``), 01 (``downsample``),
03 and 04 (``preprocess``); every lesson loads its data here.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import zipfile
from pathlib import Path

import h5py
import numpy as np

from resnet_course.constants import DATASETS_DIR, IMAGE_SHAPE, NUM_CLASSES
from resnet_course.synthetic import generate_signs

TRAIN_PER_CLASS = 180


TEST_PER_CLASS = 20


ORIGINAL_TRAIN = "train_signs.h5"


ORIGINAL_TEST = "test_signs.h5"


SYNTHETIC_FILE = "synthetic_signs_v2.npz"


# sha256 of the synthetic set (train x, train y, test x, test y bytes, in that
# order). The renderer uses only IEEE-exact arithmetic (+ - * / sqrt, min,
# max) and NumPy's frozen legacy RandomState, so this holds on every machine;
# tests/test_data.py regenerates the set and checks it.
SYNTHETIC_SHA256 = "578f45544a4aad91a111004f18441924860b8a6e2bace26743e8419c3a98532e"


class DatasetError(ValueError):
    """A SIGNS data file is missing, unreadable, or not in the expected format."""


def convert_to_one_hot(Y: np.ndarray, C: int) -> np.ndarray:
    """One-hot encode integer labels, as in the original course.

    Args:
        Y: integer labels of any shape, e.g. ``(1, m)``; values in ``0..C-1``.
        C: number of classes.

    Returns:
        float array of shape ``(C, m)``; transpose it for Keras, ``(m, C)``.
    """
    labels = np.asarray(Y).reshape(-1)
    if labels.size and (labels.min() < 0 or labels.max() >= C):
        raise ValueError(
            f"convert_to_one_hot: labels must lie in 0..{C - 1}, found values from {labels.min()} to {labels.max()}"
        )
    return np.eye(C)[labels].T


def preprocess(images: np.ndarray) -> np.ndarray:
    """uint8 pixels ``(..., 64, 64, 3)`` -> float32 in [0, 1]: the network's input, in training and after."""
    return np.asarray(images, dtype=np.float32) / 255.0


def downsample(images: np.ndarray, size: int) -> np.ndarray:
    """Scale uint8 images ``(m, 64, 64, 3)`` to float32 ``(m, size, size, 3)`` in [0, 1] by area averaging.

    ``size`` must divide 64 (32, 16, ...): each output pixel is the mean of a block of input pixels.
    """
    n = images.shape[1]
    if size < 1 or n % size:
        raise ValueError(f"downsample: size must divide {n} (e.g. 32 or 16), found {size}")
    k = n // size
    blocks = np.asarray(images, dtype=np.float32).reshape(len(images), size, k, size, k, images.shape[-1])
    return blocks.mean(axis=(2, 4)) / 255.0


def _fingerprint(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for a in arrays:
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()


def _synthetic_dataset(data_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The course's synthetic set, from the cache file or generated into it."""
    cache = data_dir / SYNTHETIC_FILE
    if cache.exists():
        try:
            with np.load(cache) as f:
                arrays = (f["x_train"], f["y_train"], f["x_test"], f["y_test"])
            if _fingerprint(*arrays) == SYNTHETIC_SHA256:
                return arrays
        except (OSError, KeyError, ValueError, zipfile.BadZipFile):
            pass  # a damaged cache of ours: regenerate it below
    x_train, y_train = generate_signs(TRAIN_PER_CLASS, seed=0, split=0)
    x_test, y_test = generate_signs(TEST_PER_CLASS, seed=0, split=1)
    with contextlib.suppress(OSError):  # a read-only checkout still works, uncached
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        os.replace(tmp, cache)
    return x_train, y_train, x_test, y_test


def _read_original(path: Path, prefix: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read and validate one original-course SIGNS file (read-only)."""
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


def load_dataset(
    data_dir: str | os.PathLike[str] | None = None, verbose: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load SIGNS with the original course's signature and return values.

    Uses the original course files ``train_signs.h5`` and ``test_signs.h5``
    when both are in ``data_dir`` (default: the repository's ``datasets/``);
    otherwise the course's synthetic SIGNS set (generated on first use and
    cached in ``data_dir``). Prints which source it used when ``verbose``.

    Returns:
        X_train_orig ``(1080, 64, 64, 3)`` uint8, Y_train_orig ``(1, 1080)``
        int64, X_test_orig ``(120, 64, 64, 3)`` uint8, Y_test_orig
        ``(1, 120)`` int64, classes ``(6,)``.

    Raises:
        DatasetError: only one of the two original files is present, or one
            is unreadable, lacks a dataset, or has the wrong shape, dtype or
            labels. The message names the file, the expected and the found.
    """
    directory = Path(data_dir) if data_dir is not None else DATASETS_DIR
    train_path, test_path = directory / ORIGINAL_TRAIN, directory / ORIGINAL_TEST
    if train_path.exists() or test_path.exists():
        if not (train_path.exists() and test_path.exists()):
            found, lacking = (train_path, test_path) if train_path.exists() else (test_path, train_path)
            raise DatasetError(
                f"found {found} but not {lacking}: the original SIGNS data needs both "
                f"{ORIGINAL_TRAIN} and {ORIGINAL_TEST} in {directory}"
            )
        x_train, y_train, _ = _read_original(train_path, "train")
        x_test, y_test, classes = _read_original(test_path, "test")
        source = f"the original SIGNS files {ORIGINAL_TRAIN} and {ORIGINAL_TEST}"
    else:
        x_train, y_train, x_test, y_test = _synthetic_dataset(directory)
        classes = np.arange(NUM_CLASSES, dtype=np.int64)
        source = "the course's synthetic SIGNS set (no original files in datasets/)"
    if verbose:
        print(f"load_dataset: using {source}")
    return x_train, y_train.reshape(1, -1), x_test, y_test.reshape(1, -1), classes
