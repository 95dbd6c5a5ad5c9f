"""Whole networks: ResNet-50, ResNet-18/34 (plain v1 or pre-activation), and lesson 01's CIFAR-style nets.

Lessons: 01 (``cifar_net``), 02 and 03 (``keras_applications_name``, the map
to ``keras.applications.ResNet50``'s layer names), 03 (``ResNet50``), 04
(``basic_resnet``, ``ResNet50``), 06 (``resnet18``).
"""

from __future__ import annotations

from collections.abc import Callable

import keras

from resnet_course.blocks import basic_block, convolutional_block, identity_block
from resnet_course.constants import IMAGE_SHAPE, NUM_CLASSES

# A basic or pre-activation block, called as block(X, filters, s=s, name=name).
Block = Callable[..., keras.KerasTensor]

# (filters, stride, identity blocks after the convolutional block) of stages 2-5.
RESNET50_STAGES: tuple[tuple[tuple[int, int, int], int, int], ...] = (
    ((64, 64, 256), 1, 2),
    ((128, 128, 512), 2, 3),
    ((256, 256, 1024), 2, 5),
    ((512, 512, 2048), 2, 2),
)


def ResNet50(input_shape: tuple[int, int, int] = IMAGE_SHAPE, classes: int = NUM_CLASSES) -> keras.Model:
    """ResNet-50 (v1, bottleneck) as in the original course, for small images.

    ZeroPadding2D(3) -> conv1 7x7/2 (64) -> BN -> ReLU -> MaxPool 3x3/2 ->
    stages 2-5 of ``RESNET50_STAGES`` (a convolutional block, then identity
    blocks, f=3) -> AveragePooling2D(2, padding="same") 'avg_pool' -> Flatten -> Dense softmax
    'fc6'. For 64x64x3 input and 6 classes: 23,600,006 parameters.
    """
    L = keras.layers
    inputs = keras.Input(shape=input_shape, name="input")
    X = L.ZeroPadding2D(3, name="conv1_pad")(inputs)
    X = L.Conv2D(64, 7, strides=2, name="conv1")(X)
    X = L.BatchNormalization(axis=3, name="bn_conv1")(X)
    X = L.Activation("relu", name="conv1_relu")(X)
    X = L.MaxPooling2D(3, strides=2, name="pool1")(X)
    for stage, (filters, s, identities) in enumerate(RESNET50_STAGES, start=2):
        X = convolutional_block(X, 3, filters, stage, "a", s=s)
        for block in "bcdef"[:identities]:
            X = identity_block(X, 3, filters, stage, block)
    X = L.AveragePooling2D(2, padding="same", name="avg_pool")(X)
    X = L.Flatten(name="flatten")(X)
    outputs = L.Dense(classes, activation="softmax", name="fc6")(X)
    return keras.Model(inputs, outputs, name="ResNet50")


def keras_applications_name(name: str) -> str:
    """The name of the matching layer in ``keras.applications.ResNet50``.

    ``'res2a_branch2a'`` -> ``'conv2_block1_1_conv'``, ``'bn3b_branch2c'`` ->
    ``'conv3_block2_3_bn'``, ``'res4a_branch1'`` -> ``'conv4_block1_0_conv'``;
    ``'conv1'``, ``'bn_conv1'`` and ``'fc6'`` -> ``'conv1_conv'``, ``'conv1_bn'``, ``'predictions'``.
    """
    top = {"conv1": "conv1_conv", "bn_conv1": "conv1_bn", "fc6": "predictions"}
    if name in top:
        return top[name]
    kind, rest = ("bn", name[2:]) if name.startswith("bn") else ("conv", name.removeprefix("res"))
    unit, _, branch = rest.partition("_branch")
    if len(unit) != 2 or not unit[0].isdigit() or not unit[1].isalpha() or branch not in ("1", "2a", "2b", "2c"):
        raise ValueError(
            f"keras_applications_name: expected a name like 'res2a_branch2a' or 'bn2a_branch1', found {name!r}"
        )
    number = {"1": 0, "2a": 1, "2b": 2, "2c": 3}[branch]
    return f"conv{unit[0]}_block{ord(unit[1]) - ord('a') + 1}_{number}_{kind}"


# Basic blocks per stage (filters 64, 128, 256, 512) of ResNet-18 and ResNet-34 (He et al. 2016, table 1).
BASIC_STAGES: dict[int, tuple[int, int, int, int]] = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


def basic_resnet(
    depth: int,
    block: Block,
    preact: bool = False,
    input_shape: tuple[int, int, int] = IMAGE_SHAPE,
    classes: int = NUM_CLASSES,
) -> keras.Model:
    """ResNet-18 or ResNet-34 (basic blocks), post-activation (v1) or pre-activation (v2).

    The stem of ``ResNet50`` (7x7/2 conv, 64 filters, BN, ReLU, 3x3/2 max-pool),
    four stages of ``BASIC_STAGES[depth]`` ``block``s with 64, 128, 256 and
    512 filters (stride 2 at the start of stages 3-5), global average pooling
    and a softmax layer. v1 takes ``basic_block`` (lesson 04's exercise; the
    reference is ``resnet_course.blocks.basic_block``), v2 (``preact=True``)
    ``preact_block``, without the stem's BN-ReLU and with a final BN-ReLU
    before the pooling. Each stage's output is named ``stage{n}_out`` (an
    ``Identity`` layer).
    """
    if depth not in BASIC_STAGES:
        raise ValueError(f"basic_resnet: depth must be one of {sorted(BASIC_STAGES)}, found {depth}")
    L = keras.layers
    inputs = keras.Input(shape=input_shape, name="input")
    X = L.ZeroPadding2D(3, name="conv1_pad")(inputs)
    X = L.Conv2D(64, 7, strides=2, use_bias=False, kernel_initializer="he_normal", name="conv1")(X)
    if not preact:
        X = L.Activation("relu", name="conv1_relu")(L.BatchNormalization(momentum=0.9, name="bn_conv1")(X))
    X = L.MaxPooling2D(3, strides=2, name="pool1")(X)
    for stage, (filters, blocks) in enumerate(zip((64, 128, 256, 512), BASIC_STAGES[depth], strict=True), start=2):
        for b in range(blocks):
            s = 2 if stage > 2 and b == 0 else 1
            name = f"stage{stage}_block{b + 1}"
            X = block(X, filters, s=s, name=name)
        X = L.Identity(name=f"stage{stage}_out")(X)  # a name for the stage's output (Grad-CAM, lesson 04)
    if preact:
        X = L.Activation("relu", name="final_relu")(L.BatchNormalization(momentum=0.9, name="final_bn")(X))
    X = L.GlobalAveragePooling2D(name="avg_pool")(X)
    # float32 softmax: under mixed precision (lesson 04 on a GPU) a float16 softmax loses small probabilities.
    outputs = L.Dense(classes, activation="softmax", dtype="float32", name="fc")(X)
    return keras.Model(inputs, outputs, name=f"{'preact_' if preact else ''}resnet{depth}")


def resnet18(input_shape: tuple[int, int, int] = IMAGE_SHAPE, classes: int = NUM_CLASSES) -> keras.Model:
    """ResNet-18 (v1) of the course's basic block: ``basic_resnet(18, basic_block)`` with the reference block.

    Lesson 06 reuses it, trained on one source, for another; lesson 04 builds the
    same network from the learner's own ``basic_block``.
    """
    return basic_resnet(18, basic_block, input_shape=input_shape, classes=classes)


def cifar_net(
    depth: int,
    block: Block,
    name: str,
    input_shape: tuple[int, int, int] = (32, 32, 3),
    classes: int = NUM_CLASSES,
    widths: tuple[int, int, int] = (16, 32, 64),
) -> keras.Model:
    """The paper's CIFAR-10 network (He et al. 2016, section 4.2), plain or residual.

    A 3x3 conv, then three stages of ``n`` ``block``s (two 3x3 convs each:
    lesson 01's ``plain_block`` or ``residual_block``) with ``widths``
    filters, stride 2 at the start of stages 2 and 3, global average pooling
    and a softmax layer: ``depth = 6n + 2`` weighted layers. The model is
    named ``f"{name}{depth}"`` (``"plain8"``). Call ``keras.utils.set_random_seed``
    first for reproducible weights.
    """
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"cifar_net: depth must be 6n + 2 with n >= 1 (8, 14, 20, ...), found {depth}")
    n = (depth - 2) // 6
    L = keras.layers
    inputs = keras.Input(shape=input_shape, name="input")
    X = L.Conv2D(widths[0], 3, padding="same", use_bias=False, kernel_initializer="he_normal", name="conv0")(inputs)
    X = L.BatchNormalization(momentum=0.9, name="bn0")(X)
    X = L.Activation("relu", name="relu0")(X)
    for stage, filters in enumerate(widths, start=1):
        for b in range(1, n + 1):
            s = 2 if stage > 1 and b == 1 else 1
            X = block(X, filters, s=s, name=f"stage{stage}_block{b}")
    X = L.GlobalAveragePooling2D(name="avg_pool")(X)
    outputs = L.Dense(classes, activation="softmax", name="fc")(X)
    return keras.Model(inputs, outputs, name=f"{name}{depth}")
