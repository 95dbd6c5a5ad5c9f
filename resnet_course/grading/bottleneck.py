"""The checks of lesson 02's exercises: the identity block and the convolutional block (ResNet v1 bottleneck).

Each tries two configurations (window, stride, filters and input differ), so
that a value written into the block instead of its argument gets a hint.
Lessons: 02 (and 03, where the learner's blocks are checked again before
they build ResNet-50).
"""

from __future__ import annotations

from collections.abc import Callable

import keras

from resnet_course.blocks import convolutional_block, identity_block
from resnet_course.grading.compare import (
    BLOCK_HINTS,
    BlockCase,
    Builds,
    Verdict,
    bn_rules,
    build_error,
    compare_block,
    conv_rules,
    mismatched_addition,
    say,
    source,
    vanishing_conv,
)

# The hint printed for each mistake the bottleneck checks can name.
HINTS: dict[str, str] = BLOCK_HINTS | {
    "ok": "All checks passed: your block matches the reference ResNet v1 bottleneck.",
    "layer_names": "Layer {detail} not found: name the layers 'res{{stage}}{{block}}_branch2a/2b/2c', "
    "'bn{{stage}}{{block}}_branch2a/2b/2c' (and '..._branch1' for the shortcut), with the stage and block passed in.",
    "padding": "Wrong padding: {detail}. The 1x1 convs use padding='valid' and the fxf conv padding='same', "
    "so that the fxf conv keeps the height and width.",
    "kernel_size": "Wrong window on {detail}: branch2a, 2c and the shortcut are 1x1 convs, branch2b is f x f "
    "(use the argument f, not a number).",
    "stride": "Stride on the wrong conv ({detail}): in the convolutional block the stride s belongs to the "
    "first 1x1 conv (branch2a) and the shortcut conv (branch1); every other conv, and every conv of the "
    "identity block, has stride 1.",
    "stride_value": "Wrong stride on the right conv ({detail}): pass the argument, strides=(s, s), not a number.",
    "shortcut_input": "The shortcut conv reads {detail}, not the block's input: keep the input first "
    "(`X_shortcut = X`, before the main path overwrites X) and apply the branch1 conv to X_shortcut.",
    "bn_momentum": "BatchNorm's settings: {detail}. These blocks keep Keras's defaults (momentum=0.99, "
    "epsilon=0.001; keras.applications.ResNet50 has the same momentum, epsilon 1.001e-5); lesson 03's recipe "
    "changes the momentum later.",
    "relu_twice": "A ReLU comes both before and after the addition: the last BatchNorm's output (branch2c) "
    "goes into the addition as it is; only the sum goes through the final ReLU.",
    "add_before_bn": "The shortcut is added before the last BatchNorm: add it to the output of "
    "bn{{stage}}{{block}}_branch2c (conv -> BN, then add, then the final ReLU).",
    "filters": "Wrong number of filters on {detail}: branch2a has F1, 2b has F2, 2c has F3, and the shortcut "
    "conv must have F3 filters so that it can be added to the main path.",
    "bn_axis": "BatchNorm on the wrong axis in {detail}: normalise the channels, axis=3 (channels last).",
    "missing_final_relu": "The final ReLU is missing: apply Activation('relu') after adding the shortcut.",
    "relu_before_add": "The ReLU comes before the addition: add the shortcut to the output of the last "
    "BatchNorm first, then apply the final ReLU.",
    "relu_on_shortcut": "The shortcut goes through a ReLU before the addition: add it as it is (the input X, "
    "or the BatchNorm after the shortcut conv), then apply the one final ReLU.",
    "no_shortcut": "The shortcut is not added: the block must compute ReLU(main path + shortcut).",
    "add_shapes": "The main path and the shortcut have different shapes at the addition ({detail}): the "
    "shortcut conv needs F3 filters and the same stride s as branch2a.",
    "missing_bn": "No BatchNorm named {detail}: every conv of the main path is followed by "
    "BatchNormalization(axis=3) named 'bn{{stage}}{{block}}_branch2a/2b/2c'.",
    "shortcut_missing": "The shortcut has no conv: in the convolutional block the input X cannot be added as it "
    "is (another size or number of channels); the shortcut is Conv2D(F3, 1x1, strides=s) named "
    "conv_name + '1', then BatchNorm named bn_name + '1', applied to X_shortcut.",
    "double_main": "The main path is added to itself: add the shortcut (X_shortcut, the block's input or its "
    "projection) to the main path, `Add()([X, X_shortcut])`.",
    "shortcut_no_bn": "The shortcut has no BatchNorm: after its 1x1 conv comes BatchNormalization(axis=3) "
    "named 'bn{{stage}}{{block}}_branch1'.",
    "shape": "Wrong output shape: expected {detail}.",
    "bias": "The conv's bias: {detail}, but the convs of these blocks keep Keras's default bias "
    "(use_bias=True), as in keras.applications.ResNet50.",
    "weights": "The weights of {detail}: BatchNormalization keeps its default parameters (center and scale).",
    "values": "The output shape is right but the values differ from the reference ({detail}); compare your "
    "block with the diagram, layer by layer.",
}

# The configurations each check tries: (f, input shape, filters) and, for the convolutional block, s.
IDENTITY_CASES: tuple[tuple[int, tuple[int, ...], tuple[int, int, int]], ...] = (
    (3, (3, 4, 4, 6), (2, 4, 6)),
    (1, (2, 5, 5, 8), (3, 2, 8)),
)
CONVOLUTIONAL_CASES: tuple[tuple[int, tuple[int, ...], tuple[int, int, int], int], ...] = (
    (3, (3, 4, 4, 6), (2, 4, 6), 2),
    (1, (2, 5, 5, 4), (3, 2, 8), 1),
)
STAGE, BLOCK = 9, "z"


def _rules(s: int | None) -> Callable[[keras.Layer, keras.Layer | None, dict[str, keras.Layer]], Verdict | None]:
    """The layer-by-layer checks of the identity block (``s`` None) and the convolutional block (stride ``s``)."""
    strided = () if s is None else (f"res{STAGE}{BLOCK}_branch2a", f"res{STAGE}{BLOCK}_branch1")

    def rules(ref_layer: keras.Layer, layer: keras.Layer | None, names: dict[str, keras.Layer]) -> Verdict | None:
        return _layer_rules(ref_layer, layer, names, strided, 1 if s is None else s)

    return rules


def _layer_rules(
    ref_layer: keras.Layer, layer: keras.Layer | None, names: dict[str, keras.Layer], strided: tuple[str, ...], s: int
) -> Verdict | None:
    """One layer of the identity and convolutional blocks."""
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
        found = conv_rules(layer, ref_layer, strided, s, names)
        if found is not None:
            return found
        if tuple(layer.kernel_size) != (1, 1) and layer.padding != ref_layer.padding:  # 1x1: no difference
            return "padding", f"{layer.name} has padding='{layer.padding}'"
        if ref_layer.name.endswith("branch1") and not isinstance(source(layer), keras.layers.InputLayer):
            return "shortcut_input", f"the output of {source(layer).name!r}"
    elif not isinstance(layer, keras.layers.BatchNormalization):
        return "layer_names", f"{ref_layer.name!r} (a BatchNormalization; yours is a {type(layer).__name__})"
    elif layer.axis not in (3, -1, [3], [-1]):
        return "bn_axis", f"{layer.name} (axis={layer.axis})"
    else:
        return bn_rules(layer, ref_layer)
    return None


def _build_error(
    s: int | None, shape: tuple[int, ...], filters: tuple[int, int, int]
) -> Callable[[Exception, Builds], Verdict]:
    """Name the mistake behind an error raised while the learner's block is built (``s`` None: identity block)."""
    conv = f"res{STAGE}{BLOCK}_branch"

    def error(err: Exception, builds: Builds) -> Verdict:
        empty = vanishing_conv(builds)
        if empty is not None:
            return "padding", f"a conv shrank the image to nothing ({empty})"
        convs = {layer.name: (layer, built) for layer, built in builds if isinstance(layer, keras.layers.Conv2D)}
        if conv + "1" in convs and tuple(convs[conv + "1"][1])[1:] != shape[1:]:
            built = tuple(convs[conv + "1"][1])[1:]
            return "shortcut_input", f"a tensor of shape {built} (the block's input is {shape[1:]})"
        strided = [layer for layer, _ in convs.values() if max(layer.strides) > 1]
        if s is None and strided:
            return "stride", f"{strided[0].name} has strides {tuple(strided[0].strides)}, expected (1, 1)"
        first = convs.get(conv + "2a", (None, None))[0]
        if s is not None and first is not None and tuple(first.strides) != (s, s):
            return "stride_value", f"{first.name} has strides {tuple(first.strides)}: the check passed s={s}"
        if s is not None and convs and conv + "1" not in convs and mismatched_addition(builds):
            return "shortcut_missing", ""
        shapes = mismatched_addition(builds)
        last = convs.get(conv + "2c", (None, None))[0]
        if shapes is not None and last is not None and last.filters != filters[2]:
            return "filters", f"{last.name} ({last.filters} instead of F3={filters[2]})"
        if shapes is not None:  # the identity block has no stride: only padding changes the size
            return ("padding" if s is None else "add_shapes"), f"the shapes at the addition are {shapes}"
        return build_error(err)

    return error


def _case(
    fn: Callable[..., keras.KerasTensor],
    reference: Callable[..., keras.KerasTensor],
    f: int,
    shape: tuple[int, ...],
    filters: tuple[int, int, int],
    s: int | None,
) -> BlockCase:
    """The learner's and the reference bottleneck block (``s`` None: the identity block)."""
    kwargs = {} if s is None else {"s": s}
    call = ", ".join(
        [f"X, f={f}, filters={list(filters)}, stage={STAGE}, block={BLOCK!r}"] + [f"s={s}"] * (s is not None)
    )
    return BlockCase(
        reference=lambda X: reference(X, f, filters, STAGE, BLOCK, **kwargs),
        learner=lambda X: fn(X, f, list(filters), STAGE, BLOCK, **kwargs),
        input_shape=shape,
        main_layer=f"bn{STAGE}{BLOCK}_branch2c",
        add_layer=f"res{STAGE}{BLOCK}_add",
        rules=_rules(s),
        build_error=_build_error(s, shape, filters),
        seed=1,
        context=f"the check called {reference.__name__}({call}) on an input of shape {shape}, so your layers are "
        f"named res{STAGE}{BLOCK}_branch2a, bn{STAGE}{BLOCK}_branch2a, ...",
    )


def check_identity_block(fn: Callable[..., keras.KerasTensor]) -> str:
    """Check a learner's ``identity_block(X, f, filters, stage, block)`` against the reference.

    Builds both for each of ``IDENTITY_CASES`` (``f=3`` on a ``(3, 4, 4, 6)``
    input with ``filters=[2, 4, 6]``, ``f=1`` on ``(2, 5, 5, 8)`` with
    ``[3, 2, 8]``); checks the layers (names, windows, strides, filters,
    padding, BatchNorm axis), copies the reference's weights into the
    learner's block and compares the outputs in inference and in training mode.

    Returns:
        the key of the printed verdict in ``HINTS``: ``"ok"``, ``"not_implemented"``
        or the mistake found.
    """
    for f, shape, filters in IDENTITY_CASES:
        case = _case(fn, identity_block, f, shape, filters, None)
        key, detail = compare_block(case)
        if key != "ok":
            return say(key, detail, HINTS, case.context)
    return say("ok", "", HINTS)


def check_convolutional_block(fn: Callable[..., keras.KerasTensor]) -> str:
    """Check a learner's ``convolutional_block(X, f, filters, stage, block, s)`` against the reference.

    As ``check_identity_block``, for each of ``CONVOLUTIONAL_CASES`` (``f=3,
    s=2``: ``(3, 4, 4, 6) -> (3, 2, 2, 6)``; ``f=1, s=1``: ``(2, 5, 5, 4) ->
    (2, 5, 5, 8)``).

    Returns:
        the key of the printed verdict in ``HINTS``.
    """
    for f, shape, filters, s in CONVOLUTIONAL_CASES:
        case = _case(fn, convolutional_block, f, shape, filters, s)
        key, detail = compare_block(case)
        if key != "ok":
            return say(key, detail, HINTS, case.context)
    return say("ok", "", HINTS)
