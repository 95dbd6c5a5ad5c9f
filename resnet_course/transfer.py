"""Transfer learning: what lesson 06 needs to reuse a trained ResNet on another data set.

- ``build_transfer_model``: the reference of lesson 06's graded exercise (not exported by
  ``resnet_utils``; the check reaches it from ``resnet_course.grading``): a frozen base called in
  inference mode, global average pooling and a new softmax head.
- ``unfreeze``: the reference of the second exercise: the base trainable for fine-tuning, its
  BatchNorm layers frozen (in inference mode).
- ``few_shot``: k labelled images per class, drawn from a seed.
- ``imagenet_base``: ``keras.applications.ResNet50`` without its top, with ImageNet weights
  (downloaded on request, or a local copy), behind its own input preprocessing.

Lesson: 06.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np

from resnet_course.constants import IMAGE_SHAPE, NUM_CLASSES

# The weights keras.applications.ResNet50(weights="imagenet", include_top=False) downloads (about 95 MB),
# and the name to look for when a local copy is given.
IMAGENET_FILE = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"


def build_transfer_model(base: keras.Model, classes: int = NUM_CLASSES) -> keras.Model:
    """A new classifier on top of a trained ``base`` (lesson 06's exercise, the reference).

    ``base.trainable = False`` (in Keras 3 this also runs its BatchNorm layers in
    inference mode), the base called with ``training=False`` (so that its BatchNorm
    layers would keep using their moving statistics after ``base.trainable = True``, for
    fine-tuning, as the Keras guide writes it; under ``fit`` Keras 3 overrides it, see
    ``unfreeze``), ``GlobalAveragePooling2D`` and a ``Dense(classes)`` softmax head.
    """
    base.trainable = False
    inputs = keras.Input(base.input.shape[1:], name="image")
    features = base(inputs, training=False)
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(features)
    outputs = keras.layers.Dense(classes, activation="softmax", name="head")(pooled)
    return keras.Model(inputs, outputs, name="transfer")


def unfreeze(base: keras.Model) -> None:
    """Make ``base`` trainable for fine-tuning, its BatchNorm layers excepted (lesson 06's exercise, the reference).

    ``base.trainable = True`` makes every layer inside trainable, BatchNorm's too;
    each ``BatchNormalization`` layer is then frozen again, which in Keras 3 also runs
    it in inference mode: it keeps normalising with the moving statistics of the data
    the base was trained on. ``training=False`` in ``build_transfer_model`` does not do
    this on its own: ``fit`` calls the model with ``training=True``, and Keras 3 passes
    that flag to every layer inside (keras-team/keras#20285).
    """
    base.trainable = True
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


def few_shot(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Sorted indices of ``k`` images of every class in ``labels``, drawn at random from ``seed``.

    Raises:
        ValueError: ``k`` below 1, or a class with fewer than ``k`` images.
    """
    labels = np.asarray(labels).reshape(-1)
    if k < 1:
        raise ValueError(f"few_shot: k must be at least 1, found {k}")
    rng = np.random.default_rng(seed)
    picked = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        if len(members) < k:
            raise ValueError(f"few_shot: class {c} has {len(members)} images, fewer than k={k}")
        picked.append(rng.choice(members, size=k, replace=False))
    return np.sort(np.concatenate(picked))


def imagenet_base(
    weights: str | os.PathLike[str] = "imagenet", size: int = 128, input_shape: tuple[int, int, int] = IMAGE_SHAPE
) -> keras.Model:
    """``keras.applications.ResNet50`` without its top, for images in [0, 1], resized to ``size`` pixels.

    ``weights="imagenet"`` downloads the ImageNet weights (about 95 MB, kept in
    ``~/.keras/models``); a path loads a local copy instead: the downloaded file
    (``IMAGENET_FILE``) or one written by ``save_weights`` of a
    ``ResNet50(include_top=False)``. The model scales the images to 0-255,
    resizes them (bilinear) and applies ResNet-50's ``preprocess_input`` (RGB to BGR,
    ImageNet's mean pixel subtracted), as the weights expect.

    Raises:
        FileNotFoundError: ``weights`` is a path to no file.
    """
    if str(weights) != "imagenet":
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(
                f"imagenet_base: no weights file at {path}: expected 'imagenet' (download) or the path of "
                f"{IMAGENET_FILE} (or of the save_weights of a keras.applications.ResNet50(include_top=False))"
            )
        weights = str(path)
    inputs = keras.Input(input_shape, name="image")
    x = keras.layers.Resizing(size, size, interpolation="bilinear", name="resize")(inputs)
    x = keras.layers.Rescaling(255.0, name="to_255")(x)
    x = keras.layers.Lambda(keras.applications.resnet50.preprocess_input, name="imagenet_preprocess")(x)
    resnet = keras.applications.ResNet50(weights=weights, include_top=False, input_shape=(size, size, 3))
    return keras.Model(inputs, resnet(x), name="imagenet_resnet50")
