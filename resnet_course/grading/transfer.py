"""The checks of lesson 06's exercises: ``build_transfer_model(base, classes)`` and ``unfreeze(base)``.

Both checks use a small trained-looking base (a conv, a BatchNorm with random
moving statistics, a ReLU). ``check_transfer_model`` calls the
learner's function with 4 classes (not the lesson's 6, so that a number written
in shows) and reads the model it returns: its output shape, the layers it
contains, which weights are trainable, whether the output is a probability and
whether it equals pooling -> Dense(softmax) with the learner's head weights.
``check_unfreeze`` builds the reference transfer model, calls the learner's
``unfreeze(base)`` and reads the trainable flags, then takes one ``fit`` step:
the conv must learn and the BatchNorm keep its moving statistics. Lesson: 06.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from resnet_course.grading.compare import COMMON_HINTS, Verdict, build_error, randomize_batchnorm, say
from resnet_course.transfer import build_transfer_model

# The hint printed for each mistake ``check_transfer_model`` can name.
TRANSFER_HINTS: dict[str, str] = COMMON_HINTS | {
    "ok": "All checks passed: a frozen base in inference mode, global average pooling and a new softmax head.",
    "not_model": "build_transfer_model returned {detail}: return a keras.Model from the base's input shape "
    "to the new head's probabilities.",
    "no_pooling": "The output has shape {detail}: the Dense head is applied at every position of the base's "
    "feature maps. Average them over the positions first, GlobalAveragePooling2D(), as the ResNet does before "
    "its own head.",
    "flatten": "The head reads a Flatten of the feature maps: use GlobalAveragePooling2D(), which averages each "
    "map over its positions (the ResNet's own pooling), gives as many features as the base has channels at "
    "any input size, and adds no weights per position.",
    "max_pooling": "The feature maps are max-pooled: use GlobalAveragePooling2D(), the pooling the ResNet "
    "was trained with, so that the base's features mean what they meant in training.",
    "classes": "The output has {detail} values per image: give the head Dense(classes) units, with the "
    "`classes` the check passed (4 here), not a number written in.",
    "base_not_layer": "The base's layers are wired into your model one by one (keras.Model(base.input, ...) "
    "or base.output), not called as one layer: call it as `base(inputs, training=False)` on a new "
    "keras.Input, so that `training=False` holds for all of it and base.trainable switches it as a whole.",
    "base_trainable": "The base is not frozen ({detail} trainable): set base.trainable = False before "
    "training the head, so that the new head's first, large gradients cannot change the trained weights.",
    "bn_trainable": "Only some layers are frozen: the BatchNorm layers {detail} are still trainable. Set "
    "base.trainable = False on the whole base: it freezes every layer and, in Keras 3, also runs its "
    "BatchNorm layers in inference mode.",
    "head_frozen": "Nothing in your model is trainable, the head included ({detail}): freeze the base "
    "(base.trainable = False), not the whole model or the new Dense layer.",
    "no_softmax": "The outputs are not probabilities ({detail}): give the head activation='softmax', as the "
    "loss (categorical cross-entropy) and accuracy expect.",
    "input": "The model's input has shape {detail}: build it on keras.Input(base.input.shape[1:]), the "
    "shape of the base's images.",
    "values": "The layers look right, but the output differs from pooling -> Dense(softmax) on the base's "
    "features ({detail}): the model should be just base -> GlobalAveragePooling2D -> Dense(classes, "
    "softmax), with nothing in between.",
}

CLASSES = 4
INPUT_SHAPE = (8, 8, 3)
CONTEXT = f"the check called build_transfer_model(base, classes={CLASSES}) with a small base on {INPUT_SHAPE} images"


def probe_base(seed: int = 0) -> keras.Model:
    """The checks' base: conv -> BatchNorm (random gamma, beta and moving statistics) -> ReLU, 8 channels of 4x4."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(INPUT_SHAPE, name="base_input")
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False, name="base_conv")(inputs)
    x = keras.layers.BatchNormalization(momentum=0.5, name="base_bn")(x)
    base = keras.Model(inputs, keras.layers.Activation("relu", name="base_relu")(x), name="base")
    randomize_batchnorm(base, np.random.RandomState(seed))
    return base


def _all_layers(model: keras.Model) -> list[keras.Layer]:
    """The layers of ``model`` and of the models inside it."""
    found: list[keras.Layer] = []
    for layer in model.layers:
        found.append(layer)
        if isinstance(layer, keras.Model):
            found.extend(_all_layers(layer))
    return found


def _structure(model: Any, base: keras.Model) -> Verdict | None:
    """A mistake read from the returned object's type, shape and layers, before it is called."""
    if not isinstance(model, keras.Model):
        return "not_model", f"a {type(model).__name__}"
    shape = tuple(model.output.shape) if not isinstance(model.output, list | tuple) else None
    if shape is None:
        return "not_model", "a model with several outputs"
    if tuple(model.input.shape[1:]) != INPUT_SHAPE:
        return "input", str(tuple(model.input.shape))
    if len(shape) > 2:
        return "no_pooling", str(shape)
    layers = _all_layers(model)
    if any(isinstance(layer, keras.layers.Flatten) for layer in layers):
        return "flatten", ""
    if any(isinstance(layer, keras.layers.GlobalMaxPooling2D) for layer in layers):
        return "max_pooling", ""
    if shape[-1] != CLASSES:
        return "classes", str(shape[-1])
    if not any(layer is base for layer in model.layers):
        return "base_not_layer", ""
    trainable = [layer.name for layer in _all_layers(base) if layer.trainable_weights]
    if trainable:
        bns = [n for n in trainable if isinstance(base.get_layer(n), keras.layers.BatchNormalization)]
        return ("bn_trainable", str(bns)) if bns == trainable else ("base_trainable", ", ".join(trainable))
    if not model.trainable_weights:
        return "head_frozen", f"model.trainable_weights is empty; model.trainable={model.trainable}"
    return None


def _expected(model: keras.Model, base: keras.Model, x: np.ndarray) -> np.ndarray | None:
    """The reference's output with the learner's head weights, or None when the model has no single Dense head."""
    heads = [layer for layer in _all_layers(model) if isinstance(layer, keras.layers.Dense)]
    if len(heads) != 1 or tuple(heads[0].kernel.shape) != (base.output.shape[-1], CLASSES):
        return None
    features = np.asarray(base(x, training=False)).mean(axis=(1, 2))
    logits = features @ heads[0].kernel.numpy() + (heads[0].bias.numpy() if heads[0].use_bias else 0.0)
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def _check(fn: Callable[..., Any]) -> Verdict:
    base = probe_base()
    try:
        model = fn(base, classes=CLASSES)
    except Exception as err:  # the learner's code may raise anything
        return build_error(err)
    found = _structure(model, base)
    if found is not None:
        return found
    x = np.random.RandomState(1).uniform(size=(6, *INPUT_SHAPE)).astype("float32")
    inference = np.asarray(model(x, training=False), dtype=np.float64)
    sums = inference.sum(axis=1)
    if inference.min() < 0 or np.abs(sums - 1).max() > 1e-4:
        return "no_softmax", f"each image's outputs sum to {sums.min():.3g}-{sums.max():.3g}, not 1"
    expected = _expected(model, base, x)
    if expected is None:
        return "values", "the model has more than one Dense layer, or its kernel is not (channels, classes)"
    if np.abs(inference - expected).max() > 1e-4:
        return "values", f"largest difference {np.abs(inference - expected).max():.3g}"
    return "ok", ""


# The hint printed for each mistake ``check_unfreeze`` can name.
UNFREEZE_HINTS: dict[str, str] = COMMON_HINTS | {
    "ok": "All checks passed: the base's convs learn, its BatchNorm layers keep their moving statistics.",
    "still_frozen": "The base's convs are still frozen ({detail}): set base.trainable = True, which makes "
    "every layer inside trainable again, before you freeze the BatchNorm layers.",
    "bn_updating": "The BatchNorm layers {detail} are trainable, so fit runs them in training mode: they "
    "normalise with each batch's own statistics and overwrite their moving averages with those of the few new "
    "images. `training=False` in build_transfer_model does not prevent it: Keras 3 passes fit's training=True "
    "to every layer. After base.trainable = True, set `layer.trainable = False` on each BatchNormalization "
    "layer of the base.",
    "bn_order": "The BatchNorm layers are trainable again: base.trainable = True, set after them, makes every "
    "layer inside trainable. Set base.trainable = True first, then freeze each BatchNormalization layer.",
    "moved": "The flags look right, but one fit step {detail}: only the convs (and the head) should change.",
}
UNFREEZE_CONTEXT = "the check built the reference transfer model on a small base, called unfreeze(base), fit one step"


def _recorded_flags(layer: keras.Layer) -> tuple[list[bool], Callable[[], None]]:
    """Record every value assigned to ``layer.trainable`` (the learner's and base.trainable's own);
    returns the record and the function that stops recording."""
    record: list[bool] = []
    cls = type(layer)

    class Recorded(cls):  # type: ignore[misc, valid-type]
        def __setattr__(self, name: str, value: Any) -> None:
            if name == "trainable":  # recorded here: Keras skips assigning a value the layer already has
                record.append(bool(value))
            super().__setattr__(name, value)

    layer.__class__ = Recorded

    def stop() -> None:
        layer.__class__ = cls

    return record, stop


def _unfreeze(fn: Callable[..., Any]) -> Verdict:
    base = probe_base()
    model = build_transfer_model(base, classes=CLASSES)
    record, stop = _recorded_flags(base.get_layer("base_bn"))
    try:
        fn(base)
    except Exception as err:  # the learner's code may raise anything
        return build_error(err)
    finally:
        stop()
    conv, bn = base.get_layer("base_conv"), base.get_layer("base_bn")
    if not conv.trainable_weights:
        return "still_frozen", f"base.trainable={base.trainable}, {conv.name}.trainable={conv.trainable}"
    if bn.trainable:
        return ("bn_order", "") if False in record else ("bn_updating", f"['{bn.name}']")
    x = np.random.RandomState(1).uniform(size=(16, *INPUT_SHAPE)).astype("float32")
    y = keras.utils.to_categorical(np.arange(16) % CLASSES, CLASSES)
    before = [np.array(w.numpy()) for w in (conv.kernel, bn.moving_mean, bn.gamma)]
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="categorical_crossentropy")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    after = (conv.kernel, bn.moving_mean, bn.gamma)
    kernel, mean, gamma = (np.abs(w.numpy() - b).max() for w, b in zip(after, before, strict=True))
    if kernel == 0:
        return "moved", "left the conv's kernel unchanged"
    if mean > 0 or gamma > 0:
        return "moved", f"changed the BatchNorm ({bn.name}: moving mean by {mean:.3g}, gamma by {gamma:.3g})"
    return "ok", ""


def check_transfer_model(fn: Callable[..., Any]) -> str:
    """Check a learner's ``build_transfer_model(base, classes)`` (lesson 06) against the reference.

    Returns:
        the key of the printed verdict in ``TRANSFER_HINTS``.
    """
    key, detail = _check(fn)
    return say(key, detail, TRANSFER_HINTS, CONTEXT)


def check_unfreeze(fn: Callable[..., Any]) -> str:
    """Check a learner's ``unfreeze(base)`` (lesson 06): the base trainable for fine-tuning, its BatchNorm
    layers frozen (in inference mode, their moving statistics kept).

    Returns:
        the key of the printed verdict in ``UNFREEZE_HINTS``.
    """
    key, detail = _unfreeze(fn)
    return say(key, detail, UNFREEZE_HINTS, UNFREEZE_CONTEXT)
