"""Shared helpers for the ResNet course notebooks.

Every notebook imports what it needs from here by name, for example::

    from resnet_utils import load_dataset, convert_to_one_hot

Contents
--------
- Data: ``load_dataset`` (original SIGNS files when present, else the course's
  own synthetic SIGNS set), ``generate_signs`` (the numpy-only renderer) and
  ``convert_to_one_hot``.
- Environment: ``environment_report`` and ``has_graphviz``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import shutil
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

# TensorFlow prints its C++ log lines straight to file descriptor 2, which a
# Jupyter kernel copies into the notebook's outputs. Level 3 keeps them quiet;
# the few lines TensorFlow writes before its logger starts (the oneDNN notice)
# are silenced by redirecting the descriptor while it is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def _stderr_fd_silenced() -> Iterator[None]:
    """Send OS-level stderr (fd 2) to /dev/null inside the ``with`` block."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


with _stderr_fd_silenced():
    import keras
    import tensorflow as tf

import h5py  # noqa: E402  (imported after TensorFlow on purpose, see above)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = [
    "DATASETS_DIR",
    "IMAGE_SHAPE",
    "NUM_CLASSES",
    "DatasetError",
    "convert_to_one_hot",
    "environment_report",
    "generate_signs",
    "has_graphviz",
    "load_dataset",
    "plot_examples",
]

REPO_DIR = Path(__file__).resolve().parent
DATASETS_DIR = REPO_DIR / "datasets"
IMAGE_SHAPE = (64, 64, 3)
NUM_CLASSES = 6
TRAIN_PER_CLASS = 180
TEST_PER_CLASS = 20

# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

ORIGINAL_TRAIN = "train_signs.h5"
ORIGINAL_TEST = "test_signs.h5"
SYNTHETIC_FILE = "synthetic_signs_v1.npz"
# sha256 of the synthetic set (train x, train y, test x, test y bytes, in that
# order). The renderer uses only IEEE-exact arithmetic (+ - * / sqrt, min,
# max) and NumPy's frozen legacy RandomState, so this holds on every machine;
# tests/test_data.py regenerates the set and checks it.
SYNTHETIC_SHA256 = "e6e7a5b8c799e31eaa06400c3057aebe42c879d820840d69d5a6277f73f57dfa"


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
            f"convert_to_one_hot: labels must lie in 0..{C - 1}, "
            f"found values from {labels.min()} to {labels.max()}"
        )
    return np.eye(C)[labels].T


def _capsule(u: np.ndarray, v: np.ndarray, a: tuple[float, float], b: tuple[float, float], r: float) -> np.ndarray:
    """Signed distance from the points (u, v) to the segment a-b thickened by r."""
    pu, pv = u - a[0], v - a[1]
    bu, bv = b[0] - a[0], b[1] - a[1]
    h = np.clip((pu * bu + pv * bv) / (bu * bu + bv * bv), 0.0, 1.0)
    du, dv = pu - bu * h, pv - bv * h
    return np.sqrt(du * du + dv * dv) - r


def _rounded_box(u: np.ndarray, v: np.ndarray, half_w: float, half_h: float, r: float) -> np.ndarray:
    """Signed distance to a box centred at the origin with rounded corners."""
    qu = np.abs(u) - (half_w - r)
    qv = np.abs(v) - (half_h - r)
    outside = np.sqrt(np.maximum(qu, 0.0) ** 2 + np.maximum(qv, 0.0) ** 2)
    return outside + np.minimum(np.maximum(qu, qv), 0.0) - r


def _direction(t: float) -> tuple[float, float]:
    """(cos, sin) of the angle 2*atan(t), by arithmetic alone (no libm)."""
    d = 1.0 + t * t
    return (1.0 - t * t) / d, 2.0 * t / d


def _blur(img: np.ndarray) -> np.ndarray:
    """One pass of the separable [1, 2, 1] / 4 kernel, edges replicated."""
    p = np.pad(img, ((1, 1), (1, 1), (0, 0)), mode="edge")
    h = (p[:, :-2] + 2.0 * p[:, 1:-1] + p[:, 2:]) * 0.25
    return (h[:-2] + 2.0 * h[1:-1] + h[2:]) * 0.25


def _upsample(grid: np.ndarray, n: int) -> np.ndarray:
    """Bilinear upsampling of a ``(g, g, c)`` grid to ``(n, n, c)``."""
    g = grid.shape[0]
    pos = (np.arange(n) + 0.5) * ((g - 1) / n)
    i0 = np.minimum(pos.astype(np.int64), g - 2)
    f = pos - i0
    rows = grid[i0] * (1.0 - f)[:, None, None] + grid[i0 + 1] * f[:, None, None]
    return rows[:, i0] * (1.0 - f)[None, :, None] + rows[:, i0 + 1] * f[None, :, None]


# Hand geometry in "hand units" (the palm is about 0.6 wide): base point,
# length and tilt of the index, middle, ring and little finger.
_FINGER_BASES = ((-0.22, 0.22), (-0.075, 0.25), (0.075, 0.25), (0.22, 0.22))
_FINGER_LENGTHS = (0.56, 0.64, 0.60, 0.48)
_FINGER_TILTS = (-0.12, -0.04, 0.04, 0.12)
# Which fingers are raised (0 is the thumb, 1 the index ... 4 the little
# finger) for each count: the two ways people count on their fingers.
_RAISED: tuple[tuple[frozenset[int], ...], ...] = (
    (frozenset(),),
    (frozenset({1}), frozenset({0})),
    (frozenset({1, 2}), frozenset({0, 1})),
    (frozenset({1, 2, 3}), frozenset({0, 1, 2})),
    (frozenset({1, 2, 3, 4}), frozenset({0, 1, 2, 3})),
    (frozenset({0, 1, 2, 3, 4}),),
)
_LIGHT_SKIN = np.array([0.96, 0.80, 0.69])
_DARK_SKIN = np.array([0.38, 0.24, 0.16])


def _render_sign(count: int, rs: np.random.RandomState) -> np.ndarray:
    """Draw one 64x64 RGB hand showing ``count`` fingers; returns uint8."""
    n = IMAGE_SHAPE[0]
    ys, xs = np.mgrid[0:n, 0:n] + 0.5
    # Skin tone, and a background colour that differs from it.
    skin_t = rs.random_sample()
    skin = _LIGHT_SKIN * (1 - skin_t) + _DARK_SKIN * skin_t
    skin = np.clip(skin + (rs.random_sample(3) - 0.5) * 0.08, 0.0, 1.0)
    bg = rs.random_sample(3) * 0.9 + 0.05
    while np.abs(bg - skin).sum() <= 0.6:
        bg = rs.random_sample(3) * 0.9 + 0.05
    texture = _upsample(rs.random_sample((5, 5, 3)) - 0.5, n) * (rs.random_sample() * 0.12)
    g = rs.random_sample(2) - 0.5
    gradient = ((xs - n / 2) * g[0] + (ys - n / 2) * g[1]) / n * (rs.random_sample() * 0.2)
    img = bg[None, None, :] + texture + gradient[:, :, None]

    # Pose: rotation (about +-15 degrees), scale, position, left or right hand.
    c, s = _direction((rs.random_sample() - 0.5) * 0.27)
    scale = 34.0 + rs.random_sample() * 6.0  # pixels per hand unit
    cx = n / 2 + (rs.random_sample() - 0.5) * 8.0
    cy = n * 0.6 + (rs.random_sample() - 0.5) * 8.0
    mirror = 1.0 if rs.random_sample() < 0.5 else -1.0
    dx, dy = xs - cx, ys - cy
    u = (c * dx + s * dy) / scale * mirror
    v = (s * dx - c * dy) / scale
    light = rs.random_sample(2) - 0.5
    lighting = 0.9 + (dx * light[0] + dy * light[1]) / n * 0.6

    # Parts as (signed distance, half thickness), drawn back to front:
    # forearm (reaching past the image edge), palm, folded fingers, raised ones.
    spread = 0.7 + rs.random_sample() * 0.6
    raised = _RAISED[count][rs.randint(len(_RAISED[count]))]
    back = [
        (_capsule(u, v, (0.0, -0.2), (0.0, -4.0), 0.24), 0.24),
        (_rounded_box(u, v, 0.30, 0.28, 0.12), 0.28),
    ]
    folded, extended = [], []
    for k, ((bu, bv), length, tilt) in enumerate(zip(_FINGER_BASES, _FINGER_LENGTHS, _FINGER_TILTS, strict=True)):
        r = 0.085 + rs.random_sample() * 0.01
        if k + 1 in raised:
            fc, fs = _direction(tilt * spread + (rs.random_sample() - 0.5) * 0.08)
            reach = length * (0.85 + rs.random_sample() * 0.3)
            extended.append((_capsule(u, v, (bu, bv), (bu + fs * reach, bv + fc * reach), r), r))
        else:  # a knuckle at the top of the palm
            folded.append((_capsule(u, v, (bu, bv - 0.04), (bu, bv + 0.02), r + 0.01), r))
    if 0 in raised:
        tc, ts = _direction(-0.45 - rs.random_sample() * 0.3)
        reach = 0.42 * (0.85 + rs.random_sample() * 0.3)
        extended.append((_capsule(u, v, (-0.28, -0.08), (-0.28 + ts * reach, -0.08 + tc * reach), 0.085), 0.085))
    else:  # the thumb folded across the palm
        folded.append((_capsule(u, v, (-0.28, -0.1), (-0.04, 0.02), 0.075), 0.075))

    for dist, half in back + folded + extended:
        coverage = np.clip(0.5 - dist * scale, 0.0, 1.0)[:, :, None]  # anti-aliased edge
        shade = (0.6 + 0.4 * np.clip(-dist / half * 1.6, 0.0, 1.0)) * lighting
        img = img * (1.0 - coverage) + skin[None, None, :] * shade[:, :, None] * coverage
    for _ in range(rs.randint(0, 2)):
        img = _blur(img)
    img = img + (rs.random_sample(img.shape) - 0.5) * (rs.random_sample() * 0.05)
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


def generate_signs(per_class: int, seed: int = 0, split: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Render a balanced synthetic SIGNS set with NumPy alone.

    Each image is a hand (forearm from an image edge, palm, ``label`` raised
    fingers, the others folded as knuckles) with a random pose, scale,
    position, finger spread and length, choice of raised fingers, skin tone,
    lighting, background colour and texture, blur and noise.

    Args:
        per_class: images per class (6 classes).
        seed: base seed; the same ``(seed, split)`` gives byte-identical arrays
            on any machine.
        split: stream number, so train (0) and test (1) never share images.

    Returns:
        ``X`` of shape ``(6 * per_class, 64, 64, 3)`` uint8 and ``Y`` of shape
        ``(6 * per_class,)`` int64, in shuffled order.
    """
    if per_class < 1:
        raise ValueError(f"generate_signs: per_class must be at least 1, found {per_class}")
    labels = np.repeat(np.arange(NUM_CLASSES, dtype=np.int64), per_class)
    labels = labels[np.random.RandomState([seed, split]).permutation(labels.size)]
    images = np.stack([_render_sign(int(y), np.random.RandomState([seed, split, i])) for i, y in enumerate(labels)])
    return images, labels


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


def plot_examples(X: np.ndarray, Y: np.ndarray, per_class: int = 8) -> Figure:
    """A grid with the first ``per_class`` images of each class, one row per class.

    Args:
        X: images ``(m, 64, 64, 3)``, uint8 or floats in [0, 1].
        Y: labels ``(m,)`` or ``(1, m)``.
        per_class: columns of the grid.
    """
    labels = np.asarray(Y).reshape(-1)
    classes = np.unique(labels)
    fig, axes = plt.subplots(
        len(classes), per_class, figsize=(per_class * 1.1, len(classes) * 1.2), squeeze=False, facecolor="white"
    )
    for row, label in zip(axes, classes, strict=True):
        picks = np.flatnonzero(labels == label)[:per_class]
        for ax in row:
            ax.axis("off")
        for ax, i in zip(row, picks, strict=False):
            ax.imshow(X[i])
        row[0].set_title(f"class {label}", loc="left", fontsize=9)
    fig.suptitle("SIGNS: the first images of each class (label = raised fingers)")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------


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
        "graphviz": "found" if has_graphviz() else "missing (diagrams are skipped; run `make test` as root or see README)",
    }
