"""The checks of lesson 06's exercises: ``build_transfer_model(base, classes)`` and ``unfreeze(base)``.

Both checks use a small trained-looking base (a conv, a BatchNorm with random
moving statistics and a ReLU, twice). ``check_transfer_model`` calls the
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
    "returned_base": "build_transfer_model returned the base itself: build a new model around it, "
    "inputs = keras.Input(base.input.shape[1:]), the base called on them, pooling and a new head.",
    "sequential": "build_transfer_model returned a keras.Sequential model: build it the functional way, "
    "inputs = keras.Input(base.input.shape[1:]), base(inputs, training=False), the pooling and the head, and "
    "return keras.Model(inputs, outputs). The lesson reads the model's input and the output of its layers, which "
    "a Sequential model has only once it has been called.",
    "layout": "The model's last layers are {detail}: end it with the pooling, then the Dense head with "
    "activation='softmax' inside it (no separate Activation or Softmax layer, no nested model, nothing between "
    "them): the lesson takes the head as model.layers[-1] and the features as the output of model.layers[-2].",
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
    "keras.Input, so that base.trainable freezes and unfreezes it as a whole.",
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
    """The checks' base: (conv -> BatchNorm -> ReLU) twice, random gamma, beta and moving statistics; 8 maps of 4x4."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(INPUT_SHAPE, name="base_input")
    x = inputs
    for n, stride in ((1, 2), (2, 1)):
        x = keras.layers.Conv2D(8, 3, strides=stride, padding="same", use_bias=False, name=f"base_conv{n}")(x)
        x = keras.layers.BatchNormalization(momentum=0.5, name=f"base_bn{n}")(x)
        x = keras.layers.Activation("relu", name=f"base_relu{n}")(x)
    base = keras.Model(inputs, x, name="base")
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
    if model is base:
        return "returned_base", ""
    if not isinstance(model, keras.Model):
        return "not_model", f"a {type(model).__name__}"
    if isinstance(model, keras.Sequential):
        return "sequential", ""
    output = model.output
    shape = tuple(output.shape) if not isinstance(output, list | tuple) else None
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
    last = model.layers[-2:]
    if len(last) < 2 or not (
        isinstance(last[1], keras.layers.Dense) and isinstance(last[0], keras.layers.GlobalAveragePooling2D)
    ):
        return "layout", " -> ".join(f"{layer.name} ({type(layer).__name__})" for layer in last)
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
        return "no_softmax", f"each image's outputs sum to between {sums.min():.3g} and {sums.max():.3g}, not 1"
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
    "every layer inside trainable again, before you freeze the BatchNorm layers. Change the base you are given, "
    "in place: the lesson ignores what unfreeze returns.",
    "convs_frozen": "You froze the convs too ({detail}): after base.trainable = True, set trainable = False on "
    "the BatchNormalization layers only (isinstance(layer, BatchNormalization)).",
    "bn_updating": "The BatchNorm layers {detail} are trainable, so fit runs them in training mode: they "
    "normalise with each batch's own statistics and move their moving averages towards those of the few new "
    "images. `training=False` in build_transfer_model does not prevent it: Keras 3 passes fit's training=True "
    "to every layer. After base.trainable = True, set `layer.trainable = False` on each BatchNormalization "
    "layer of the base (if you did, your condition matched none or only some of them: test "
    "isinstance(layer, BatchNormalization) for every layer of base.layers).",
    "bn_order": "The BatchNorm layers are trainable again: base.trainable = True, set after them, makes every "
    "layer inside trainable. Set base.trainable = True first, then freeze each BatchNormalization layer.",
    "moved": "The flags look right, but one fit step {detail}: only the convs (and the head) should change.",
}
UNFREEZE_CONTEXT = (
    "the check built the reference transfer model on a small base with two BatchNorm layers, called unfreeze(base), "
    "then fit one step"
)


def _recorded_flags(layers: list[keras.Layer]) -> tuple[dict[str, list[bool]], Callable[[], None]]:
    """Record every value assigned to ``trainable`` of each of ``layers`` (the learner's and base.trainable's own,
    by name; Keras skips assigning a value a layer already has, so its setter alone would miss some); returns the
    record and the function that stops recording. The layers keep their class: the class's ``__setattr__`` is
    wrapped while recording, and put back by the returned function."""
    record: dict[str, list[bool]] = {layer.name: [] for layer in layers}
    watched = {id(layer): layer.name for layer in layers}
    classes = {type(layer) for layer in layers}
    saved = {cls: cls.__dict__.get("__setattr__") for cls in classes}

    def wrap(cls: type) -> Callable[[Any, str, Any], None]:
        inherited: Callable[[Any, str, Any], None] = getattr(cls, "__setattr__")  # noqa: B009

        def recording(self: Any, name: str, value: Any) -> None:
            if name == "trainable" and id(self) in watched:
                record[watched[id(self)]].append(bool(value))
            inherited(self, name, value)

        return recording

    for cls in classes:
        setattr(cls, "__setattr__", wrap(cls))  # noqa: B010

    def stop() -> None:
        for cls, own in saved.items():
            if own is None:
                delattr(cls, "__setattr__")
            else:
                setattr(cls, "__setattr__", own)  # noqa: B010

    return record, stop


def _unfreeze(fn: Callable[..., Any]) -> Verdict:
    base = probe_base()
    model = build_transfer_model(base, classes=CLASSES)
    bns = [layer for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)]
    record, stop = _recorded_flags(bns)
    try:
        fn(base)
    except Exception as err:  # the learner's code may raise anything
        return build_error(err)
    finally:
        stop()
    convs = [layer for layer in base.layers if isinstance(layer, keras.layers.Conv2D)]
    frozen = [layer.name for layer in convs if not layer.trainable_weights]
    if frozen and not base.trainable:
        return (
            "still_frozen",
            f"base.trainable={base.trainable}, {frozen[0]}.trainable={base.get_layer(frozen[0]).trainable}",
        )
    if frozen:
        return "convs_frozen", ", ".join(f"{name}.trainable=False" for name in frozen)
    updating = [layer.name for layer in bns if layer.trainable]
    if updating:
        if any(False in record[name] for name in updating):
            return "bn_order", ""
        return "bn_updating", str(updating)
    x = np.random.RandomState(1).uniform(size=(16, *INPUT_SHAPE)).astype("float32")
    y = keras.utils.to_categorical(np.arange(16) % CLASSES, CLASSES)
    kernels = [conv.kernel for conv in convs]
    statistics = [w for bn in bns for w in (bn.moving_mean, bn.moving_variance, bn.gamma, bn.beta)]
    before = [np.array(w.numpy()) for w in kernels + statistics]
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="categorical_crossentropy")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    moved = [float(np.abs(w.numpy() - b).max()) for w, b in zip(kernels + statistics, before, strict=True)]
    if max(moved[: len(kernels)]) == 0:
        return "moved", "left the convs' kernels unchanged"
    if max(moved[len(kernels) :]) > 0:
        return "moved", f"changed a BatchNorm layer's weights or statistics (by up to {max(moved[len(kernels) :]):.3g})"
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
