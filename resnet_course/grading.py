"""Grading: the checks of the graded exercises, their hint tables, and what they compare against.

Kept apart from the lesson code. Each check builds the learner's block and the
reference on a small input, compares the layers, copies the reference's
weights across and compares outputs; it prints one verdict and returns its key.
Lessons: 01 (``check_residual_block``), 02 (``check_identity_block``,
``check_convolutional_block``, ``randomize_batchnorm``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from resnet_course.blocks import basic_block, convolutional_block, identity_block

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
    "weights": "The weights of {detail}: the convs of these blocks keep Keras's default bias (use_bias=True), "
    "as in keras.applications.ResNet50, and BatchNormalization keeps its default parameters.",
    "values": "The output shape is right but the values differ from the reference ({detail}); compare your "
    "block with the diagram, layer by layer.",
}


Verdict = tuple[str, str]  # (key of the hint table, detail for the hint)
Build = Callable[[keras.KerasTensor], keras.KerasTensor]
LayerRule = Callable[[keras.Layer, "keras.Layer | None", dict[str, keras.Layer]], "Verdict | None"]


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


@dataclass(frozen=True)
class BlockCase:
    """One configuration a check tries: the reference and the learner's block on the same input.

    ``main_layer`` is the reference's last layer of the main path before the
    addition (``add_layer``); ``rules`` inspects each Conv2D and BatchNorm
    layer of the reference next to the learner's layer of the same name (None
    when missing) and names a mistake; ``build_error`` names the mistake when
    the learner's block raises an error while it is built.
    """

    reference: Build
    learner: Build
    input_shape: tuple[int, ...]
    main_layer: str
    add_layer: str
    rules: LayerRule
    build_error: Callable[[Exception], Verdict]
    seed: int


def compare_block(case: BlockCase) -> Verdict:
    """The comparison every check shares: layers, output shape, then outputs with the reference's weights.

    The reference's weights (BatchNorm statistics randomised) are copied into
    the learner's layers by name, and the outputs compared in inference and in
    training mode. A wrong output is matched against the usual mistakes
    (no shortcut, final ReLU missing or before the addition).
    """
    inputs = keras.Input(case.input_shape[1:])
    ref = keras.Model(inputs, case.reference(inputs))
    try:
        learner_in = keras.Input(case.input_shape[1:])
        learner = keras.Model(learner_in, case.learner(learner_in))
    except NotImplementedError:
        return "not_implemented", ""
    except Exception as err:  # a learner's bug can raise anything; report it as a hint
        return case.build_error(err)
    names = {layer.name: layer for layer in learner.layers}
    for ref_layer in ref.layers:
        if isinstance(ref_layer, keras.layers.Conv2D | keras.layers.BatchNormalization):
            found = case.rules(ref_layer, names.get(ref_layer.name), names)
            if found is not None:
                return found
    if tuple(learner.output.shape) != tuple(ref.output.shape):
        return "shape", f"{tuple(ref.output.shape)}, got {tuple(learner.output.shape)}"
    rs = np.random.RandomState(case.seed)
    randomize_batchnorm(ref, rs)
    for ref_layer in ref.layers:
        if not ref_layer.weights:
            continue
        layer = names[ref_layer.name]
        theirs, ours = [tuple(w.shape) for w in layer.weights], [tuple(w.shape) for w in ref_layer.weights]
        if theirs != ours:
            return "weights", f"{layer.name} has weights of shapes {theirs}, the reference {ours}"
        layer.set_weights(ref_layer.get_weights())
    x = rs.normal(size=case.input_shape).astype("float32")
    # Inference first: a call in training mode updates BatchNorm's moving averages.
    for training in (False, True):
        got = keras.ops.convert_to_numpy(learner(x, training=training))
        want = keras.ops.convert_to_numpy(ref(x, training=training))
        if not np.allclose(got, want, atol=1e-5):
            detail = f"{'training' if training else 'inference'} mode, max difference {np.abs(got - want).max():.3g}"
            return _known_mistake(ref, x, got, case, training) or "values", detail
    return "ok", ""


def _known_mistake(ref: keras.Model, x: np.ndarray, got: np.ndarray, case: BlockCase, training: bool) -> str | None:
    """Match a wrong output against the usual mistakes, computed from the reference's pieces:
    the main path (output of ``case.main_layer``) and the shortcut (second input of ``case.add_layer``)."""
    probe = keras.Model(ref.input, [ref.get_layer(case.main_layer).output, ref.get_layer(case.add_layer).input[1]])
    main, shortcut = (keras.ops.convert_to_numpy(t) for t in probe(x, training=training))
    relu = lambda t: np.maximum(t, 0.0)  # noqa: E731
    candidates = {
        "missing_final_relu": main + shortcut,
        "relu_before_add": relu(main) + shortcut,
        "no_shortcut": relu(main),
    }
    for key, value in candidates.items():
        if value.shape == got.shape and np.allclose(got, value, atol=1e-5):
            return key
    if got.min() < 0:  # a ReLU ends every block: a negative output has none at the end
        return "missing_final_relu"
    return None


# The input and filters the bottleneck checks use: small, so that a check takes a second.
_CHECK_INPUT = (3, 4, 4, 6)
_CHECK_FILTERS = (2, 4, 6)


def _bottleneck_rules(
    ref_layer: keras.Layer, layer: keras.Layer | None, names: dict[str, keras.Layer]
) -> Verdict | None:
    """The layer-by-layer checks of the identity and convolutional blocks."""
    if layer is None:
        has_add = any(isinstance(x, keras.layers.Add) for x in names.values())
        if ref_layer.name.endswith("branch1"):
            if not has_add:
                return "no_shortcut", ""
            if isinstance(ref_layer, keras.layers.BatchNormalization):
                return "shortcut_no_bn", ""
        if isinstance(ref_layer, keras.layers.BatchNormalization) and any(n.startswith("bn") for n in names):
            return "missing_bn", repr(ref_layer.name)
        return "layer_names", repr(ref_layer.name)
    if isinstance(ref_layer, keras.layers.Conv2D):
        if tuple(layer.kernel_size) != tuple(ref_layer.kernel_size):
            return "kernel_size", layer.name
        if tuple(layer.strides) != tuple(ref_layer.strides):
            return "stride", f"{layer.name} has strides {tuple(layer.strides)}"
        if layer.filters != ref_layer.filters:
            return "filters", f"{layer.name} ({layer.filters} instead of {ref_layer.filters})"
        if layer.kernel_size != (1, 1) and layer.padding != ref_layer.padding:
            return "padding", f"{layer.name} (padding='{layer.padding}')"
    elif layer.axis not in (3, -1, [3], [-1]):
        return "bn_axis", f"{layer.name} (axis={layer.axis})"
    return None


def _bottleneck_build_error(identity: bool) -> Callable[[Exception], Verdict]:
    def build_error(err: Exception) -> Verdict:
        message = str(err)
        if "output size would be zero or negative" in message:
            return "padding", "a conv shrank the image to nothing"
        if "incompatible shapes" in message:  # the identity block has no stride: only padding changes the size
            return ("padding" if identity else "add_shapes"), f"at the addition: {message.split('Received ')[-1]}"
        return "error", f"{type(err).__name__}: {err}"

    return build_error


def _bottleneck_case(
    fn: Callable[..., keras.KerasTensor], reference: Callable[..., keras.KerasTensor], f: int, s: int | None
) -> BlockCase:
    """The learner's and the reference bottleneck block with window ``f`` (and stride ``s``, None: identity block)."""
    stage, block = 9, "z"
    kwargs = {} if s is None else {"s": s}
    return BlockCase(
        reference=lambda X: reference(X, f, _CHECK_FILTERS, stage, block, **kwargs),
        learner=lambda X: fn(X, f, list(_CHECK_FILTERS), stage, block, **kwargs),
        input_shape=_CHECK_INPUT,
        main_layer=f"bn{stage}{block}_branch2c",
        add_layer=f"res{stage}{block}_add",
        rules=_bottleneck_rules,
        build_error=_bottleneck_build_error(identity=s is None),
        seed=1,
    )


def _check_bottleneck(
    fn: Callable[..., keras.KerasTensor], reference: Callable[..., keras.KerasTensor], s: int | None
) -> str:
    """Compare a learner's bottleneck block with the reference, for ``f`` = 3 and ``f`` = 1."""
    for f in (3, 1):
        key, detail = compare_block(_bottleneck_case(fn, reference, f, s))
        if key != "ok":
            return _verdict(key, detail)
    return _verdict("ok")


def check_identity_block(fn: Callable[..., keras.KerasTensor]) -> str:
    """Check a learner's ``identity_block(X, f, filters, stage, block)`` against the reference.

    Builds both on a ``(3, 4, 4, 6)`` input with ``filters=[2, 4, 6]``, for
    ``f=3`` and ``f=1``; checks the layers (names, windows, strides, filters,
    padding, BatchNorm axis), copies the reference's weights into the
    learner's block and compares the outputs in inference and in training mode.

    Returns:
        the key of the printed verdict in ``HINTS``: ``"ok"``, ``"not_implemented"``
        or the mistake found.
    """
    return _check_bottleneck(fn, identity_block, s=None)


def check_convolutional_block(fn: Callable[..., keras.KerasTensor]) -> str:
    """Check a learner's ``convolutional_block(X, f, filters, stage, block, s)`` against the reference.

    As ``check_identity_block``, with ``s=2`` (so ``(3, 4, 4, 6) -> (3, 2, 2, 6)``).

    Returns:
        the key of the printed verdict in ``HINTS``.
    """
    return _check_bottleneck(fn, convolutional_block, s=2)


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
    "weights": "The weights of {detail}: the convs and the projection have no bias (use_bias=False, as in "
    "plain_block), since the BatchNorm after each conv has its own shift (beta).",
    "values": "The output shape is right but the values differ from the reference ({detail}).",
}


def _basic_rules(name: str, identity_shortcut: bool) -> LayerRule:
    """The layer-by-layer checks of the residual (basic) block named ``name``."""

    def rules(ref_layer: keras.Layer, layer: keras.Layer | None, names: dict[str, keras.Layer]) -> Verdict | None:
        if identity_shortcut and f"{name}_proj" in names:
            return "projection_always", ""
        if layer is None:
            if ref_layer.name == f"{name}_proj_bn" and f"{name}_proj" in names:
                return "shortcut_no_bn", ""
            if ref_layer.name == f"{name}_proj" and not any(isinstance(x, keras.layers.Add) for x in names.values()):
                return "no_shortcut", ""
            return "layer_names", repr(ref_layer.name)
        if isinstance(layer, keras.layers.Conv2D) and tuple(layer.strides) != tuple(ref_layer.strides):
            return "stride", f"{layer.name} has strides {tuple(layer.strides)}"
        return None

    return rules


def _basic_build_error(err: Exception) -> Verdict:
    if "incompatible shapes" in str(err):
        return "projection_needed", str(err).split("Received ")[-1]
    return "error", f"{type(err).__name__}: {err}"


def _basic_case(fn: Callable[..., keras.KerasTensor], filters: int, s: int) -> BlockCase:
    """The learner's residual block and ``basic_block`` with ``filters`` and stride ``s`` on a (2, 6, 6, 4) input."""
    shape, name = (2, 6, 6, 4), "ex"
    return BlockCase(
        reference=lambda X: basic_block(X, filters, s=s, residual=True, name=name),
        learner=lambda X: fn(X, filters, s=s, name=name),
        input_shape=shape,
        main_layer=f"{name}_bn2",
        add_layer=f"{name}_add",
        rules=_basic_rules(name, identity_shortcut=s == 1 and shape[-1] == filters),
        build_error=_basic_build_error,
        seed=2,
    )


def check_residual_block(fn: Callable[..., keras.KerasTensor]) -> str:
    """Check a learner's ``residual_block(X, filters, s=1, name=...)`` against ``basic_block``.

    Two cases: an identity shortcut (``(2, 6, 6, 4)`` input, 4 filters, s=1)
    and a projection (8 filters, s=2). The reference's weights (with random
    BatchNorm statistics) are copied into the learner's layers by name and the
    outputs compared in inference and in training mode; a wrong output is
    matched against the usual mistakes (no shortcut, ReLU missing or before
    the addition).

    Returns:
        the key of the printed verdict in ``BASIC_HINTS``.
    """
    for filters, s in ((4, 1), (8, 2)):
        key, detail = compare_block(_basic_case(fn, filters, s))
        if key != "ok":
            return _verdict(key, f"{filters} filters, s={s}: {detail}" if key == "values" else detail, BASIC_HINTS)
    return _verdict("ok", "", BASIC_HINTS)
