"""The checks of the basic blocks: lesson 01's ``residual_block``, lesson 04's ``basic_block`` and ``preact_block``.

Each check tries four configurations on a ``(2, 6, 6, 4)`` input: the
identity shortcut (4 filters, s=1), a new channel count alone (8, s=1), a
stride alone (4, s=2) and both (8, s=2), so that a shortcut that tests only
one of the two conditions gets a hint.
Lessons: 01 (``check_residual_block``), 04 (``check_basic_block``, ``check_preact_block``).
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from resnet_course.blocks import basic_block, preact_block
from resnet_course.grading.compare import (
    BLOCK_HINTS,
    BlockCase,
    Builds,
    LayerRule,
    Verdict,
    bn_rules,
    build_error,
    compare_block,
    conv_rules,
    mismatched_addition,
    post_activation_mistakes,
    say,
    source,
    valid_window,
)

# The hint printed for each mistake ``check_residual_block`` and ``check_basic_block`` can name.
BASIC_HINTS: dict[str, str] = BLOCK_HINTS | {
    "ok": "All checks passed: your block is the residual twin of plain_block.",
    "layer_names": "Layer {detail} not found: keep plain_block's names ('{{name}}_conv1', '{{name}}_bn1', "
    "'{{name}}_conv2', '{{name}}_bn2') and call the shortcut's layers '{{name}}_proj' and '{{name}}_proj_bn'.",
    "kernel_size": "Wrong window on {detail}: the two convs of the main path are 3x3, the projection is a 1x1 conv.",
    "filters": "Wrong number of filters on {detail}: every conv of the block, the projection too, has `filters`.",
    "stride": "Stride on the wrong conv ({detail}): as in plain_block, only the first 3x3 conv (and the "
    "projection) has stride s.",
    "stride_value": "Wrong stride on the right conv ({detail}): pass the argument, strides=s, not a number.",
    "padding": "Wrong padding: {detail}. Both 3x3 convs use padding='same' (the `conv` settings of "
    "plain_block), so that the main path keeps the height and width (divided by s) and can be added to X.",
    "bn_momentum": "BatchNorm's settings: {detail}. Every BatchNormalization of the block, the projection's "
    "too, has momentum=0.9 (as in plain_block) and Keras's default epsilon.",
    "shortcut_input": "The projection reads {detail}, not the block's input X: apply the 1x1 conv to X "
    "(keep it before the main path overwrites it, or give the main path another name, as plain_block's Y).",
    "double_main": "The main path is added to itself: add the shortcut (X, or its projection) to the second "
    "BatchNorm's output.",
    "relu_twice": "A ReLU comes both before and after the addition: the second BatchNorm's output goes into "
    "the addition as it is; only the sum goes through the ReLU.",
    "add_before_bn": "The shortcut is added before the second BatchNorm: add it to the output of '{{name}}_bn2' "
    "(conv -> BN, then add, then ReLU).",
    "projection_needed": "The shapes differ at the addition ({detail}): when s > 1 or the number of channels "
    "changes (either one alone is enough), the shortcut must be a 1x1 conv with stride s and `filters` "
    "filters, followed by BatchNorm.",
    "projection_always": "The shortcut has a projection although the shapes already match: use the identity "
    "shortcut (X itself) when s == 1 and X has `filters` channels, so that the block can be the identity.",
    "shortcut_no_bn": "The projection has no BatchNorm: after its 1x1 conv comes BatchNormalization named "
    "'{{name}}_proj_bn'.",
    "no_shortcut": "The shortcut is not added: your block computes the plain block. Add X (or its projection) "
    "to the output of the second BatchNorm.",
    "missing_final_relu": "The final ReLU is missing: apply Activation('relu') after adding the shortcut.",
    "relu_before_add": "The ReLU comes before the addition: add the shortcut to the second BatchNorm's output "
    "first, then apply the ReLU (a[l+2] = g(z[l+2] + a[l])).",
    "relu_on_shortcut": "The shortcut goes through a ReLU before the addition: add X (or the projection's "
    "BatchNorm) as it is, then apply the one final ReLU.",
    "shape": "Wrong output shape: expected {detail}.",
    "bias": "The conv's bias: {detail}. The convs and the projection have no bias (use_bias=False, as in "
    "plain_block), since the BatchNorm after each conv has its own shift (beta).",
    "weights": "The weights of {detail}: BatchNormalization keeps its default parameters (center and scale).",
    "values": "The output shape is right but the values differ from the reference ({detail}).",
}

# The hint printed for each mistake ``check_preact_block`` can name.
PREACT_HINTS: dict[str, str] = BLOCK_HINTS | {
    "ok": "All checks passed: your block is the pre-activation block of He et al. (2016b).",
    "layer_names": "Layer {detail} not found: name the layers '{{name}}_bn1', '{{name}}_conv1', '{{name}}_bn2', "
    "'{{name}}_conv2' and the projection '{{name}}_proj'.",
    "order": "The order of the layers: {detail}. A pre-activation block runs BN -> ReLU -> conv twice, "
    "starting from its input X.",
    "kernel_size": BASIC_HINTS["kernel_size"],
    "filters": BASIC_HINTS["filters"],
    "stride": "Stride on the wrong conv ({detail}): only the first 3x3 conv (and the projection) has stride s.",
    "stride_value": BASIC_HINTS["stride_value"],
    "padding": "Wrong padding: {detail}. Both 3x3 convs use padding='same' (the `conv` settings), so that "
    "the main path keeps the height and width (divided by s) and can be added to the shortcut.",
    "bn_momentum": "BatchNorm's settings: {detail}. Both BatchNormalization layers have momentum=0.9 and "
    "Keras's default epsilon.",
    "add_name": "The addition is {detail}: name it as the exercise asks, Add(name=f'{{name}}_add'), so that "
    "the block's output can be found by name.",
    "projection_needed": BASIC_HINTS["projection_needed"].replace(", followed by BatchNorm", ""),
    "projection_always": BASIC_HINTS["projection_always"],
    "projection_input": "The projection reads the block's raw input X: apply it to the pre-activated input "
    "(the output of the first BN -> ReLU), which both paths share.",
    "projection_bn": "The projection has a BatchNorm after it ({detail}): in the pre-activation block the "
    "projection is a 1x1 conv alone; the next block's first BatchNorm normalises the sum.",
    "relu_after_add": "A ReLU follows the addition: the pre-activation block returns the sum as it is, so "
    "that the identity path stays clean from block to block.",
    "no_shortcut": "The shortcut is not added: return the output of the second conv plus X (or its projection).",
    "double_main": "The main path is added to itself: add the shortcut (X, or the projection of pre) to the "
    "second conv's output.",
    "shape": BASIC_HINTS["shape"],
    "bias": "The conv's bias: {detail}. The convs and the projection have no bias (use_bias=False).",
    "weights": BASIC_HINTS["weights"],
    "values": BASIC_HINTS["values"],
}

# (filters, s) of the configurations, on an input of shape BASIC_INPUT.
BASIC_CASES: tuple[tuple[int, int], ...] = ((4, 1), (8, 1), (4, 2), (8, 2))
BASIC_INPUT = (2, 6, 6, 4)
NAME = "ex"


def _stride_written(names: dict[str, keras.Layer], s: int) -> Verdict | None:
    """A first conv whose stride is not the ``s`` the check passed: a number written instead of s."""
    conv1 = names.get(f"{NAME}_conv1")
    if isinstance(conv1, keras.layers.Conv2D) and tuple(conv1.strides) != (s, s):
        return "stride_value", f"{conv1.name} has strides {tuple(conv1.strides)}: the check passed s={s}"
    return None


def _basic_rules(identity_shortcut: bool, s: int) -> LayerRule:
    """The layer-by-layer checks of the residual (basic) block."""

    def rules(ref_layer: keras.Layer, layer: keras.Layer | None, names: dict[str, keras.Layer]) -> Verdict | None:
        if identity_shortcut and f"{NAME}_proj" in names:
            return _stride_written(names, s) or ("projection_always", "")
        if layer is None:
            if ref_layer.name == f"{NAME}_proj_bn" and f"{NAME}_proj" in names:
                return "shortcut_no_bn", ""
            if ref_layer.name == f"{NAME}_proj" and not any(isinstance(x, keras.layers.Add) for x in names.values()):
                return "no_shortcut", ""
            return "layer_names", repr(ref_layer.name)
        if isinstance(ref_layer, keras.layers.BatchNormalization):
            return bn_rules(layer, ref_layer) if isinstance(layer, keras.layers.BatchNormalization) else None
        found = conv_rules(layer, ref_layer, (f"{NAME}_conv1", f"{NAME}_proj"), s, names)
        if found is None and layer.padding != ref_layer.padding and max(layer.kernel_size) > 1:
            return "padding", f"{layer.name} has padding='{layer.padding}'"
        reads = source(layer)
        if found is None and ref_layer.name == f"{NAME}_proj" and not isinstance(reads, keras.layers.InputLayer):
            return "shortcut_input", f"the output of '{reads.name}'"
        return found

    return rules


def _preact_rules(identity_shortcut: bool, s: int) -> LayerRule:
    """The layer-by-layer checks of the pre-activation block."""

    def rules(ref_layer: keras.Layer, layer: keras.Layer | None, names: dict[str, keras.Layer]) -> Verdict | None:
        if identity_shortcut and f"{NAME}_proj" in names:
            return _stride_written(names, s) or ("projection_always", "")
        if f"{NAME}_proj_bn" in names:
            return "projection_bn", f"'{NAME}_proj_bn'"
        conv1 = names.get(f"{NAME}_conv1")
        unused_pre = conv1 is not None and isinstance(source(conv1), keras.layers.InputLayer)
        if layer is None and ref_layer.name == f"{NAME}_bn1" and unused_pre:  # BN and ReLU computed, not used
            return "order", f"'{NAME}_conv1' reads X: apply it to pre = ReLU(BN(X)), the output of '{NAME}_bn1'"
        if layer is None:
            return "layer_names", repr(ref_layer.name)
        adds = [x.name for x in names.values() if isinstance(x, keras.layers.Add)]
        if adds and f"{NAME}_add" not in names:
            return "add_name", f"named {adds[0]!r}"
        if isinstance(ref_layer, keras.layers.BatchNormalization):
            found = bn_rules(layer, ref_layer) if isinstance(layer, keras.layers.BatchNormalization) else None
            if found is not None:
                return found
        if ref_layer.name == f"{NAME}_bn1" and not isinstance(source(layer), keras.layers.InputLayer):
            return "order", f"'{NAME}_bn1' must be the first layer, applied to X"
        if isinstance(ref_layer, keras.layers.Conv2D):
            if ref_layer.name != f"{NAME}_proj" and not isinstance(source(layer), keras.layers.Activation):
                return "order", f"'{layer.name}' must read the output of a ReLU"
            if ref_layer.name == f"{NAME}_proj" and isinstance(source(layer), keras.layers.InputLayer):
                return "projection_input", ""
            found = conv_rules(layer, ref_layer, (f"{NAME}_conv1", f"{NAME}_proj"), s, names)
            if found is None and layer.padding != ref_layer.padding and max(layer.kernel_size) > 1:
                return "padding", f"{layer.name} has padding='{layer.padding}'"
            return found
        return None

    return rules


def _preact_mistakes(main: np.ndarray, shortcut: np.ndarray) -> dict[str, np.ndarray]:
    """The outputs of the usual wrong pre-activation blocks, main + shortcut being right."""
    return {"relu_after_add": np.maximum(main + shortcut, 0.0), "no_shortcut": main, "double_main": main + main}


def _basic_build_error(filters: int, s: int) -> Callable[[Exception, Builds], Verdict]:
    def error(err: Exception, builds: Builds) -> Verdict:
        shrunk = valid_window(builds)
        if shrunk is not None:
            return "padding", shrunk
        for layer, shape in builds:
            if layer.name == f"{NAME}_proj" and tuple(shape)[1:] != BASIC_INPUT[1:]:
                return "shortcut_input", f"a tensor of shape {tuple(shape)[1:]} (X is {BASIC_INPUT[1:]})"
        written = _stride_written({layer.name: layer for layer, _ in builds}, s)
        if written is not None:
            return written
        shapes = mismatched_addition(builds)
        if shapes is not None:
            return "projection_needed", f"s={s}, X has {BASIC_INPUT[-1]} channels, filters={filters}: {shapes}"
        return build_error(err)

    return error


def _case(fn: Callable[..., keras.KerasTensor], exercise: str, filters: int, s: int, preact: bool) -> BlockCase:
    """The learner's block and the reference with ``filters`` and stride ``s`` on a ``BASIC_INPUT`` input."""
    identity_shortcut = s == 1 and BASIC_INPUT[-1] == filters
    if preact:
        reference = lambda X: preact_block(X, filters, s=s, name=NAME)  # noqa: E731
        main_layer, rules, mistakes = f"{NAME}_conv2", _preact_rules(identity_shortcut, s), _preact_mistakes
        layers = f"{NAME}_bn1, {NAME}_conv1, ..."
    else:
        reference = lambda X: basic_block(X, filters, s=s, residual=True, name=NAME)  # noqa: E731
        main_layer, rules, mistakes = f"{NAME}_bn2", _basic_rules(identity_shortcut, s), post_activation_mistakes
        layers = f"{NAME}_conv1, {NAME}_bn1, ..."
    return BlockCase(
        reference=reference,
        learner=lambda X: fn(X, filters, s=s, name=NAME),
        input_shape=BASIC_INPUT,
        main_layer=main_layer,
        add_layer=f"{NAME}_add",
        rules=rules,
        build_error=_basic_build_error(filters, s),
        seed=2,
        context=f"the check called {exercise}(X, filters={filters}, s={s}, "
        f"name={NAME!r}) on an input of shape {BASIC_INPUT}, so your layers are named {layers}",
        mistakes=mistakes,
    )


def _check(fn: Callable[..., keras.KerasTensor], exercise: str, hints: dict[str, str], preact: bool) -> str:
    for filters, s in BASIC_CASES:
        case = _case(fn, exercise, filters, s, preact)
        key, detail = compare_block(case)
        if key != "ok":
            return say(key, detail, hints, case.context)
    return say("ok", "", hints)


def check_residual_block(fn: Callable[..., keras.KerasTensor]) -> str:
    """Check a learner's ``residual_block(X, filters, s=1, name=...)`` (lesson 01) against ``basic_block``.

    For each of ``BASIC_CASES`` the reference's weights (with random BatchNorm
    statistics) are copied into the learner's layers by name and the outputs
    compared in inference and in training mode; a wrong output is matched
    against the usual mistakes (no shortcut, ReLU missing, before the addition
    or on the shortcut).

    Returns:
        the key of the printed verdict in ``BASIC_HINTS``.
    """
    return _check(fn, "residual_block", BASIC_HINTS, preact=False)


def check_basic_block(fn: Callable[..., keras.KerasTensor]) -> str:
    """Check a learner's ``basic_block(X, filters, s=1, name=...)`` (lesson 04, ResNet-18/34's block):
    the same block and check as lesson 01's ``residual_block``.

    Returns:
        the key of the printed verdict in ``BASIC_HINTS``.
    """
    return _check(
        fn,
        "basic_block",
        BASIC_HINTS | {"ok": "All checks passed: your block is ResNet-18's basic block."},
        preact=False,
    )


def check_preact_block(fn: Callable[..., keras.KerasTensor]) -> str:
    """Check a learner's ``preact_block(X, filters, s=1, name=...)`` (lesson 04) against the reference.

    As ``check_residual_block``; the layer order (BN -> ReLU -> conv, from the
    input), the projection's input (the pre-activated X) and the missing
    ReLU after the addition are checked too.

    Returns:
        the key of the printed verdict in ``PREACT_HINTS``.
    """
    return _check(fn, "preact_block", PREACT_HINTS, preact=True)
