"""SIGNS: ``load_dataset`` and its three sources, one-hot labels and the input scaling.

Lessons: 00 (``load_dataset``, ``convert_to_one_hot``), 01 (``downsample``),
03 and 04 (``preprocess``); every lesson loads its data here. The sources:
the synthetic set (``resnet_course/synthetic.py``), the original course's
files and the Sign Language Digits photos (``resnet_course/digits.py``), the
last two read by ``resnet_course/signs_format.py``. The photos are shipped
in ``datasets/sign-language-digits/`` and are the default.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from resnet_course import digits
from resnet_course.constants import DATASETS_DIR, NUM_CLASSES, VALIDATION_FRACTION
from resnet_course.signs_format import TEST_FILE, TRAIN_FILE, DatasetError, read_signs_file
from resnet_course.synthetic import generate_signs

TRAIN_PER_CLASS = 180


TEST_PER_CLASS = 20


SYNTHETIC_FILE = "synthetic_signs_v3.npz"


# Version 3 (v2 drew two counting styles per class on colourful backgrounds).
# sha256 of the synthetic set (train x, train y, test x, test y bytes, in that
# order). The renderer uses only IEEE-exact arithmetic (+ - * / sqrt, min,
# max) and NumPy's frozen legacy RandomState, so this holds on every machine;
# tests/test_data.py regenerates the set and checks it.
SYNTHETIC_SHA256 = "0f1abf13523855ad00b34ec3c0bbaa56f51ecdd9b5d2f814bf91d5ff176f20ae"


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


def stratified_split(
    labels: np.ndarray, fraction: float = VALIDATION_FRACTION, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a training part and a validation part, the same share of every class in each.

    Of each class's ``n`` images, ``round(fraction * n)`` (at least 1, at most
    ``n - 1``) go to validation, drawn at random from ``seed``: the same
    labels and seed always give the same split.

    Args:
        labels: integer class labels of any shape, e.g. ``(1, m)`` or ``(m,)``.
        fraction: share of each class for validation, between 0 and 1.
        seed: seed of the draw.

    Returns:
        ``(train, validation)``: sorted indices into the labels, together each index once.
    """
    labels = np.asarray(labels).reshape(-1)
    if not 0 < fraction < 1:
        raise ValueError(f"stratified_split: fraction must lie between 0 and 1, found {fraction}")
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        if len(members) < 2:
            raise ValueError(f"stratified_split: class {c} has {len(members)} image, at least 2 are needed")
        n = min(max(1, round(fraction * len(members))), len(members) - 1)
        held.append(rng.choice(members, size=n, replace=False))
    validation = np.sort(np.concatenate(held))
    train = np.setdiff1d(np.arange(len(labels)), validation)
    return train, validation


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
        # A temporary file of its own, then one rename: two processes that generate the set at the same
        # time (two notebooks, two test workers) each write whole files, and a reader sees one of them.
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=f".{cache.stem}.", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
            os.chmod(tmp, 0o644)  # mkstemp makes it private
            os.replace(tmp, cache)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)  # only after a failure: the rename took it
    return x_train, y_train, x_test, y_test


SOURCES = ("synthetic", "signs", "digits")


# The photos shipped with the course: the default source, and the one the committed outputs come from
# (the root conftest.py and `tools/notebooks.py execute` set SIGNS_SOURCE to it).
SHIPPED_SOURCE = "digits"


def _folder(data_dir: str | os.PathLike[str] | None) -> Path:
    """``data_dir``, or the repository's ``datasets/`` when it is None."""
    return Path(data_dir) if data_dir is not None else DATASETS_DIR


def default_source(data_dir: str | os.PathLike[str] | None = None) -> str:
    """``load_dataset``'s source when none is given.

    The environment variable ``SIGNS_SOURCE`` when set, else ``"signs"`` when
    an original file is in ``data_dir``, else ``"digits"``: the photos shipped
    with the course.
    """
    directory = _folder(data_dir)
    chosen = os.environ.get("SIGNS_SOURCE", "").strip()  # cmd's `set X=y && ...` keeps a trailing space
    if chosen:
        return chosen
    return "signs" if (directory / TRAIN_FILE).exists() or (directory / TEST_FILE).exists() else SHIPPED_SOURCE


def available_sources(data_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """The sources ``load_dataset`` can use: the shipped photos and the drawn hands, and the original
    course's files once both are in ``data_dir``."""
    directory = _folder(data_dir)
    signs = all((directory / name).exists() for name in (TRAIN_FILE, TEST_FILE))
    return [SHIPPED_SOURCE, "synthetic", *(["signs"] if signs else [])]


def load_dataset(
    data_dir: str | os.PathLike[str] | None = None,
    verbose: bool = True,
    *,
    source: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load SIGNS-format data with the original course's signature and return values.

    ``source`` picks the data (default: ``default_source(data_dir)``):

    - ``"digits"`` (the default): real photos of hands showing 0-5 from the
      Sign Language Digits data set (Apache-2.0), shipped with the course in
      ``datasets/sign-language-digits/``. The first call checks every photo
      and caches 64x64 versions in ``data_dir``; 1033 training and 204 test
      images (34 per digit, see ``resnet_course/digits.py``). Later calls
      read only the cache.
    - ``"synthetic"``: the course's own drawn hands, generated on first use
      and cached in ``data_dir``; 1080 training and 120 test images.
    - ``"signs"``: the original course's photos, ``train_signs.h5`` and
      ``test_signs.h5`` in ``data_dir`` (only read); 1080 and 120. The
      default when one of them is there.

    ``data_dir`` defaults to the repository's ``datasets/``. Prints which
    source it used when ``verbose``.

    Returns:
        X_train_orig ``(m_train, 64, 64, 3)`` uint8, Y_train_orig ``(1, m_train)``
        int64, X_test_orig ``(m_test, 64, 64, 3)`` uint8, Y_test_orig
        ``(1, m_test)`` int64, classes ``(6,)``.

    Raises:
        DatasetError: an unknown source; only one of the two original files
            is present, or one is unreadable, lacks a dataset, or has the
            wrong shape, dtype or labels; the shipped photos are missing or
            differ from the published ones. The message names the file, the
            expected and the found.
    """
    directory = _folder(data_dir)
    source = source if source is not None else default_source(directory)
    if source not in SOURCES:
        raise DatasetError(f"unknown SIGNS source {source!r}: expected one of {', '.join(map(repr, SOURCES))}")
    if source == "synthetic":
        x_train, y_train, x_test, y_test = _synthetic_dataset(directory)
        classes = np.arange(NUM_CLASSES, dtype=np.int64)
        described = "the course's synthetic SIGNS set"
    else:
        if source == "signs":
            folder, described = directory, f"the original SIGNS files {TRAIN_FILE} and {TEST_FILE}"
            _require_both(folder, f"the original SIGNS data needs both {TRAIN_FILE} and {TEST_FILE} in {folder}")
        else:
            folder = directory / digits.DIGITS_CACHE
            described = f"the Sign Language Digits photos 0-5 ({digits.DIGITS_REPOSITORY})"
            if not folder.exists():
                digits.prepare_digits(folder)
            _require_both(folder, f"delete the folder {folder} to prepare the digits again")
        x_train, y_train, _ = read_signs_file(folder / TRAIN_FILE, "train")
        x_test, y_test, classes = read_signs_file(folder / TEST_FILE, "test")
    if verbose:
        print(f"load_dataset: source {source!r}, {described}")
        print(f"  train {len(x_train)} images, per class {np.bincount(y_train, minlength=NUM_CLASSES).tolist()}")
        print(f"  test  {len(x_test)} images, per class {np.bincount(y_test, minlength=NUM_CLASSES).tolist()}")
    return x_train, y_train.reshape(1, -1), x_test, y_test.reshape(1, -1), classes


def _require_both(folder: Path, remedy: str) -> None:
    """``DatasetError`` unless ``folder`` holds both SIGNS files."""
    present = [name for name in (TRAIN_FILE, TEST_FILE) if (folder / name).exists()]
    if len(present) < 2:
        lacking = " and ".join(name for name in (TRAIN_FILE, TEST_FILE) if name not in present)
        found = f"found {present[0]} but not {lacking}" if present else f"found neither {TRAIN_FILE} nor {TEST_FILE}"
        raise DatasetError(f"{folder}: {found}: {remedy}")
