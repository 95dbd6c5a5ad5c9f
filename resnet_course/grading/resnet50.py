"""The check of lesson 03's exercise: ``ResNet50(input_shape, classes)`` assembled from the learner's blocks.

The check builds the learner's network and the reference for two
configurations (64x64x3 with 6 classes, 128x128x3 with 10), compares the
stages (blocks per stage, filters, strides), the output shape of every conv,
the parameter counts, then copies the reference's weights in by name and
compares the outputs. Lessons: 03.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from resnet_course.grading.compare import COMMON_HINTS, Verdict, build_error, copy_weights, randomize_batchnorm, say
from resnet_course.models import RESNET50_STAGES, ResNet50

_LAYOUT = "; ".join(
    f"stage {stage}: convolutional block 'a' (s={s}), then {n} identity blocks, filters {list(filters)}"
    for stage, (filters, s, n) in enumerate(RESNET50_STAGES, start=2)
)

# The hint printed for each mistake ``check_resnet50`` can name.
RESNET50_HINTS: dict[str, str] = COMMON_HINTS | {
    "ok": "All checks passed: your ResNet50 is the course's ResNet-50, and with the same weights it computes "
    "the same outputs.",
    "not_a_model": "ResNet50 must return a keras.Model (`keras.Model(inputs=X_input, outputs=X)`); it "
    "returned {detail}.",
    "input_shape": "Your model's input is {detail}: build the Input from the argument input_shape, not a number.",
    "classes": "Your model has {detail}: the last Dense layer needs `classes` units (the argument, not a number).",
    "blocks": "Wrong number of blocks in stage {detail}. The layout: " + _LAYOUT + ".",
    "layer_names": "Layer {detail} not found: the stem is 'conv1' and 'bn_conv1', the blocks get stage 2-5 "
    "and block letters 'a', 'b', ... (so 'res2a_branch2a', ...), the classifier is 'fc6'.",
    "filters": "Wrong filters in {detail}. The layout: " + _LAYOUT + ".",
    "stride": "Wrong stride in {detail}. The layout: " + _LAYOUT + ".",
    "kernel_size": "Wrong window in {detail}: conv1 is 7x7 with stride 2, the blocks use f=3.",
    "stem": "The stem's output has the wrong size ({detail}): ZeroPadding2D((3, 3)), then Conv2D(64, (7, 7), "
    "strides=(2, 2), name='conv1'), BatchNorm 'bn_conv1', ReLU.",
    "max_pool_missing": "The max-pool is missing ({detail}): after the stem's ReLU comes "
    "MaxPooling2D((3, 3), strides=(2, 2)).",
    "max_pool_settings": "The max-pool has {detail}: use MaxPooling2D((3, 3), strides=(2, 2)) (without strides, "
    "Keras strides by the pool size, 3).",
    "avg_pool_settings": "The average pooling has {detail}: use AveragePooling2D((2, 2), padding='same', "
    "name='avg_pool'). (At the sizes the check builds, 'valid' gives the same output; at a 96x96 input, stage "
    "5's maps are 3x3 and 'valid' would drop a row and a column.)",
    "max_pool_padding": "The max-pool pads ({detail}): use MaxPooling2D((3, 3), strides=(2, 2)) with the default "
    "padding='valid', as the original course does (keras.applications pads by 1 first; lesson 02 shows it).",
    "shape": "Wrong output shape of {detail}.",
    "block_names": "Stage {detail}: the blocks of a stage are named with letters, the convolutional block 'a' "
    "and the identity blocks 'b', 'c', ... (block=\"b\", giving 'res2b_branch2a'), as in the original "
    "course and keras.applications.",
    "global_pool": "Your head pools with {detail}: the course's head is AveragePooling2D((2, 2), "
    "padding='same', name='avg_pool'), then Flatten. At 64x64 both give one value per channel, but at a "
    "larger input (the check also builds 128x128) the 2x2 pooling keeps several positions.",
    "pooling": "The average pooling is missing ({detail}): AveragePooling2D((2, 2), padding='same', "
    "name='avg_pool') comes after stage 5, before Flatten.",
    "flatten": "The output has shape {detail}: Flatten() comes before the last Dense layer.",
    "softmax": "The outputs are not probabilities ({detail}): the last Dense layer has activation='softmax'.",
    "counts": "The parameter counts differ ({detail}).",
    "bias": "The layer's bias: {detail}. As in keras.applications.ResNet50, the convs keep Keras's default bias.",
    "weights": "The weights of {detail}.",
    "values": "Layers, shapes and counts are right but with the reference's weights the outputs differ ({detail}): "
    "check the blocks (run lesson 02's checks on them) and the order of the stem's layers.",
}

# The configurations the check builds: (input shape, classes).
RESNET50_CASES: tuple[tuple[tuple[int, int, int], int], ...] = (((64, 64, 3), 6), ((128, 128, 3), 10))


def _counts(model: keras.Model) -> tuple[int, int, int]:
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    total = model.count_params()
    return total, trainable, total - trainable


def _blocks(names: set[str], stage: int) -> str:
    return "".join(c for c in "abcdefghijklmnop" if f"res{stage}{c}_branch2a" in names)


def _stage(name: str) -> str:
    """Where a layer sits, for a hint: 'res3a_branch2a' -> 'res3a_branch2a (stage 3, block a)'."""
    if name.startswith(("res", "bn")) and "_branch" in name:
        unit = name.removeprefix("res").removeprefix("bn").split("_")[0]
        return f"{name} (stage {unit[0]}, block {unit[1:]})"
    return name


def _structure(learner: keras.Model, ref: keras.Model, input_shape: tuple[int, ...], classes: int) -> Verdict | None:
    """Input, output, blocks per stage, then each conv's filters, window, stride and output shape."""
    if tuple(learner.input.shape[1:]) != tuple(input_shape):
        return "input_shape", f"{tuple(learner.input.shape[1:])} where the check asked for {input_shape}"
    out = tuple(learner.output.shape)
    if len(out) != 2:
        return "flatten", str(out)
    if out[-1] != classes:
        return "classes", f"{out[-1]} outputs where the check asked for classes={classes}"
    names = {layer.name: layer for layer in learner.layers}
    stages = sorted({int(n[3]) for n in names if n.startswith("res") and n[3:4].isdigit() and "_branch" in n})
    if stages != [2, 3, 4, 5]:
        return "layer_names", f"'res2a_branch2a' ... 'res5a_branch2a' (your blocks have stages {stages})"
    for stage in stages:
        units = sorted({n[4:].split("_")[0] for n in names if n.startswith(f"res{stage}") and n.endswith("_branch2a")})
        odd = [u for u in units if not (len(u) == 1 and u.isalpha() and u.islower())]
        if odd:
            return "block_names", f"{stage} has blocks named {', '.join(repr(u) for u in units)}"
    pools = [layer for layer in learner.layers if isinstance(layer, keras.layers.GlobalAveragePooling2D)]
    if pools:
        return "global_pool", f"GlobalAveragePooling2D ({pools[0].name!r})"
    for layer in learner.layers:
        if isinstance(layer, keras.layers.MaxPooling2D) and (tuple(layer.pool_size), tuple(layer.strides)) != (
            (3, 3),
            (2, 2),
        ):
            return "max_pool_settings", f"pool_size={tuple(layer.pool_size)}, strides={tuple(layer.strides)}"
    avg = names.get("avg_pool")
    if isinstance(avg, keras.layers.AveragePooling2D) and (tuple(avg.pool_size), avg.padding) != ((2, 2), "same"):
        return "avg_pool_settings", f"pool_size={tuple(avg.pool_size)}, padding={avg.padding!r}"
    for stage, (_, _, identities) in enumerate(RESNET50_STAGES, start=2):
        got, want = _blocks(set(names), stage), "abcdef"[: identities + 1]
        if got != want:
            return "blocks", f"{stage}: yours has {len(got)} ({', '.join(got) or 'none'}), expected {len(want)}"
    for ref_layer in ref.layers:
        if not isinstance(ref_layer, keras.layers.Conv2D | keras.layers.BatchNormalization | keras.layers.Dense):
            continue
        layer = names.get(ref_layer.name)
        if layer is None:
            return "layer_names", repr(ref_layer.name)
        if isinstance(ref_layer, keras.layers.Conv2D):
            if not isinstance(layer, keras.layers.Conv2D):
                return "layer_names", f"{ref_layer.name!r} (a Conv2D; yours is a {type(layer).__name__})"
            if layer.filters != ref_layer.filters:
                return "filters", f"{_stage(layer.name)}: {layer.filters} instead of {ref_layer.filters}"
            if tuple(layer.kernel_size) != tuple(ref_layer.kernel_size):
                return "kernel_size", f"{_stage(layer.name)}: {tuple(layer.kernel_size)}"
            if tuple(layer.strides) != tuple(ref_layer.strides):
                return "stride", f"{_stage(layer.name)}: {tuple(layer.strides)}, expected {tuple(ref_layer.strides)}"
            found = _conv_shape(layer, ref_layer)
            if found is not None:
                return found
    ref_fc, fc = ref.get_layer("fc6"), names["fc6"]
    if tuple(fc.kernel.shape) != tuple(ref_fc.kernel.shape):
        return "pooling", f"fc6 has {fc.kernel.shape[0]} inputs, expected {ref_fc.kernel.shape[0]}"
    return None


def _conv_shape(layer: keras.Layer, ref_layer: keras.Layer) -> Verdict | None:
    """The first conv whose output has the wrong size names the layer before it that is wrong."""
    got, want = tuple(layer.output.shape[1:3]), tuple(ref_layer.output.shape[1:3])
    if got == want:
        return None
    if layer.name == "conv1":
        return "stem", f"conv1's output is {got}, expected {want}"
    if layer.name in ("res2a_branch2a", "res2a_branch1"):
        theirs, expected = tuple(layer.input.shape[1:3]), tuple(ref_layer.input.shape[1:3])
        detail = f"stage 2 reads {theirs} maps, expected {expected}"
        if theirs[0] > 2 * expected[0]:  # about twice the pooled size: not pooled at all
            return "max_pool_missing", detail
        return "max_pool_padding", detail
    return "shape", f"{_stage(layer.name)}: {got}, expected {want}"


def _compare(fn: Callable[..., keras.Model], input_shape: tuple[int, int, int], classes: int) -> Verdict:
    try:
        learner = fn(input_shape=input_shape, classes=classes)
    except Exception as err:  # a learner's bug can raise anything; report it as a hint
        return build_error(err)
    if not isinstance(learner, keras.Model):
        return "not_a_model", f"a {type(learner).__name__}"
    ref = ResNet50(input_shape=input_shape, classes=classes)
    found = _structure(learner, ref, input_shape, classes)
    if found is not None:
        return found
    if _counts(learner) != _counts(ref):
        got, want = _counts(learner), _counts(ref)
        return "counts", f"total, trainable, non-trainable: {got[0]:,}, {got[1]:,}, {got[2]:,}; expected " + (
            f"{want[0]:,}, {want[1]:,}, {want[2]:,}"
        )
    rs = np.random.RandomState(3)
    randomize_batchnorm(ref, rs)
    copied = copy_weights(ref, {layer.name: layer for layer in learner.layers})
    if copied is not None:
        return copied
    x = rs.uniform(-1, 1, size=(2, *input_shape)).astype("float32")
    got = keras.ops.convert_to_numpy(learner(x, training=False))
    want = keras.ops.convert_to_numpy(ref(x, training=False))
    if not np.allclose(got.sum(axis=-1), 1.0, atol=1e-4) or got.min() < 0:
        return "softmax", "the rows sum to " + ", ".join(f"{total:.3f}" for total in got.sum(axis=-1))
    if not np.allclose(got, want, atol=1e-4):
        return "values", f"max difference {np.abs(got - want).max():.3g}"
    return "ok", ""


def check_resnet50(fn: Callable[..., keras.Model]) -> str:
    """Check a learner's ``ResNet50(input_shape, classes)`` against the course's ``ResNet50``.

    For each of ``RESNET50_CASES``: the input and output shapes, the blocks
    per stage, every conv's filters, window, stride and output size (which
    names a missing or padded max-pool and a wrong stem), the parameter
    counts (for 64x64x3 and 6 classes: 23,600,006 in all, 23,546,886
    trainable, 53,120 BatchNorm statistics), then the outputs in inference
    mode with the reference's weights (BatchNorm statistics randomised).

    Returns:
        the key of the printed verdict in ``RESNET50_HINTS``.
    """
    for input_shape, classes in RESNET50_CASES:
        key, detail = _compare(fn, input_shape, classes)
        if key != "ok":
            context = f"the check called ResNet50(input_shape={input_shape}, " + (f"classes={classes})")
            return say(key, detail, RESNET50_HINTS, context)
    return say("ok", "", RESNET50_HINTS)
