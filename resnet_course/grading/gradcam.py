"""The check of lesson 04's exercise: ``grad_cam(model, images, layer, classes=None)`` with ``tf.GradientTape``.

The check runs the learner's function and the reference on a small fixed
network (a BatchNorm with random statistics, a strided conv so that the
feature maps are smaller than the image, a softmax head) for two
configurations: the predicted classes at one layer, and given classes at
another. A wrong result is matched against the usual mistakes, each computed
by the reference with one step changed. Lessons: 04.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from resnet_course.evaluation import grad_cam
from resnet_course.grading.compare import COMMON_HINTS, Verdict, build_error, randomize_batchnorm, say

# The hint printed for each mistake ``check_grad_cam`` can name.
GRAD_CAM_HINTS: dict[str, str] = COMMON_HINTS | {
    "ok": "All checks passed: your grad_cam gives the reference's heat maps.",
    "shape": "Wrong shape: {detail}. Return one (h, w) map per image at the layer's resolution: the gradient "
    "is taken with respect to the layer's feature maps, not the input image.",
    "probability": "Your maps follow the softmax probability: differentiate the class score before the "
    "softmax (Selvaraju et al. 2017): `h @ head.kernel + head.bias`, with h the Dense layer's input (the "
    "probe's second output).",
    "pool_axes": "The weights are averaged over the wrong axes: average the gradient over the positions only, "
    "axis=(1, 2), keeping one weight per image and channel.",
    "relu": "The map has negative values: keep the positive part of the weighted sum (tf.nn.relu) before scaling.",
    "scale": "The map is not scaled to [0, 1]: divide each image's map by its maximum (leave an all-zero map at 0).",
    "scale_batch": "Each map is divided by the largest value of the whole batch: divide each image's map by its "
    "own maximum, tf.reduce_max(cam, axis=(1, 2), keepdims=True), so that every map peaks at 1.",
    "batch_dims": "Each image's score sums the scores of every requested class: tf.gather(scores, classes, "
    "axis=1) picks all the classes for every image. Take each image's own class score, "
    "tf.gather(scores, classes, axis=1, batch_dims=1), before summing over the batch.",
    "no_pool": "The gradient is used position by position: average it over the positions first, "
    "tf.reduce_mean(grads, axis=(1, 2), keepdims=True), one weight per image and channel (Selvaraju et al. "
    "2017, eq. 1), then weight the feature maps with it.",
    "tape": "The gradient is None ({detail}): the tape saw no path from the features to the score. Run the "
    "forward pass, `probe(images)` and the score, inside `with tf.GradientTape() as tape:`.",
    "classes": "The maps are for the predicted classes although the check passed classes={detail}: use the "
    "`classes` argument when it is given, the prediction only when it is None.",
    "training": "The network ran in training mode: call it with training=False, so that BatchNorm uses its "
    "moving averages as in evaluation.",
    "values": "The shape is right but the maps differ from the reference ({detail}).",
}


# The seed of the check's weights and images, chosen so that the 4 images are predicted as 3 different
# classes (tests/test_grading_gradcam.py asserts it): a mistake that mixes up the images' classes shows.
CHECK_SEED = 24


def _small_model() -> keras.Model:
    """The fixed network the check explains: 8x8x3 images, 3 classes."""
    L = keras.layers
    inputs = keras.Input((8, 8, 3))
    X = L.Conv2D(6, 3, strides=2, padding="same", name="conv1")(inputs)
    X = L.BatchNormalization(name="bn1")(X)
    X = L.Activation("relu", name="stage1_out")(X)
    X = L.Conv2D(5, 3, padding="same", name="conv2")(X)
    X = L.Activation("relu", name="stage2_out")(X)
    X = L.GlobalAveragePooling2D(name="avg_pool")(X)
    return keras.Model(inputs, L.Dense(3, activation="softmax", name="fc")(X))


def _variant(model: keras.Model, images: np.ndarray, layer: str, classes: Any, **change: Any) -> np.ndarray:
    """The reference's computation with one step changed: score="probability", pool=(...) or None (no
    average), relu=False, scale=False or "batch", training=True, ignore_classes=True or batch_dims=0."""
    head = model.layers[-1]
    probe = keras.Model(model.input, [model.get_layer(layer).output, head.input])
    with tf.GradientTape() as tape:
        features, before_head = probe(tf.convert_to_tensor(images), training=change.get("training", False))
        scores = tf.matmul(before_head, head.kernel) + head.bias
        if change.get("score") == "probability":
            scores = tf.nn.softmax(scores)
        if classes is None or change.get("ignore_classes"):
            classes = tf.argmax(scores, axis=1)
        batch_dims = change.get("batch_dims", 1)
        score = tf.reduce_sum(tf.gather(scores, tf.cast(classes, tf.int64), axis=1, batch_dims=batch_dims))
    grads = tape.gradient(score, features)
    pool = change.get("pool", (1, 2))
    weights = grads if pool is None else tf.reduce_mean(grads, axis=pool, keepdims=True)
    cams = tf.reduce_sum(weights * features, axis=-1).numpy()
    if change.get("relu", True):
        cams = np.maximum(cams, 0)
    if not change.get("scale", True):
        return cams
    peak = cams.max(keepdims=True) if change.get("scale") == "batch" else cams.max(axis=(1, 2), keepdims=True)
    return np.divide(cams, peak, out=np.zeros_like(cams), where=peak > 0)


MISTAKES: dict[str, dict[str, Any]] = {
    "probability": {"score": "probability"},
    "pool_axes": {"pool": (0, 1, 2)},
    "relu": {"relu": False},
    "scale": {"scale": False},
    "scale_batch": {"scale": "batch"},
    "batch_dims": {"batch_dims": 0},
    "no_pool": {"pool": None},
    "classes": {"ignore_classes": True},
    "training": {"training": True},
}


def _case(fn: Callable[..., Any], model: keras.Model, images: np.ndarray, layer: str, classes: Any) -> Verdict:
    want = grad_cam(model, images, layer, classes)
    try:
        got = np.asarray(fn(model, images, layer) if classes is None else fn(model, images, layer, classes))
    except Exception as err:  # a learner's bug can raise anything; report it as a hint
        if "None" in str(err) and isinstance(err, ValueError | TypeError):  # arithmetic on a None gradient
            return "tape", f"{type(err).__name__}: {str(err).splitlines()[0][:120]}"
        return build_error(err)
    if got.shape != want.shape:
        return "shape", f"{got.shape} instead of {want.shape} for {len(images)} images at layer {layer!r}"
    if np.allclose(got, want, atol=1e-4):
        return "ok", ""
    for key, change in MISTAKES.items():
        if key == "pool_axes":
            candidates = [_variant(model, images, layer, classes, pool=axes) for axes in ((0, 1, 2), (3,), (1, 2, 3))]
        else:
            candidates = [_variant(model, images, layer, classes, **change)]
        if any(c.shape == got.shape and np.allclose(got, c, atol=1e-4) for c in candidates):
            return key, (str([int(c) for c in classes]) if key == "classes" else "")
    if got.min() < -1e-6:
        return "relu", ""
    if not np.allclose(got.max(axis=(1, 2)), 1.0, atol=1e-4):
        return "scale", ""
    return "values", f"max difference {np.abs(got - want).max():.3g}"


def check_inputs() -> tuple[keras.Model, np.ndarray, np.ndarray]:
    """The check's network, its 4 images and their predicted classes (from ``CHECK_SEED`` alone)."""
    model = _small_model()
    rs = np.random.RandomState(CHECK_SEED)  # its own generator: the check leaves the learner's global seed alone
    model.set_weights([rs.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
    randomize_batchnorm(model, rs)
    images = rs.normal(size=(4, 8, 8, 3)).astype("float32")
    predicted = keras.ops.convert_to_numpy(model(images, training=False)).argmax(axis=1)
    return model, images, predicted


def check_grad_cam(fn: Callable[..., Any]) -> str:
    """Check a learner's ``grad_cam(model, images, layer, classes=None)`` against the reference ``grad_cam``.

    On a fixed small network (random weights from its own generator, BatchNorm statistics
    randomised) and 4 random 8x8 images: the predicted classes at
    ``'stage1_out'`` (4x4 maps), then given classes (not the predicted ones)
    at ``'stage2_out'``.

    Returns:
        the key of the printed verdict in ``GRAD_CAM_HINTS``.
    """
    model, images, predicted = check_inputs()
    for layer, classes in (("stage1_out", None), ("stage2_out", (predicted + 1) % 3)):
        key, detail = _case(fn, model, images, layer, classes)
        if key != "ok":
            given = "" if classes is None else f", classes={[int(c) for c in classes]}"
            context = f"the check called grad_cam(model, images, layer={layer!r}"
            return say(key, detail, GRAD_CAM_HINTS, f"{context}{given}) on 4 images of 8x8x3")
    return say("ok", "", GRAD_CAM_HINTS)
