"""Shared helpers for the ResNet course notebooks.

Every notebook imports what it needs from here by name, for example::

    from resnet_utils import load_dataset, convert_to_one_hot

Contents
--------
- Data: ``load_dataset`` (original SIGNS files when present, else the course's
  own synthetic SIGNS set), ``generate_signs`` (the numpy-only renderer) and
  ``convert_to_one_hot``.
- Blocks: the reference ``identity_block`` and ``convolutional_block`` of
  ResNet v1 (bottleneck), and the graded checks ``check_identity_block`` and
  ``check_convolutional_block`` that name a learner's mistake.
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

# TensorFlow's Python-side warnings (e.g. "5 out of the last 17 calls ... triggered
# tf.function retracing") would land in the outputs too.
tf.get_logger().setLevel("ERROR")

import h5py  # noqa: E402  (imported after TensorFlow on purpose, see above)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = [
    "BASIC_HINTS",
    "BASIC_STAGES",
    "DATASETS_DIR",
    "HINTS",
    "IMAGE_SHAPE",
    "NUM_CLASSES",
    "RESNET50_STAGES",
    "DatasetError",
    "ImageError",
    "ResNet50",
    "accuracy",
    "augmenter",
    "basic_block",
    "basic_resnet",
    "check_convolutional_block",
    "check_identity_block",
    "check_residual_block",
    "cifar_net",
    "compile_recipe",
    "confusion_matrix",
    "convert_to_one_hot",
    "convolutional_block",
    "downsample",
    "environment_report",
    "final_error",
    "forward_flops",
    "generate_signs",
    "grad_cam",
    "gradient_norms",
    "has_graphviz",
    "identity_block",
    "keras_applications_name",
    "load_dataset",
    "load_image",
    "plot_confusion",
    "plot_examples",
    "plot_grad_cam",
    "plot_history",
    "plot_misclassified",
    "plot_prediction",
    "preact_block",
    "predict_image",
    "preprocess",
    "randomize_batchnorm",
    "render_sign",
    "run_degradation",
    "show_diagram",
    "train_dataset",
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
_FINGER_TILTS = (-0.30, -0.10, 0.10, 0.30)
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


def _render_sign(count: int, rs: np.random.RandomState, size: int = IMAGE_SHAPE[0]) -> np.ndarray:
    """Draw one ``size`` x ``size`` RGB hand showing ``count`` fingers; returns uint8."""
    n = size
    zoom = n / IMAGE_SHAPE[0]  # exactly 1.0 at 64x64, so the course data stays byte-identical
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
    scale = (34.0 + rs.random_sample() * 6.0) * zoom  # pixels per hand unit
    cx = n / 2 + (rs.random_sample() - 0.5) * 8.0 * zoom
    cy = n * 0.6 + (rs.random_sample() - 0.5) * 8.0 * zoom
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
# The degradation experiment (notebook 01): CIFAR-style plain and residual nets
# ---------------------------------------------------------------------------


def basic_block(
    X: keras.KerasTensor, filters: int, s: int = 1, residual: bool = True, name: str = "block"
) -> keras.KerasTensor:
    """Two 3x3 conv-BN layers (stride ``s`` in the first), with or without a shortcut.

    Plain: ``ReLU(BN(conv(ReLU(BN(conv(X))))))``. Residual: the same, with the
    input added before the last ReLU; where the shape changes (``s > 1`` or a
    new number of channels) the shortcut is a 1x1 conv with stride ``s`` + BN
    (``{name}_proj``, ``{name}_proj_bn``), as in He et al. (2016), option B.

    Layers are named ``{name}_conv1``, ``{name}_bn1``, ``{name}_conv2``,
    ``{name}_bn2``, ``{name}_add`` and ``{name}_out``. BatchNorm's moving
    averages use momentum 0.9 (PyTorch's and the paper's Torch default), so
    that they keep up over the short trainings of notebook 01.
    """
    L = keras.layers
    conv = {"padding": "same", "use_bias": False, "kernel_initializer": "he_normal"}
    Y = L.Conv2D(filters, 3, strides=s, name=f"{name}_conv1", **conv)(X)
    Y = L.BatchNormalization(momentum=0.9, name=f"{name}_bn1")(Y)
    Y = L.Activation("relu", name=f"{name}_relu1")(Y)
    Y = L.Conv2D(filters, 3, name=f"{name}_conv2", **conv)(Y)
    Y = L.BatchNormalization(momentum=0.9, name=f"{name}_bn2")(Y)
    if residual:
        shortcut = X
        if s != 1 or X.shape[-1] != filters:
            shortcut = L.Conv2D(filters, 1, strides=s, name=f"{name}_proj", **conv)(X)
            shortcut = L.BatchNormalization(momentum=0.9, name=f"{name}_proj_bn")(shortcut)
        Y = L.Add(name=f"{name}_add")([Y, shortcut])
    return L.Activation("relu", name=f"{name}_out")(Y)


def cifar_net(
    depth: int,
    residual: bool,
    input_shape: tuple[int, int, int] = (32, 32, 3),
    classes: int = NUM_CLASSES,
    widths: tuple[int, int, int] = (16, 32, 64),
) -> keras.Model:
    """The paper's CIFAR-10 network (He et al. 2016, section 4.2), plain or residual.

    A 3x3 conv, then three stages of ``n`` basic blocks (``2n`` conv layers)
    with ``widths`` filters, stride 2 at the start of stages 2 and 3, global
    average pooling and a softmax layer: ``depth = 6n + 2`` weighted layers.
    Call ``keras.utils.set_random_seed`` first for reproducible weights.
    """
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"cifar_net: depth must be 6n + 2 with n >= 1 (8, 14, 20, ...), found {depth}")
    n = (depth - 2) // 6
    L = keras.layers
    inputs = keras.Input(shape=input_shape, name="input")
    X = L.Conv2D(widths[0], 3, padding="same", use_bias=False, kernel_initializer="he_normal", name="conv0")(inputs)
    X = L.BatchNormalization(momentum=0.9, name="bn0")(X)
    X = L.Activation("relu", name="relu0")(X)
    for stage, filters in enumerate(widths, start=1):
        for b in range(1, n + 1):
            s = 2 if stage > 1 and b == 1 else 1
            X = basic_block(X, filters, s=s, residual=residual, name=f"stage{stage}_block{b}")
    X = L.GlobalAveragePooling2D(name="avg_pool")(X)
    outputs = L.Dense(classes, activation="softmax", name="fc")(X)
    kind = "residual" if residual else "plain"
    return keras.Model(inputs, outputs, name=f"{kind}{depth}")


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


def run_degradation(
    depths: tuple[int, ...],
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    epochs: int,
    seed: int = 0,
    learning_rate: float = 1e-3,
    batch_size: int = 64,
) -> dict[str, dict[str, list[float]]]:
    """Train plain and residual ``cifar_net``s of each depth with the same recipe.

    Every network starts from ``keras.utils.set_random_seed(seed)`` and trains
    with Adam (constant ``learning_rate``), batch ``batch_size``,
    for ``epochs`` epochs, on ``data = (x_train, y_train, x_test, y_test)``
    (integer labels), measuring the test set after every epoch.

    Returns:
        ``{"plain8": history, "residual8": ..., ...}``, each Keras's
        ``History.history`` (``accuracy``, ``loss``, ``val_accuracy``,
        ``val_loss``, one value per epoch; ``accuracy`` is measured on the
        training batches during the epoch, as in the paper's training curves).
    """
    x_train, y_train, x_test, y_test = data
    histories = {}
    for residual in (False, True):
        for depth in depths:
            keras.utils.set_random_seed(seed)
            net = cifar_net(depth, residual, input_shape=x_train.shape[1:], classes=int(y_train.max()) + 1)
            net.compile(
                optimizer=keras.optimizers.Adam(learning_rate),
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
            )
            history = net.fit(
                x_train, y_train, batch_size=batch_size, epochs=epochs, validation_data=(x_test, y_test), verbose=0
            )
            histories[net.name] = history.history
    return histories


def final_error(history: dict[str, list[float]], key: str = "accuracy", last: int = 3) -> float:
    """1 - the mean of the last ``last`` epochs' ``key`` (e.g. ``"val_accuracy"``) in a ``History.history``:
    the final error of a run, smoothed over the noise of single epochs."""
    return float(1 - np.mean(history[key][-last:]))


def gradient_norms(model: keras.Model, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """L2 norm of the loss gradient of every conv kernel, input to output.

    The loss is the sparse categorical cross-entropy of ``model(x)`` (training
    mode) against the integer labels ``y``.
    """
    kernels = [w for w in model.trainable_weights if w.path.endswith("kernel") and len(w.shape) == 4]
    with tf.GradientTape() as tape:
        loss = keras.losses.sparse_categorical_crossentropy(y, model(x, training=True))
        loss = tf.reduce_mean(loss)
    grads = tape.gradient(loss, kernels)
    return {w.path.rsplit("/", 1)[0]: float(tf.norm(g)) for w, g in zip(kernels, grads, strict=True)}


# ---------------------------------------------------------------------------
# Residual blocks (ResNet v1 bottleneck)
# ---------------------------------------------------------------------------

Filters = tuple[int, int, int] | list[int]


def _init() -> keras.initializers.Initializer:
    return keras.initializers.GlorotUniform(seed=0)


def _residual(
    X: keras.KerasTensor, f: int, filters: Filters, stage: int, block: str, s: int, shortcut: keras.KerasTensor
) -> keras.KerasTensor:
    """Bottleneck main path on X (stride s in the first 1x1 conv), plus shortcut, then ReLU."""
    conv, bn = f"res{stage}{block}_branch", f"bn{stage}{block}_branch"
    F1, F2, F3 = filters
    L = keras.layers
    X = L.Conv2D(F1, 1, strides=s, padding="valid", name=conv + "2a", kernel_initializer=_init())(X)
    X = L.BatchNormalization(axis=3, name=bn + "2a")(X)
    X = L.Activation("relu", name=f"res{stage}{block}_relu2a")(X)
    X = L.Conv2D(F2, f, strides=1, padding="same", name=conv + "2b", kernel_initializer=_init())(X)
    X = L.BatchNormalization(axis=3, name=bn + "2b")(X)
    X = L.Activation("relu", name=f"res{stage}{block}_relu2b")(X)
    X = L.Conv2D(F3, 1, strides=1, padding="valid", name=conv + "2c", kernel_initializer=_init())(X)
    X = L.BatchNormalization(axis=3, name=bn + "2c")(X)
    X = L.Add(name=f"res{stage}{block}_add")([X, shortcut])
    return L.Activation("relu", name=f"res{stage}{block}_out")(X)


def identity_block(X: keras.KerasTensor, f: int, filters: Filters, stage: int, block: str) -> keras.KerasTensor:
    """The identity block: input and output have the same shape.

    Main path 1x1 conv (valid) -> BN -> ReLU -> fxf conv (same) -> BN -> ReLU
    -> 1x1 conv (valid) -> BN; the input is added to it, then a final ReLU.

    Args:
        X: input tensor ``(m, n_H, n_W, n_C)`` with ``n_C == filters[2]``.
        f: size of the middle convolution's window.
        filters: ``(F1, F2, F3)``, the filters of the three convolutions.
        stage: stage number, used in the layer names (``res2a_branch2a``).
        block: block letter within the stage, used in the layer names.

    Returns:
        tensor ``(m, n_H, n_W, F3)``.
    """
    return _residual(X, f, filters, stage, block, s=1, shortcut=X)


def convolutional_block(
    X: keras.KerasTensor, f: int, filters: Filters, stage: int, block: str, s: int = 2
) -> keras.KerasTensor:
    """The convolutional block: changes the number of channels and, with s > 1, the size.

    Main path as in ``identity_block`` but with stride ``s`` in the first 1x1
    conv; the shortcut is a 1x1 conv with stride ``s`` to ``F3`` filters + BN
    (``..._branch1``); the two are added, then a final ReLU.

    Args:
        X: input tensor ``(m, n_H, n_W, n_C)``.
        f: size of the middle convolution's window.
        filters: ``(F1, F2, F3)``, the filters of the three convolutions.
        stage: stage number, used in the layer names.
        block: block letter within the stage, used in the layer names.
        s: stride of the first 1x1 conv and of the shortcut conv.

    Returns:
        tensor ``(m, ceil(n_H / s), ceil(n_W / s), F3)``.
    """
    shortcut = keras.layers.Conv2D(
        filters[2], 1, strides=s, padding="valid", name=f"res{stage}{block}_branch1", kernel_initializer=_init()
    )(X)
    shortcut = keras.layers.BatchNormalization(axis=3, name=f"bn{stage}{block}_branch1")(shortcut)
    return _residual(X, f, filters, stage, block, s=s, shortcut=shortcut)


# (filters, stride, identity blocks after the convolutional block) of stages 2-5.
RESNET50_STAGES: tuple[tuple[tuple[int, int, int], int, int], ...] = (
    ((64, 64, 256), 1, 2),
    ((128, 128, 512), 2, 3),
    ((256, 256, 1024), 2, 5),
    ((512, 512, 2048), 2, 2),
)


def ResNet50(input_shape: tuple[int, int, int] = IMAGE_SHAPE, classes: int = NUM_CLASSES) -> keras.Model:
    """ResNet-50 (v1, bottleneck) as in the original course, for small images.

    ZeroPadding2D(3) -> conv1 7x7/2 (64) -> BN -> ReLU -> MaxPool 3x3/2 ->
    stages 2-5 of ``RESNET50_STAGES`` (a convolutional block, then identity
    blocks, f=3) -> AveragePooling2D(2) 'avg_pool' -> Flatten -> Dense softmax
    'fc6'. For 64x64x3 input and 6 classes: 23,600,006 parameters.
    """
    L = keras.layers
    inputs = keras.Input(shape=input_shape, name="input")
    X = L.ZeroPadding2D(3, name="conv1_pad")(inputs)
    X = L.Conv2D(64, 7, strides=2, name="conv1", kernel_initializer=_init())(X)
    X = L.BatchNormalization(axis=3, name="bn_conv1")(X)
    X = L.Activation("relu", name="conv1_relu")(X)
    X = L.MaxPooling2D(3, strides=2, name="pool1")(X)
    for stage, (filters, s, identities) in enumerate(RESNET50_STAGES, start=2):
        X = convolutional_block(X, 3, filters, stage, "a", s=s)
        for block in "bcdef"[:identities]:
            X = identity_block(X, 3, filters, stage, block)
    X = L.AveragePooling2D(2, padding="same", name="avg_pool")(X)
    X = L.Flatten(name="flatten")(X)
    outputs = L.Dense(classes, activation="softmax", name="fc6", kernel_initializer=_init())(X)
    return keras.Model(inputs, outputs, name="ResNet50")


def keras_applications_name(name: str) -> str:
    """The name of the matching layer in ``keras.applications.ResNet50``.

    ``'res2a_branch2a'`` -> ``'conv2_block1_1_conv'``, ``'bn3b_branch2c'`` ->
    ``'conv3_block2_3_bn'``, ``'res4a_branch1'`` -> ``'conv4_block1_0_conv'``;
    ``'conv1'``, ``'bn_conv1'`` and ``'fc6'`` -> ``'conv1_conv'``, ``'conv1_bn'``, ``'predictions'``.
    """
    top = {"conv1": "conv1_conv", "bn_conv1": "conv1_bn", "fc6": "predictions"}
    if name in top:
        return top[name]
    kind, rest = ("bn", name[2:]) if name.startswith("bn") else ("conv", name.removeprefix("res"))
    unit, _, branch = rest.partition("_branch")
    if len(unit) != 2 or not unit[0].isdigit() or not unit[1].isalpha() or branch not in ("1", "2a", "2b", "2c"):
        raise ValueError(
            f"keras_applications_name: expected a name like 'res2a_branch2a' or 'bn2a_branch1', found {name!r}"
        )
    number = {"1": 0, "2a": 1, "2b": 2, "2c": 3}[branch]
    return f"conv{unit[0]}_block{ord(unit[1]) - ord('a') + 1}_{number}_{kind}"


def show_diagram(model: keras.Model, path: str | os.PathLike[str], embed: bool = True) -> object | None:
    """``keras.utils.plot_model`` of ``model`` with shapes, written to ``path``.

    Returns the image to display (``embed=True``), or a Markdown image that
    links to the file (``embed=False``: for big models, so that the notebook
    does not carry a megabyte of PNG). Prints a one-line note and returns None
    when Graphviz's ``dot`` program is missing (the lesson goes on without it).
    """
    if not has_graphviz():
        print("(diagram skipped: Graphviz's `dot` program is not installed; see the README's FAQ)")
        return None
    image = keras.utils.plot_model(model, to_file=str(path), show_shapes=True, show_layer_names=True, dpi=64)
    if embed:
        return image
    from IPython.display import Markdown

    return Markdown(f"![{model.name}]({Path(path).as_posix()})")


# The hint printed for each mistake a check can name.
HINTS: dict[str, str] = {
    "ok": "All checks passed: your block matches the reference ResNet v1 bottleneck.",
    "not_implemented": "Not implemented yet: replace the `raise NotImplementedError()` with your code.",
    "error": "Your block raised an error when called on a Keras tensor: {detail}",
    "layer_names": "Layer {detail} not found: name the layers 'res{{stage}}{{block}}_branch2a/2b/2c', "
    "'bn{{stage}}{{block}}_branch2a/2b/2c' (and '..._branch1' for the shortcut), with the stage and block passed in.",
    "padding": "Wrong padding on {detail}: the 1x1 convs use padding='valid' and the fxf conv padding='same', "
    "so that the fxf conv keeps the height and width.",
    "kernel_size": "Wrong window on {detail}: branch2a, 2c and the shortcut are 1x1 convs, branch2b is f x f.",
    "stride": "Stride on the wrong conv ({detail}): the stride s belongs to the first 1x1 conv (branch2a) and "
    "the shortcut conv (branch1); every other conv has stride 1.",
    "filters": "Wrong number of filters on {detail}: branch2a has F1, 2b has F2, 2c has F3, and the shortcut "
    "conv must have F3 filters so that it can be added to the main path.",
    "bn_axis": "BatchNorm on the wrong axis in {detail}: normalise the channels, axis=3 (channels last).",
    "missing_final_relu": "The final ReLU is missing: apply Activation('relu') after adding the shortcut.",
    "relu_before_add": "The ReLU comes before the addition: add the shortcut to the output of the last "
    "BatchNorm first, then apply the final ReLU.",
    "no_shortcut": "The shortcut is not added: the block must compute ReLU(main path + shortcut).",
    "add_shapes": "The main path and the shortcut have different shapes at the addition ({detail}): the "
    "shortcut conv needs F3 filters and the same stride s as branch2a.",
    "missing_bn": "No BatchNorm named {detail}: every conv of the main path is followed by "
    "BatchNormalization(axis=3) named 'bn{{stage}}{{block}}_branch2a/2b/2c'.",
    "shortcut_no_bn": "The shortcut has no BatchNorm: after its 1x1 conv comes BatchNormalization(axis=3) "
    "named 'bn{{stage}}{{block}}_branch1'.",
    "shape": "Wrong output shape: expected {detail}.",
    "values": "The output shape is right but the values differ from the reference ({detail}); compare your "
    "block with the diagram, layer by layer.",
}

_CHECK_INPUT = (3, 4, 4, 6)
_CHECK_FILTERS = (2, 4, 6)


def _verdict(key: str, detail: str = "", hints: dict[str, str] = HINTS) -> str:
    print(("✔ " if key == "ok" else "✘ ") + hints[key].format(detail=detail))
    return key


def randomize_batchnorm(model: keras.Model, rs: np.random.RandomState) -> None:
    """Give every BatchNorm layer of ``model`` random gamma, beta and moving statistics,
    so that comparisons in inference mode test non-trivial moving averages."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights(
                [rs.uniform(0.5, 1.5, n), rs.uniform(-0.5, 0.5, n), rs.uniform(-0.5, 0.5, n), rs.uniform(0.5, 2.0, n)]
            )


def _check_block(fn: object, reference: object, s: int | None) -> str:
    """Compare a learner's block function with the reference and name the first mistake."""
    kwargs = {} if s is None else {"s": s}
    stage, block = 9, "z"
    inputs = keras.Input(_CHECK_INPUT[1:])
    ref = keras.Model(inputs, reference(inputs, 3, _CHECK_FILTERS, stage, block, **kwargs))  # type: ignore[operator]
    try:
        learner_in = keras.Input(_CHECK_INPUT[1:])
        learner = keras.Model(learner_in, fn(learner_in, 3, list(_CHECK_FILTERS), stage, block, **kwargs))  # type: ignore[operator]
    except NotImplementedError:
        return _verdict("not_implemented")
    except Exception as err:  # a learner's bug can raise anything; report it as a hint
        message = str(err)
        if "output size would be zero or negative" in message:
            return _verdict("padding", "a conv shrank the image to nothing")
        if "incompatible shapes" in message:
            shapes = message.split("Received ")[-1]
            spatial_only = s is None  # the identity block has no stride: only padding changes the size
            return _verdict("padding" if spatial_only else "add_shapes", f"at the addition: {shapes}")
        return _verdict("error", f"{type(err).__name__}: {err}")

    names = {layer.name: layer for layer in learner.layers}
    for ref_layer in ref.layers:
        if not isinstance(ref_layer, keras.layers.Conv2D | keras.layers.BatchNormalization):
            continue
        layer = names.get(ref_layer.name)
        if layer is None:
            has_add = any(isinstance(x, keras.layers.Add) for x in learner.layers)
            if ref_layer.name.endswith("branch1"):
                if not has_add:
                    return _verdict("no_shortcut")
                if isinstance(ref_layer, keras.layers.BatchNormalization):
                    return _verdict("shortcut_no_bn")
            if isinstance(ref_layer, keras.layers.BatchNormalization) and any(
                layer.name.startswith("bn") for layer in learner.layers
            ):
                return _verdict("missing_bn", repr(ref_layer.name))
            return _verdict("layer_names", repr(ref_layer.name))
        if isinstance(ref_layer, keras.layers.Conv2D):
            if tuple(layer.kernel_size) != tuple(ref_layer.kernel_size):
                return _verdict("kernel_size", layer.name)
            if tuple(layer.strides) != tuple(ref_layer.strides):
                return _verdict("stride", f"{layer.name} has strides {tuple(layer.strides)}")
            if layer.filters != ref_layer.filters:
                return _verdict("filters", f"{layer.name} ({layer.filters} instead of {ref_layer.filters})")
            if layer.kernel_size != (1, 1) and layer.padding != ref_layer.padding:
                return _verdict("padding", f"{layer.name} (padding='{layer.padding}')")
        elif layer.axis not in (3, -1, [3], [-1]):
            return _verdict("bn_axis", f"{layer.name} (axis={layer.axis})")
    if tuple(learner.output.shape) != tuple(ref.output.shape):
        return _verdict("shape", f"{tuple(ref.output.shape)}, got {tuple(learner.output.shape)}")

    rs = np.random.RandomState(1)
    randomize_batchnorm(ref, rs)
    for ref_layer in ref.layers:
        if isinstance(ref_layer, keras.layers.Conv2D | keras.layers.BatchNormalization):
            try:
                names[ref_layer.name].set_weights(ref_layer.get_weights())
            except ValueError as err:
                return _verdict("error", f"weights of {ref_layer.name} do not fit the reference's: {err}")
    x = rs.normal(size=_CHECK_INPUT).astype("float32")
    for training in (True, False):
        got = keras.ops.convert_to_numpy(learner(x, training=training))
        want = keras.ops.convert_to_numpy(ref(x, training=training))
        if not np.allclose(got, want, atol=1e-5):
            key = _diagnose(ref, x, got, stage, block) if training else "values"
            mode = "training" if training else "inference"
            return _verdict(key, f"{mode} mode, max difference {np.abs(got - want).max():.3g}")
    return _verdict("ok")


def _known_mistake(ref: keras.Model, x: np.ndarray, got: np.ndarray, main_layer: str, add_layer: str) -> str | None:
    """Match a wrong output against the usual mistakes, computed from the reference's pieces:
    the main path (output of ``main_layer``) and the shortcut (second input of ``add_layer``)."""
    probe = keras.Model(ref.input, [ref.get_layer(main_layer).output, ref.get_layer(add_layer).input[1]])
    main, shortcut = (keras.ops.convert_to_numpy(t) for t in probe(x, training=True))
    relu = lambda t: np.maximum(t, 0.0)  # noqa: E731
    candidates = {
        "missing_final_relu": main + shortcut,
        "relu_before_add": relu(main) + shortcut,
        "no_shortcut": relu(main),
    }
    for key, value in candidates.items():
        if value.shape == got.shape and np.allclose(got, value, atol=1e-5):
            return key
    return None


def _diagnose(ref: keras.Model, x: np.ndarray, got: np.ndarray, stage: int, block: str) -> str:
    """The bottleneck blocks' mistake, from the reference's pieces or the sign of the output."""
    key = _known_mistake(ref, x, got, f"bn{stage}{block}_branch2c", f"res{stage}{block}_add")
    if key is None and got.min() < 0:
        return "missing_final_relu"
    return key or "values"


def check_identity_block(fn: object) -> str:
    """Check a learner's ``identity_block(X, f, filters, stage, block)`` against the reference.

    Builds both on a ``(3, 4, 4, 6)`` input with ``f=3, filters=[2, 4, 6]``,
    checks the layers (names, windows, strides, filters, padding, BatchNorm
    axis), copies the reference's weights into the learner's block and
    compares the outputs in training and in inference mode.

    Returns:
        the key of the printed verdict in ``HINTS``: ``"ok"``, ``"not_implemented"``
        or the mistake found.
    """
    return _check_block(fn, identity_block, s=None)


def check_convolutional_block(fn: object) -> str:
    """Check a learner's ``convolutional_block(X, f, filters, stage, block, s)`` against the reference.

    As ``check_identity_block``, with ``s=2`` (so ``(3, 4, 4, 6) -> (3, 2, 2, 6)``).

    Returns:
        the key of the printed verdict in ``HINTS``.
    """
    return _check_block(fn, convolutional_block, s=2)


# The hint printed for each mistake ``check_residual_block`` can name.
BASIC_HINTS: dict[str, str] = {
    "ok": "All checks passed: your block is the residual twin of plain_block.",
    "not_implemented": HINTS["not_implemented"],
    "error": "Your block raised an error when called on a Keras tensor: {detail}",
    "layer_names": "Layer {detail} not found: keep plain_block's names ('{{name}}_conv1', '{{name}}_bn1', "
    "'{{name}}_conv2', '{{name}}_bn2') and call the shortcut's layers '{{name}}_proj' and '{{name}}_proj_bn'.",
    "stride": "Stride on the wrong conv ({detail}): as in plain_block, only the first 3x3 conv (and the "
    "projection) has stride s.",
    "projection_needed": "The shapes differ at the addition ({detail}): when s > 1 or the number of channels "
    "changes, the shortcut must be a 1x1 conv with stride s and `filters` filters, followed by BatchNorm.",
    "projection_always": "The shortcut has a projection although the shapes already match: use the identity "
    "shortcut (X itself) when s == 1 and X has `filters` channels, so that the block can be the identity.",
    "shortcut_no_bn": "The projection has no BatchNorm: after its 1x1 conv comes BatchNormalization named "
    "'{{name}}_proj_bn'.",
    "no_shortcut": "The shortcut is not added: your block computes the plain block. Add X (or its projection) "
    "to the output of the second BatchNorm.",
    "missing_final_relu": "The final ReLU is missing: apply Activation('relu') after adding the shortcut.",
    "relu_before_add": "The ReLU comes before the addition: add the shortcut to the second BatchNorm's output "
    "first, then apply the ReLU (a[l+2] = g(z[l+2] + a[l])).",
    "shape": "Wrong output shape: expected {detail}.",
    "values": "The output shape is right but the values differ from the reference ({detail}).",
}


def _check_basic_case(fn: object, filters: int, s: int) -> tuple[str, str]:
    """One case of ``check_residual_block``: the hint key and its detail."""
    shape, name = (2, 6, 6, 4), "ex"
    inputs = keras.Input(shape[1:])
    ref = keras.Model(inputs, basic_block(inputs, filters, s=s, residual=True, name=name))
    try:
        learner_in = keras.Input(shape[1:])
        learner = keras.Model(learner_in, fn(learner_in, filters, s=s, name=name))  # type: ignore[operator]
    except NotImplementedError:
        return "not_implemented", ""
    except Exception as err:  # a learner's bug can raise anything; report it as a hint
        if "incompatible shapes" in str(err):
            return "projection_needed", str(err).split("Received ")[-1]
        return "error", f"{type(err).__name__}: {err}"
    names = {layer.name: layer for layer in learner.layers}
    if s == 1 and shape[-1] == filters and f"{name}_proj" in names:
        return "projection_always", ""
    for ref_layer in ref.layers:
        if not isinstance(ref_layer, keras.layers.Conv2D | keras.layers.BatchNormalization):
            continue
        layer = names.get(ref_layer.name)
        if layer is None:
            if ref_layer.name == f"{name}_proj_bn" and f"{name}_proj" in names:
                return "shortcut_no_bn", ""
            if ref_layer.name == f"{name}_proj" and not any(isinstance(x, keras.layers.Add) for x in learner.layers):
                return "no_shortcut", ""
            return "layer_names", repr(ref_layer.name)
        if isinstance(layer, keras.layers.Conv2D) and tuple(layer.strides) != tuple(ref_layer.strides):
            return "stride", f"{layer.name} has strides {tuple(layer.strides)}"
    if tuple(learner.output.shape) != tuple(ref.output.shape):
        return "shape", f"{tuple(ref.output.shape)}, got {tuple(learner.output.shape)}"
    rs = np.random.RandomState(2)
    randomize_batchnorm(ref, rs)
    for ref_layer in ref.layers:
        if ref_layer.weights:
            names[ref_layer.name].set_weights(ref_layer.get_weights())
    x = rs.normal(size=shape).astype("float32")
    got = keras.ops.convert_to_numpy(learner(x, training=True))
    want = keras.ops.convert_to_numpy(ref(x, training=True))
    if np.allclose(got, want, atol=1e-5):
        return "ok", ""
    key = _known_mistake(ref, x, got, f"{name}_bn2", f"{name}_add")
    if key is not None:
        return key, ""
    return "values", f"{filters} filters, s={s}: max difference {np.abs(got - want).max():.3g}"


def check_residual_block(fn: object) -> str:
    """Check a learner's ``residual_block(X, filters, s=1, name=...)`` against ``basic_block``.

    Two cases: an identity shortcut (``(2, 6, 6, 4)`` input, 4 filters, s=1)
    and a projection (8 filters, s=2). The reference's weights (with random
    BatchNorm statistics) are copied into the learner's layers by name and the
    outputs compared in training mode; a wrong output is matched against the
    usual mistakes (no shortcut, ReLU missing or before the addition).

    Returns:
        the key of the printed verdict in ``BASIC_HINTS``.
    """
    for filters, s in ((4, 1), (8, 2)):
        key, detail = _check_basic_case(fn, filters, s)
        if key != "ok":
            return _verdict(key, detail, BASIC_HINTS)
    return _verdict("ok", "", BASIC_HINTS)


# ---------------------------------------------------------------------------
# Training, evaluating and using ResNet-50 (notebook 03)
# ---------------------------------------------------------------------------


def preprocess(images: np.ndarray) -> np.ndarray:
    """uint8 pixels ``(..., 64, 64, 3)`` -> float32 in [0, 1]: the network's input, in training and after."""
    return np.asarray(images, dtype=np.float32) / 255.0


def augmenter(seed: int = 0) -> keras.Sequential:
    """Random left-right flips and shifts of up to 8% (a mirrored hand shows as many fingers)."""
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomTranslation(0.08, 0.08, fill_mode="nearest", seed=seed),
        ],
        name="augment",
    )


def train_dataset(
    x: np.ndarray, y: np.ndarray, batch_size: int = 32, seed: int = 0, augment: bool = True
) -> tf.data.Dataset:
    """A shuffled, batched (and augmented) ``tf.data`` pipeline over ``(x, y)``, with prefetch.

    Works with every Keras backend: ``model.fit`` accepts a ``tf.data.Dataset``.
    The augmentation runs one batch at a time (no parallel map), so that its
    random draws come in the same order in every run: same seed, same run.
    Prefetching still overlaps it with the training step.
    """
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed).batch(batch_size)
    if augment:
        layers = augmenter(seed)
        ds = ds.map(lambda xb, yb: (layers(xb, training=True), yb))
    return ds.prefetch(tf.data.AUTOTUNE)


def compile_recipe(model: keras.Model, epochs: int, steps_per_epoch: int) -> None:
    """Compile ``model`` with the recipe notebook 03 builds step by step (part B).

    Adam with a cosine decay of the learning rate from 1e-3 to 0 over
    ``epochs * steps_per_epoch`` steps, categorical cross-entropy with label
    smoothing 0.1, and accuracy as the metric. Train it on ``train_dataset``.
    """
    schedule = keras.optimizers.schedules.CosineDecay(initial_learning_rate=1e-3, decay_steps=epochs * steps_per_epoch)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=schedule),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
        metrics=["accuracy"],
    )


def accuracy(model: keras.Model, x: np.ndarray, labels: np.ndarray, batch_statistics: bool = False) -> float:
    """Fraction of ``x`` classified as ``labels`` (integers).

    With ``batch_statistics=True`` every BatchNorm layer normalises with the
    mean and variance of the batch (120 images) instead of its moving averages,
    as in training; the moving averages are restored afterwards.
    """
    saved = [v.numpy() for v in model.non_trainable_variables]
    probs = np.concatenate(
        [keras.ops.convert_to_numpy(model(x[i : i + 120], training=batch_statistics)) for i in range(0, len(x), 120)]
    )
    for variable, value in zip(model.non_trainable_variables, saved, strict=True):
        variable.assign(value)
    return float(np.mean(probs.argmax(axis=1) == np.asarray(labels).reshape(-1)))


class ImageError(ValueError):
    """A file given to ``load_image`` or ``predict_image`` is missing or not a readable image."""


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file (JPEG, PNG, ...; RGB, RGBA or grayscale; any size) as 64x64x3 uint8.

    Transparent pixels are put on white, the largest centred square is cut
    out and resized to 64x64 with area averaging (bicubic when enlarging).

    Raises:
        ImageError: the file is missing or is not an image PIL can read.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            rgba = img.convert("RGBA")
    except FileNotFoundError as err:
        raise ImageError(f"{path}: no such file") from err
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ImageError(
            f"{path}: not a readable image (expected JPEG, PNG or another format PIL reads): {err}"
        ) from err
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    rgb = Image.alpha_composite(white, rgba).convert("RGB")
    side = min(rgb.size)
    left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
    square = rgb.crop((left, top, left + side, top + side))
    method = Image.Resampling.BOX if side >= IMAGE_SHAPE[0] else Image.Resampling.BICUBIC
    return np.asarray(square.resize(IMAGE_SHAPE[:2], method), dtype=np.uint8)


def predict_image(model: keras.Model, path: str | os.PathLike[str]) -> tuple[int, np.ndarray]:
    """Classify one image file: returns ``(class, probabilities of the 6 classes)``.

    The file is read by ``load_image`` and scaled by ``preprocess``, as the training data.
    """
    x = preprocess(load_image(path))[None]
    probs = keras.ops.convert_to_numpy(model(x, training=False))[0]
    return int(probs.argmax()), probs


def render_sign(count: int, seed: int, size: int = 256) -> np.ndarray:
    """A new synthetic hand showing ``count`` fingers at ``size`` x ``size`` pixels (uint8 RGB).

    Uses a random stream that the course's train and test sets never use.
    """
    if not 0 <= count < NUM_CLASSES:
        raise ValueError(f"render_sign: count must lie in 0..5, found {count}")
    return _render_sign(count, np.random.RandomState([seed, 99, count]), size=size)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int = NUM_CLASSES) -> np.ndarray:
    """``C[i, j]`` = number of images of class ``i`` predicted as class ``j``."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels).reshape(-1), np.asarray(predictions).reshape(-1)), 1)
    return matrix


def plot_history(histories: dict[str, dict[str, list[float]]]) -> Figure:
    """Loss and accuracy per epoch, training and test, of one or more ``History.history`` dicts."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), facecolor="white")
    for (name, h), color in zip(histories.items(), ("tab:blue", "tab:orange", "tab:green"), strict=False):
        epochs = np.arange(1, len(h["loss"]) + 1)
        for ax, key in zip(axes, ("loss", "accuracy"), strict=True):
            ax.plot(epochs, h[key], color=color, label=f"{name}: training")
            ax.plot(epochs, h[f"val_{key}"], color=color, linestyle="--", label=f"{name}: test")
    for ax, key in zip(axes, ("loss", "accuracy"), strict=True):
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_confusion(matrix: np.ndarray) -> Figure:
    """The confusion matrix as a labelled heat map, counts written in the cells."""
    fig, ax = plt.subplots(figsize=(4.6, 4), facecolor="white")
    ax.imshow(matrix, cmap="Blues")
    for (i, j), n in np.ndenumerate(matrix):
        ax.text(j, i, str(n), ha="center", va="center", color="white" if n > matrix.max() / 2 else "black")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_xticks(range(len(matrix)))
    ax.set_yticks(range(len(matrix)))
    fig.tight_layout()
    return fig


def plot_misclassified(images: np.ndarray, labels: np.ndarray, probs: np.ndarray, max_images: int = 12) -> Figure:
    """The misclassified images with true label, predicted label and the model's confidence."""
    labels = np.asarray(labels).reshape(-1)
    wrong = np.flatnonzero(probs.argmax(axis=1) != labels)[:max_images]
    cols = max(len(wrong), 1)
    fig, axes = plt.subplots(1, cols, figsize=(1.6 * cols, 2.1), squeeze=False, facecolor="white")
    for ax in axes[0]:
        ax.axis("off")
    for ax, i in zip(axes[0], wrong, strict=False):
        ax.imshow(images[i])
        ax.set_title(f"true {labels[i]}\npred {probs[i].argmax()} ({probs[i].max():.0%})", fontsize=8)
    if not len(wrong):
        axes[0][0].text(0.5, 0.5, "no misclassified images", ha="center", va="center")
    fig.tight_layout()
    return fig


def plot_prediction(image: np.ndarray, probs: np.ndarray) -> Figure:
    """An image next to a bar chart of the model's class probabilities."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(7, 2.8), facecolor="white", width_ratios=(1, 1.6))
    left.imshow(image)
    left.axis("off")
    right.bar(
        range(len(probs)), probs, color=["tab:orange" if i == probs.argmax() else "tab:blue" for i in range(len(probs))]
    )
    right.set_xlabel("class (raised fingers)")
    right.set_ylabel("probability")
    right.set_ylim(0, 1)
    right.set_xticks(range(len(probs)))
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------
# Beyond ResNet-50 (notebook 04): ResNet-18/34, pre-activation, FLOPs, Grad-CAM
# ---------------------------------------------------------------------------

# Basic blocks per stage (filters 64, 128, 256, 512) of ResNet-18 and ResNet-34 (He et al. 2016, table 1).
BASIC_STAGES: dict[int, tuple[int, int, int, int]] = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


def preact_block(X: keras.KerasTensor, filters: int, s: int = 1, name: str = "block") -> keras.KerasTensor:
    """The pre-activation basic block of He et al. (2016b), "Identity Mappings in Deep Residual Networks".

    BN -> ReLU -> 3x3 conv (stride ``s``) -> BN -> ReLU -> 3x3 conv, added to
    the shortcut with no ReLU after the addition, so the identity path stays
    clean from block to block. Where the shape changes the shortcut is a 1x1
    conv with stride ``s`` on the pre-activated input.
    """
    L = keras.layers
    conv = {"padding": "same", "use_bias": False, "kernel_initializer": "he_normal"}
    pre = L.Activation("relu", name=f"{name}_relu1")(L.BatchNormalization(momentum=0.9, name=f"{name}_bn1")(X))
    Y = L.Conv2D(filters, 3, strides=s, name=f"{name}_conv1", **conv)(pre)
    Y = L.Activation("relu", name=f"{name}_relu2")(L.BatchNormalization(momentum=0.9, name=f"{name}_bn2")(Y))
    Y = L.Conv2D(filters, 3, name=f"{name}_conv2", **conv)(Y)
    shortcut = X
    if s != 1 or X.shape[-1] != filters:
        shortcut = L.Conv2D(filters, 1, strides=s, name=f"{name}_proj", **conv)(pre)
    return L.Add(name=f"{name}_add")([Y, shortcut])


def basic_resnet(
    depth: int, preact: bool = False, input_shape: tuple[int, int, int] = IMAGE_SHAPE, classes: int = NUM_CLASSES
) -> keras.Model:
    """ResNet-18 or ResNet-34 (basic blocks), post-activation (v1) or pre-activation (v2).

    The stem of ``ResNet50`` (7x7/2 conv, 64 filters, BN, ReLU, 3x3/2 max-pool),
    four stages of ``BASIC_STAGES[depth]`` blocks with 64, 128, 256 and 512
    filters (stride 2 at the start of stages 3-5), global average pooling and
    a softmax layer. v1 uses ``basic_block``, v2 ``preact_block`` and a final
    BN-ReLU before the pooling.
    """
    if depth not in BASIC_STAGES:
        raise ValueError(f"basic_resnet: depth must be one of {sorted(BASIC_STAGES)}, found {depth}")
    L = keras.layers
    inputs = keras.Input(shape=input_shape, name="input")
    X = L.ZeroPadding2D(3, name="conv1_pad")(inputs)
    X = L.Conv2D(64, 7, strides=2, use_bias=False, kernel_initializer="he_normal", name="conv1")(X)
    if not preact:
        X = L.Activation("relu", name="conv1_relu")(L.BatchNormalization(momentum=0.9, name="bn_conv1")(X))
    X = L.MaxPooling2D(3, strides=2, name="pool1")(X)
    for stage, (filters, blocks) in enumerate(zip((64, 128, 256, 512), BASIC_STAGES[depth], strict=True), start=2):
        for b in range(blocks):
            s = 2 if stage > 2 and b == 0 else 1
            name = f"stage{stage}_block{b + 1}"
            X = preact_block(X, filters, s, name) if preact else basic_block(X, filters, s, residual=True, name=name)
    if preact:
        X = L.Activation("relu", name="final_relu")(L.BatchNormalization(momentum=0.9, name="final_bn")(X))
    X = L.GlobalAveragePooling2D(name="avg_pool")(X)
    outputs = L.Dense(classes, activation="softmax", name="fc")(X)
    return keras.Model(inputs, outputs, name=f"{'preact_' if preact else ''}resnet{depth}")


def forward_flops(model: keras.Model) -> int:
    """Floating-point operations (2 per multiply-add) of one image's forward pass through the
    conv and dense layers, computed from their shapes (BatchNorm, ReLU and pooling are ignored)."""
    flops = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            flops += 2 * h * w * c_out * kh * kw * layer.input.shape[-1]
        elif isinstance(layer, keras.layers.Dense):
            flops += 2 * layer.input.shape[-1] * layer.units
    return int(flops)


def grad_cam(model: keras.Model, images: np.ndarray, layer: str, classes: np.ndarray | None = None) -> np.ndarray:
    """Grad-CAM heat maps (Selvaraju et al. 2017) of ``images`` for ``classes`` at ``layer``.

    For each image: the gradient of the class score with respect to the
    layer's feature maps, averaged over the positions, weights the maps; their
    ReLU'd sum, scaled to [0, 1], says where the evidence for the class is.

    Args:
        images: preprocessed inputs ``(m, 64, 64, 3)``.
        layer: name of a layer with 4-d output (e.g. ``'res5c_out'``).
        classes: class per image; default: the predicted class.

    Returns:
        ``(m, h, w)`` heat maps at the layer's resolution, each in [0, 1].
    """
    probe = keras.Model(model.input, [model.get_layer(layer).output, model.output])
    x = tf.convert_to_tensor(images, dtype=tf.float32)
    with tf.GradientTape() as tape:
        features, probs = probe(x, training=False)
        picked = tf.argmax(probs, axis=1) if classes is None else tf.convert_to_tensor(classes, dtype=tf.int64)
        score = tf.reduce_sum(tf.gather(probs, picked, axis=1, batch_dims=1))
    grads = tape.gradient(score, features)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    cams = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1)).numpy()
    peak = cams.max(axis=(1, 2), keepdims=True)
    return np.divide(cams, peak, out=np.zeros_like(cams), where=peak > 0)


def plot_grad_cam(images: np.ndarray, cams: np.ndarray, titles: list[str]) -> Figure:
    """Each image (top) and its Grad-CAM heat map laid over it (bottom)."""
    m = len(images)
    fig, axes = plt.subplots(2, m, figsize=(1.5 * m, 3.4), squeeze=False, facecolor="white")
    for i in range(m):
        axes[0, i].imshow(images[i])
        axes[0, i].set_title(titles[i], fontsize=7)
        axes[1, i].imshow(images[i])
        extent = (0, images.shape[2], images.shape[1], 0)  # stretch the coarse map over the image
        axes[1, i].imshow(cams[i], cmap="jet", alpha=0.45, extent=extent, interpolation="bilinear", vmin=0, vmax=1)
    for ax in axes.flat:
        ax.axis("off")
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
        "graphviz": "found"
        if has_graphviz()
        else "missing (diagrams are skipped; run `make test` as root or see README)",
    }
