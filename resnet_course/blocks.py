"""Residual blocks: the ResNet v1 bottleneck (identity and convolutional), the basic block, the pre-activation block.

Lessons: 01 (``basic_block``, plain or residual), 02 (``identity_block``,
``convolutional_block``), 03 (through ``ResNet50``), 04 (``preact_block``,
``basic_block`` in ResNet-18/34).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import keras

Filters = tuple[int, int, int] | list[int]


def _residual(
    X: keras.KerasTensor, f: int, filters: Filters, stage: int, block: str, s: int, shortcut: keras.KerasTensor
) -> keras.KerasTensor:
    """Bottleneck main path on X (stride s in the first 1x1 conv), plus shortcut, then ReLU."""
    conv, bn = f"res{stage}{block}_branch", f"bn{stage}{block}_branch"
    F1, F2, F3 = filters
    L = keras.layers
    X = L.Conv2D(F1, 1, strides=s, padding="valid", name=conv + "2a")(X)
    X = L.BatchNormalization(axis=3, name=bn + "2a")(X)
    X = L.Activation("relu", name=f"res{stage}{block}_relu2a")(X)
    X = L.Conv2D(F2, f, strides=1, padding="same", name=conv + "2b")(X)
    X = L.BatchNormalization(axis=3, name=bn + "2b")(X)
    X = L.Activation("relu", name=f"res{stage}{block}_relu2b")(X)
    X = L.Conv2D(F3, 1, strides=1, padding="valid", name=conv + "2c")(X)
    X = L.BatchNormalization(axis=3, name=bn + "2c")(X)
    X = L.Add(name=f"res{stage}{block}_add")([X, shortcut])
    return L.Activation("relu", name=f"res{stage}{block}_out")(X)


def identity_block(X: keras.KerasTensor, f: int, filters: Filters, stage: int, block: str) -> keras.KerasTensor:
    """The identity block: input and output have the same shape.

    Main path 1x1 conv (valid) -> BN -> ReLU -> fxf conv (same) -> BN -> ReLU
    -> 1x1 conv (valid) -> BN; the input is added to it, then a final ReLU.

    Args:
        X: input tensor ``(m, n_H, n_W, n_C)`` with ``n_C == filters[2]``.
        f: size of the middle convolution's window.
        filters: ``(F1, F2, F3)``, the filters of the three convolutions.
        stage: stage number, used in the layer names (``res2a_branch2a``).
        block: block letter within the stage, used in the layer names.

    Returns:
        tensor ``(m, n_H, n_W, F3)``.
    """
    return _residual(X, f, filters, stage, block, s=1, shortcut=X)


def convolutional_block(
    X: keras.KerasTensor, f: int, filters: Filters, stage: int, block: str, s: int = 2
) -> keras.KerasTensor:
    """The convolutional block: changes the number of channels and, with s > 1, the size.

    Main path as in ``identity_block`` but with stride ``s`` in the first 1x1
    conv; the shortcut is a 1x1 conv with stride ``s`` to ``F3`` filters + BN
    (``..._branch1``); the two are added, then a final ReLU.

    Args:
        X: input tensor ``(m, n_H, n_W, n_C)``.
        f: size of the middle convolution's window.
        filters: ``(F1, F2, F3)``, the filters of the three convolutions.
        stage: stage number, used in the layer names.
        block: block letter within the stage, used in the layer names.
        s: stride of the first 1x1 conv and of the shortcut conv.

    Returns:
        tensor ``(m, ceil(n_H / s), ceil(n_W / s), F3)``.
    """
    shortcut = keras.layers.Conv2D(
        filters[2],
        1,
        strides=s,
        padding="valid",
        name=f"res{stage}{block}_branch1",
    )(X)
    shortcut = keras.layers.BatchNormalization(axis=3, name=f"bn{stage}{block}_branch1")(shortcut)
    return _residual(X, f, filters, stage, block, s=s, shortcut=shortcut)


def basic_block(
    X: keras.KerasTensor, filters: int, s: int = 1, residual: bool = True, name: str = "block"
) -> keras.KerasTensor:
    """Two 3x3 conv-BN layers (stride ``s`` in the first), with or without a shortcut.

    Plain: ``ReLU(BN(conv(ReLU(BN(conv(X))))))``. Residual: the same, with the
    input added before the last ReLU; where the shape changes (``s > 1`` or a
    new number of channels) the shortcut is a 1x1 conv with stride ``s`` + BN
    (``{name}_proj``, ``{name}_proj_bn``), as in He et al. (2016), option B.

    Layers are named ``{name}_conv1``, ``{name}_bn1``, ``{name}_conv2``,
    ``{name}_bn2``, ``{name}_add`` and ``{name}_out``. BatchNorm's moving
    averages use momentum 0.9 in Keras's convention (keep 0.9 of the old
    average each step; PyTorch's default ``momentum=0.1`` is the same thing in
    its convention), so that they keep up over the short trainings of notebook 01.
    """
    L = keras.layers
    conv = {"padding": "same", "use_bias": False, "kernel_initializer": "he_normal"}
    Y = L.Conv2D(filters, 3, strides=s, name=f"{name}_conv1", **conv)(X)
    Y = L.BatchNormalization(momentum=0.9, name=f"{name}_bn1")(Y)
    Y = L.Activation("relu", name=f"{name}_relu1")(Y)
    Y = L.Conv2D(filters, 3, name=f"{name}_conv2", **conv)(Y)
    Y = L.BatchNormalization(momentum=0.9, name=f"{name}_bn2")(Y)
    if residual:
        shortcut = X
        if s != 1 or X.shape[-1] != filters:
            shortcut = L.Conv2D(filters, 1, strides=s, name=f"{name}_proj", **conv)(X)
            shortcut = L.BatchNormalization(momentum=0.9, name=f"{name}_proj_bn")(shortcut)
        Y = L.Add(name=f"{name}_add")([Y, shortcut])
    return L.Activation("relu", name=f"{name}_out")(Y)


def preact_block(X: keras.KerasTensor, filters: int, s: int = 1, name: str = "block") -> keras.KerasTensor:
    """The pre-activation basic block of He et al. (2016b), "Identity Mappings in Deep Residual Networks".

    BN -> ReLU -> 3x3 conv (stride ``s``) -> BN -> ReLU -> 3x3 conv, added to
    the shortcut with no ReLU after the addition, so the identity path stays
    clean from block to block. Where the shape changes the shortcut is a 1x1
    conv with stride ``s`` on the pre-activated input.
    """
    L = keras.layers
    conv = {"padding": "same", "use_bias": False, "kernel_initializer": "he_normal"}
    pre = L.Activation("relu", name=f"{name}_relu1")(L.BatchNormalization(momentum=0.9, name=f"{name}_bn1")(X))
    Y = L.Conv2D(filters, 3, strides=s, name=f"{name}_conv1", **conv)(pre)
    Y = L.Activation("relu", name=f"{name}_relu2")(L.BatchNormalization(momentum=0.9, name=f"{name}_bn2")(Y))
    Y = L.Conv2D(filters, 3, name=f"{name}_conv2", **conv)(Y)
    shortcut = X
    if s != 1 or X.shape[-1] != filters:
        shortcut = L.Conv2D(filters, 1, strides=s, name=f"{name}_proj", **conv)(pre)
    return L.Add(name=f"{name}_add")([Y, shortcut])


# Lesson 01's two blocks, as the reference builds them: what the tools and tests pass to
# ``cifar_net`` and ``run_degradation`` (notebook 01 passes the learner's own).
REFERENCE_BLOCKS: dict[str, Callable[..., keras.KerasTensor]] = {
    "plain": partial(basic_block, residual=False),
    "residual": basic_block,
}
