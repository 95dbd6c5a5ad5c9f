"""What every block check shares: the printed verdict, the comparison with a reference, the usual mistakes.

A check builds the learner's block and the reference on the same small
input, compares their layers by name, copies the reference's weights across
and compares the outputs in inference and in training mode. The result is a
``Verdict``: the key of a hint table and the detail the hint names.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

Verdict = tuple[str, str]  # (key of the hint table, detail for the hint)
Build = Callable[[keras.KerasTensor], keras.KerasTensor]
LayerRule = Callable[[keras.Layer, "keras.Layer | None", dict[str, keras.Layer]], "Verdict | None"]
Mistakes = Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]]

# The hints every check shares.
COMMON_HINTS: dict[str, str] = {
    "not_implemented": "Not implemented yet: replace the `raise NotImplementedError()` with your code.",
    "unbound": "Your code uses {detail}, which has no value where it is read (a typo, or a variable assigned "
    "later, or a setting such as `conv` defined in another function). In a block, read the input X for "
    "the shortcut before the main path overwrites it (the bottleneck blocks keep it as `X_shortcut = X`).",
    "error": "Your code raised an error when the check called it: {detail}",
}

# The hints every block check shares (``compare_block`` can give them).
BLOCK_HINTS: dict[str, str] = COMMON_HINTS | {
    "bn_training": "A layer of your block is called with training=True ({detail}): leave the training "
    "argument out. Keras passes the right flag itself (fit trains; predict, evaluate and a call without a flag "
    "infer); a fixed training=True makes BatchNorm use batch statistics and move its moving averages at "
    "inference time.",
}


def say(key: str, detail: str, hints: dict[str, str], context: str = "") -> str:
    """Print the verdict for ``key`` (✔ for "ok", ✘ otherwise), with ``context`` on a second line; return ``key``."""
    text = hints[key].format(detail=detail)
    print(("✔ " if key == "ok" else "✘ ") + text + (f"\n  ({context})" if context and key != "ok" else ""))
    return key


def build_error(err: Exception) -> Verdict:
    """The verdict for an exception raised while the learner's code was built or called."""
    if isinstance(err, NotImplementedError):
        return "not_implemented", ""
    if isinstance(err, NameError):  # UnboundLocalError too
        name = re.search(r"'(\w+)'", str(err))
        return "unbound", f"`{name.group(1)}`" if name else "a variable"
    return "error", f"{type(err).__name__}: {err}"


# What ``recorded_builds`` saw: each Add or Conv2D layer built, with the input shape(s) it was built for.
Builds = list[tuple[keras.Layer, Any]]


@contextlib.contextmanager
def recorded_builds() -> Iterator[Builds]:
    """Record every ``Add`` and ``Conv2D`` layer built inside the ``with`` block, with its input shapes.

    While it is active, the ``build`` of these two classes first appends the
    layer and the shapes it is given, then builds as usual (Keras still raises
    for shapes that do not fit); the classes are restored afterwards. The
    checks read a failed addition or an empty conv output from these shapes
    (``mismatched_addition``, ``vanishing_conv``), not from Keras's error messages.
    """
    builds: Builds = []

    def recording(inherited: Callable[[keras.Layer, Any], None]) -> Callable[[keras.Layer, Any], None]:
        # One argument besides self, named input_shape: Keras passes the shape by the parameter's name.
        def build(self: keras.Layer, input_shape: Any) -> None:
            builds.append((self, input_shape))
            inherited(self, input_shape)

        return build

    saved = [(cls, cls.__dict__.get("build")) for cls in (keras.layers.Add, keras.layers.Conv2D)]
    for cls, _ in saved:
        cls.build = recording(cls.build)
    try:
        yield builds
    finally:
        for cls, own in saved:
            if own is None:
                del cls.build
            else:
                cls.build = own


def mismatched_addition(builds: Builds) -> str | None:
    """The first recorded addition whose inputs differ in shape (the batch axis aside), e.g.
    ``"(6, 6, 4) and (3, 3, 8)"``; None when every addition matched."""
    for layer, shapes in builds:
        if isinstance(layer, keras.layers.Add):
            first = tuple(shapes[0])[1:]
            for other in shapes[1:]:
                if tuple(other)[1:] != first:
                    return f"{first} and {tuple(other)[1:]}"
    return None


def vanishing_conv(builds: Builds) -> str | None:
    """The first recorded conv with ``padding="valid"`` whose window is larger than its input
    (its output would have no pixels), e.g. ``"res2a_branch2b: a 3x3 window on 2x2 pixels"``."""
    for layer, shape in builds:
        if isinstance(layer, keras.layers.Conv2D) and layer.padding == "valid":
            size = tuple(shape)[1:3]
            if any(n is not None and n < k for n, k in zip(size, layer.kernel_size, strict=True)):
                window = "x".join(map(str, layer.kernel_size))
                return f"{layer.name}: a {window} window on {size[0]}x{size[1]} pixels"
    return None


def valid_window(builds: Builds) -> str | None:
    """The first recorded conv with a window larger than 1x1 and ``padding="valid"`` (it shrinks the
    image), e.g. ``"ex_conv1 has padding='valid'"``; None when there is none."""
    for layer, _ in builds:
        if isinstance(layer, keras.layers.Conv2D) and layer.padding == "valid" and max(layer.kernel_size) > 1:
            return f"{layer.name} has padding='valid'"
    return None


def source(layer: keras.Layer) -> keras.Operation:
    """The layer that produced ``layer``'s (first) input."""
    tensor = layer.input[0] if isinstance(layer.input, list) else layer.input
    return tensor._keras_history.operation


def randomize_batchnorm(model: keras.Model, rs: np.random.RandomState) -> None:
    """Give every BatchNorm layer of ``model`` random gamma, beta and moving statistics,
    so that comparisons in inference mode test non-trivial moving averages."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights(
                [rs.uniform(0.5, 1.5, n), rs.uniform(-0.5, 0.5, n), rs.uniform(-0.5, 0.5, n), rs.uniform(0.5, 2.0, n)]
            )


def copy_weights(ref: keras.Model, names: dict[str, keras.Layer]) -> Verdict | None:
    """Copy every weighted layer of ``ref`` into the layer of the same name in ``names``;
    a layer whose weights have other shapes (a kept or missing bias, another window) is named instead."""
    for ref_layer in ref.layers:
        if not ref_layer.weights:
            continue
        layer = names[ref_layer.name]
        theirs, ours = [tuple(w.shape) for w in layer.weights], [tuple(w.shape) for w in ref_layer.weights]
        if theirs != ours:
            if isinstance(ref_layer, keras.layers.Conv2D | keras.layers.Dense) and (
                bool(getattr(layer, "use_bias", True)) != bool(ref_layer.use_bias)
            ):
                return "bias", f"{layer.name} has use_bias={bool(getattr(layer, 'use_bias', True))}"
            return "weights", f"{layer.name} has weights of shapes {theirs}, the reference {ours}"
        layer.set_weights(ref_layer.get_weights())
    return None


def conv_rules(
    layer: keras.Layer,
    ref_layer: keras.Layer,
    strided: tuple[str, ...] = (),
    s: int = 1,
    names: dict[str, keras.Layer] | None = None,
) -> Verdict | None:
    """The conv named like ``ref_layer``: a Conv2D with its window, stride and filters (None when they match).

    ``strided`` names the convs that carry the block's stride ``s``: a wrong stride there is the
    argument replaced by a number ("stride_value"), unless it is 1 and another of the learner's
    convs (in ``names``) carries a stride instead; a wrong stride elsewhere is on the wrong conv ("stride").
    """
    if not isinstance(layer, keras.layers.Conv2D):
        return "layer_names", f"{ref_layer.name!r} (a Conv2D; yours is a {type(layer).__name__})"
    if tuple(layer.kernel_size) != tuple(ref_layer.kernel_size):
        return "kernel_size", f"{layer.name} ({tuple(layer.kernel_size)}, expected {tuple(ref_layer.kernel_size)})"
    if tuple(layer.strides) != tuple(ref_layer.strides):
        found = f"{layer.name} has strides {tuple(layer.strides)}, expected {tuple(ref_layer.strides)}"
        moved = any(
            isinstance(other, keras.layers.Conv2D) and other.name not in strided and max(other.strides) > 1
            for other in (names or {}).values()
        )
        if ref_layer.name in strided and not (max(layer.strides) == 1 and moved):
            return "stride_value", f"{found}: the check passed s={s}"
        return "stride", found
    if layer.filters != ref_layer.filters:
        return "filters", f"{layer.name} ({layer.filters} instead of {ref_layer.filters})"
    return None


def bn_rules(layer: keras.Layer, ref_layer: keras.Layer) -> Verdict | None:
    """The BatchNorm named like ``ref_layer``: its momentum (which only training shows) and epsilon."""
    if layer.momentum != ref_layer.momentum or layer.epsilon != ref_layer.epsilon:
        return "bn_momentum", (
            f"{layer.name} has momentum={layer.momentum:g}, epsilon={layer.epsilon:g}; expected "
            f"momentum={ref_layer.momentum:g}, epsilon={ref_layer.epsilon:g}"
        )
    return None


def post_activation_mistakes(main: np.ndarray, shortcut: np.ndarray) -> dict[str, np.ndarray]:
    """The outputs of the usual wrong post-activation blocks, ReLU(main + shortcut) being right."""
    relu = lambda t: np.maximum(t, 0.0)  # noqa: E731
    return {
        "missing_final_relu": main + shortcut,
        "relu_before_add": relu(main) + shortcut,
        "no_shortcut": relu(main),
        "relu_on_shortcut": relu(main + relu(shortcut)),
        "relu_twice": relu(relu(main) + shortcut),
        "double_main": relu(main + main),
    }


@dataclass(frozen=True)
class BlockCase:
    """One configuration a check tries: the reference and the learner's block on the same input.

        ``main_layer`` is the reference's last layer of the main path before the
        addition (``add_layer``); ``rules`` inspects each Conv2D and BatchNorm
        layer of the reference next to the learner's layer of the same name (None
        when missing) and names a mistake; ``build_error`` names the mistake when
        the learner's block raises an error while it is built (given the shapes of a
    mismatched addition, ``mismatched_addition``, or None); ``mistakes`` maps
        the main path and the shortcut of the reference to the outputs of the
        usual wrong blocks; ``context`` says how the check called the block.
    """

    reference: Build
    learner: Build
    input_shape: tuple[int, ...]
    main_layer: str
    add_layer: str
    rules: LayerRule
    build_error: Callable[[Exception, Builds], Verdict]
    seed: int
    context: str = ""
    mistakes: Mistakes = post_activation_mistakes


def compare_block(case: BlockCase) -> Verdict:
    """The comparison every block check shares: layers, output shape, then outputs with the reference's weights.

    The reference's weights (BatchNorm statistics randomised) are copied into
    the learner's layers by name, and the outputs compared in inference and in
    training mode. A wrong output is matched against ``case.mistakes``.
    """
    inputs = keras.Input(case.input_shape[1:])
    ref = keras.Model(inputs, case.reference(inputs))
    try:
        with recorded_builds() as builds:
            learner_in = keras.Input(case.input_shape[1:])
            learner = keras.Model(learner_in, case.learner(learner_in))
    except Exception as err:  # a learner's bug can raise anything; report it as a hint
        return case.build_error(err, builds)
    names = {layer.name: layer for layer in learner.layers}
    for layer in learner.layers:  # Add()([X, X]): the main path added to itself (and the shortcut left out)
        if isinstance(layer, keras.layers.Add) and len({id(t) for t in layer.input}) < len(layer.input):
            return "double_main", ""
    for ref_layer in ref.layers:
        if isinstance(ref_layer, keras.layers.Conv2D | keras.layers.BatchNormalization):
            found = case.rules(ref_layer, names.get(ref_layer.name), names)
            if found is not None:
                return found
    if tuple(learner.output.shape) != tuple(ref.output.shape):
        return "shape", f"{tuple(ref.output.shape)}, got {tuple(learner.output.shape)}"
    rs = np.random.RandomState(case.seed)
    randomize_batchnorm(ref, rs)
    copied = copy_weights(ref, names)
    if copied is not None:
        return copied
    x = rs.normal(size=case.input_shape).astype("float32")
    # Inference first: a call in training mode updates BatchNorm's moving averages.
    for training in (False, True):
        got = keras.ops.convert_to_numpy(learner(x, training=training))
        want = keras.ops.convert_to_numpy(ref(x, training=training))
        if not np.allclose(got, want, atol=1e-5):
            detail = f"{'training' if training else 'inference'} mode, max difference {np.abs(got - want).max():.3g}"
            return _known_mistake(ref, x, got, case, training) or "values", detail
        if not training:
            # A caller's flag overrides a layer's own training=True: only a call without a flag shows it.
            moving = [keras.ops.convert_to_numpy(v) for v in learner.non_trainable_variables]
            unflagged = keras.ops.convert_to_numpy(learner(x))
            moved = [
                v.path
                for v, old in zip(learner.non_trainable_variables, moving, strict=True)
                if not np.allclose(keras.ops.convert_to_numpy(v), old)
            ]
            if moved or not np.allclose(unflagged, want, atol=1e-5):
                return "bn_training", f"called without a flag it moved {', '.join(moved) or 'no moving average'}"
    return "ok", ""


def _batchnorm(layer: keras.Layer, z: np.ndarray, training: bool) -> np.ndarray:
    """What BatchNorm ``layer`` computes on ``z`` (batch statistics in training mode), in NumPy."""
    gamma, beta, mean, var = (keras.ops.convert_to_numpy(w) for w in layer.weights)
    if training:
        mean, var = z.mean(axis=(0, 1, 2)), z.var(axis=(0, 1, 2))
    return gamma * (z - mean) / np.sqrt(var + layer.epsilon) + beta


def _known_mistake(ref: keras.Model, x: np.ndarray, got: np.ndarray, case: BlockCase, training: bool) -> str | None:
    """Match a wrong output against the usual mistakes, computed from the reference's pieces:
    the main path (output of ``case.main_layer``) and the shortcut (second input of ``case.add_layer``);
    where the main path ends in a BatchNorm, also the addition placed before it ("add_before_bn")."""
    main_layer = ref.get_layer(case.main_layer)
    probe = keras.Model(ref.input, [main_layer.output, ref.get_layer(case.add_layer).input[1], main_layer.input])
    main, shortcut, before = (keras.ops.convert_to_numpy(t) for t in probe(x, training=training))
    candidates = case.mistakes(main, shortcut)
    if isinstance(main_layer, keras.layers.BatchNormalization):
        candidates["add_before_bn"] = np.maximum(_batchnorm(main_layer, before + shortcut, training), 0.0)
    for key, value in candidates.items():
        if value.shape == got.shape and np.allclose(got, value, atol=1e-4):
            return key
    return None
