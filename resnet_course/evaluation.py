"""Evaluation and analysis: probabilities and accuracy in both BatchNorm modes, with or without
test-time flip averaging, and the accuracy's interval; BatchNorm recalibration, confusion,
gradient norms, FLOPs, Grad-CAM, and classifying an image file.

Lessons: 01 (``gradient_norms``), 03 (``accuracy``, ``with_interval`` (which uses ``wilson_interval``),
``recalibrate_batchnorm``, ``confusion_matrix``, ``load_image``, ``predict_image``),
04 (``accuracy``, ``wilson_interval``, ``with_interval``, ``forward_flops``, ``grad_cam``),
06 (``accuracy``, ``wilson_interval``, ``mean_interval``, ``confusion_matrix``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from resnet_course.constants import BATCH_SIZE, IMAGE_SHAPE, NUM_CLASSES
from resnet_course.data import preprocess


def probabilities(
    model: keras.Model, x: np.ndarray, batch_statistics: bool = False, flip_average: bool = False
) -> np.ndarray:
    """The class probabilities of ``model`` for each image of ``x``, shape ``(len(x), classes)``.

    With ``batch_statistics=True`` every BatchNorm layer normalises with the
    mean and variance of its batch (up to 120 images) instead of its moving averages,
    as in training; the moving averages are restored afterwards. With
    ``flip_average=True`` each image's probabilities are averaged with those of
    its left-right mirror image, ``x[:, :, ::-1]`` (test-time flip averaging,
    lesson 03): the network answers for both views of the hand.
    """
    views = [x, x[:, :, ::-1]] if flip_average else [x]
    saved = [v.numpy() for v in model.non_trainable_variables]
    probs = [
        np.concatenate(
            [
                keras.ops.convert_to_numpy(model(view[i : i + 120], training=batch_statistics))
                for i in range(0, len(view), 120)
            ]
        )
        for view in views
    ]
    for variable, value in zip(model.non_trainable_variables, saved, strict=True):
        variable.assign(value)
    return np.mean(probs, axis=0)


def accuracy(
    model: keras.Model, x: np.ndarray, labels: np.ndarray, batch_statistics: bool = False, flip_average: bool = False
) -> float:
    """Fraction of ``x`` classified as ``labels`` (integers), from ``probabilities`` with the same options."""
    probs = probabilities(model, x, batch_statistics=batch_statistics, flip_average=flip_average)
    return float(np.mean(probs.argmax(axis=1) == np.asarray(labels).reshape(-1)))


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of an accuracy of ``correct`` out of ``n`` (95 % for ``z=1.96``).

    On a test set of 204 images one image is 0.49 points (0.83 on 120), and the interval
    says how far the accuracy of the same network on new images of the same
    kind could plausibly lie. Unlike "p ± z·SE" it stays inside [0, 1] and is
    not empty at 0 or n correct (Wilson 1927; Brown, Cai and DasGupta 2001).
    """
    if n < 1 or not 0 <= correct <= n:
        raise ValueError(f"wilson_interval: expected 0 <= correct <= n and n >= 1, found correct={correct}, n={n}")
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # At 0 or n correct one end is exactly 0 or 1 (the formula gets there only up to rounding).
    low = 0.0 if correct == 0 else float(centre - half)
    high = 1.0 if correct == n else float(centre + half)
    return low, high


# Student's t quantiles t(0.975, n - 1) for n = 2..10 values (any statistics table): the 95 % interval of a mean.
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262)


def mean_interval(values: Sequence[float]) -> tuple[float, float, float]:
    """The mean of 2-10 accuracies and its 95 % interval, mean ± t·s/√n (Student's t, n - 1 degrees of freedom).

    For a few seeds of one training: the interval of the mean over seeds, wide when
    the seeds disagree and when there are few of them (t = 4.303 for 3 values). The
    interval is clipped to [0, 1], where accuracies lie.

    Returns:
        ``(mean, low, high)``.
    """
    x = np.asarray(values, dtype=np.float64)
    if not 2 <= len(x) <= len(T_975) + 1:
        raise ValueError(f"mean_interval: needs 2 to {len(T_975) + 1} values, found {len(x)}")
    half = T_975[len(x) - 2] * x.std(ddof=1) / np.sqrt(len(x))
    return float(x.mean()), float(max(0.0, x.mean() - half)), float(min(1.0, x.mean() + half))


def with_interval(acc: float, n: int) -> str:
    """An accuracy on ``n`` images with its Wilson 95 % interval, e.g. ``'99.2 % (95 % CI 95.4-99.9 %, n = 120)'``."""
    low, high = wilson_interval(round(acc * n), n)
    return f"{100 * acc:.1f} % (95 % CI {100 * low:.1f}-{100 * high:.1f} %, n = {n})"


def recalibrate_batchnorm(model: keras.Model, x: np.ndarray, batch_size: int = BATCH_SIZE) -> int:
    """Recompute every BatchNorm layer's moving mean and variance from ``x``; no weight changes.

    One pass over ``x`` in training mode, batch by batch as in training, with
    each layer's momentum set so that its moving statistics become the average
    of the batch statistics over the whole pass, weighted by batch size (what
    PyTorch's ``torch.optim.swa_utils.update_bn`` does). The trained weights are
    not touched (there is no optimizer step); the momenta are restored afterwards.

    Returns:
        the number of BatchNorm layers recalibrated.
    """
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in layers]
    seen = 0
    try:
        for start in range(0, len(x), batch_size):
            batch = x[start : start + batch_size]
            for layer in layers:
                layer.momentum = seen / (seen + len(batch))  # 0 on the first batch: its statistics replace the old
            model(batch, training=True)  # eager: each layer reads its momentum now
            seen += len(batch)
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
    return len(layers)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int = NUM_CLASSES) -> np.ndarray:
    """``C[i, j]`` = number of images of class ``i`` predicted as class ``j``."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels).reshape(-1), np.asarray(predictions).reshape(-1)), 1)
    return matrix


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


def forward_flops(model: keras.Model) -> int:
    """Floating-point operations (2 per multiply-add) of one image's forward pass through the
    conv (grouped ones too) and dense layers, computed from their shapes (BatchNorm, ReLU and
    pooling are ignored)."""
    flops = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            flops += 2 * h * w * c_out * kh * kw * layer.input.shape[-1] // layer.groups  # c_in / groups per group
        elif isinstance(layer, keras.layers.Dense):
            flops += 2 * layer.input.shape[-1] * layer.units
    return int(flops)


def grad_cam(model: keras.Model, images: np.ndarray, layer: str, classes: np.ndarray | None = None) -> np.ndarray:
    """Grad-CAM heat maps (Selvaraju et al. 2017) of ``images`` for ``classes`` at ``layer``.

    For each image: the gradient of the class score (the last Dense layer's
    output before its softmax, as in the paper) with respect to the layer's
    feature maps, averaged over the positions, weights the maps; their ReLU'd
    sum, scaled to [0, 1], says where the evidence for the class is.

    Args:
        model: a network whose last layer is a Dense layer (with a softmax or not).
        images: preprocessed inputs ``(m, height, width, channels)``.
        layer: name of a layer with 4-d output (e.g. ``'res4f_out'``).
        classes: class per image; default: the predicted class.

    Returns:
        ``(m, h, w)`` heat maps at the layer's resolution, each in [0, 1].
    """
    head = model.layers[-1]
    probe = keras.Model(model.input, [model.get_layer(layer).output, head.input])
    x = tf.convert_to_tensor(images, dtype=tf.float32)
    with tf.GradientTape() as tape:
        features, before_head = probe(x, training=False)
        # The class scores before the softmax, in float32 (under mixed precision the layer computes in float16).
        scores = tf.matmul(tf.cast(before_head, tf.float32), tf.cast(head.kernel, tf.float32)) + tf.cast(
            head.bias, tf.float32
        )
        picked = tf.argmax(scores, axis=1) if classes is None else tf.convert_to_tensor(classes, dtype=tf.int64)
        score = tf.reduce_sum(tf.gather(scores, picked, axis=1, batch_dims=1))
    grads = tape.gradient(score, features)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    cams = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1)).numpy()
    peak = cams.max(axis=(1, 2), keepdims=True)
    return np.divide(cams, peak, out=np.zeros_like(cams), where=peak > 0)


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


def predict_image(
    model: keras.Model, path: str | os.PathLike[str], flip_average: bool = True
) -> tuple[int, np.ndarray]:
    """Classify one image file: returns ``(class, probabilities of the 6 classes)``.

    The file is read by ``load_image`` and scaled by ``preprocess``, as the training data. By
    default the probabilities are averaged with those of the mirror image, as lesson 03 evaluates
    (``probabilities(..., flip_average=True)``); ``flip_average=False`` classifies the image alone.
    """
    x = preprocess(load_image(path))[None]
    probs = probabilities(model, x, flip_average=flip_average)[0]
    return int(probs.argmax()), probs
