"""Tests for resnet_course.models: ResNet-50 against keras.applications, ResNet-18/34 and the
pre-activation variant, lesson 01's CIFAR-style nets, and the layer-name map."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from resnet_course.blocks import REFERENCE_BLOCKS, basic_block, preact_block
from resnet_course.models import (
    BASIC_STAGES,
    RESNET50_STAGES,
    ResNet50,
    basic_resnet,
    cifar_net,
    keras_applications_name,
)

L = keras.layers


@pytest.fixture(scope="module")
def resnet() -> keras.Model:
    keras.utils.set_random_seed(0)
    return ResNet50()


def trainable(model: keras.Model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_resnet50_parameters_and_shapes(resnet: keras.Model) -> None:
    assert resnet.count_params() == 23_600_006
    assert sum(int(np.prod(w.shape)) for w in resnet.trainable_weights) == 23_546_886
    assert resnet.output_shape == (None, 6)
    assert resnet.get_layer("avg_pool").output.shape[1:] == (1, 1, 2048)
    blocks = sum(1 for layer in resnet.layers if layer.name.endswith("_add"))
    assert blocks == sum(1 + identities for _, _, identities in RESNET50_STAGES) == 16


def test_resnet50_matches_keras_applications_tensor_by_tensor(resnet: keras.Model) -> None:
    reference = keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3), classes=6)
    ours = {keras_applications_name(layer.name): layer for layer in resnet.layers if layer.weights}
    theirs = [layer for layer in reference.layers if layer.weights]
    assert len(ours) == len(theirs)
    for layer in theirs:
        assert [w.shape for w in ours[layer.name].weights] == [w.shape for w in layer.weights], layer.name


def test_resnet50_other_input_and_classes() -> None:
    model = ResNet50(input_shape=(32, 32, 3), classes=10)
    assert model.output_shape == (None, 10)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("res2a_branch2a", "conv2_block1_1_conv"),
        ("bn3b_branch2c", "conv3_block2_3_bn"),
        ("res4a_branch1", "conv4_block1_0_conv"),
        ("bn5c_branch2b", "conv5_block3_2_bn"),
        ("res4f_branch2a", "conv4_block6_1_conv"),
    ],
)
def test_keras_applications_name(ours: str, theirs: str) -> None:
    assert keras_applications_name(ours) == theirs


@pytest.mark.parametrize("bad", ["conv2", "res2a_branch3", "resXa_branch2a", "bn2_branch2a"])
def test_keras_applications_name_rejects_other_names(bad: str) -> None:
    with pytest.raises(ValueError, match=f"found {bad!r}"):
        keras_applications_name(bad)


@pytest.mark.parametrize(("depth", "torchvision_1000_classes"), [(18, 11_689_512), (34, 21_797_672)])
def test_basic_resnets_match_torchvision_parameter_counts(depth: int, torchvision_1000_classes: int) -> None:
    """torchvision's resnet18/34 (trainable parameters), with the 1000-class head swapped for 6 classes."""
    model = basic_resnet(depth, basic_block)
    assert trainable(model) == torchvision_1000_classes - (512 * 1000 + 1000) + (512 * 6 + 6)
    convs = sum(isinstance(layer, keras.layers.Conv2D) and layer.kernel_size != (1, 1) for layer in model.layers)
    assert convs + 1 == depth == 2 + 2 * sum(BASIC_STAGES[depth])


def test_preact_resnet_has_the_same_weights_and_a_clean_identity_path() -> None:
    v1, v2 = basic_resnet(18, basic_block), basic_resnet(18, preact_block, preact=True)
    # Same convs and dense layer. BatchNorm channels (2 trainable parameters each): v2 drops the stem's BN (64)
    # and the projections' BNs (128 + 256 + 512), normalises the input rather than the output of the first conv
    # of stages 3-5 (64 + 128 + 256 instead of 128 + 256 + 512), and adds a final BN (512).
    v1_only = 64 + (128 + 256 + 512) + (128 + 256 + 512)
    v2_only = (64 + 128 + 256) + 512
    assert trainable(v1) - trainable(v2) == 2 * (v1_only - v2_only)
    adds = [layer for layer in v2.layers if isinstance(layer, keras.layers.Add)]
    assert len(adds) == 8
    # Nothing after an addition but the next block's BN (or the final BN): no ReLU on the identity path.
    for layer in v2.layers:
        if isinstance(layer, keras.layers.Activation):
            assert not isinstance(layer.input._keras_history.operation, keras.layers.Add)


def test_basic_resnet_rejects_other_depths() -> None:
    with pytest.raises(ValueError, match="found 50"):
        basic_resnet(50, basic_block)


@pytest.mark.parametrize(("depth", "residual", "convs"), [(8, False, 7), (8, True, 9), (20, False, 19), (20, True, 21)])
def test_cifar_net_depth_counts_weighted_layers(depth: int, residual: bool, convs: int) -> None:
    """6n + 2 weighted layers: 6n + 1 convs and the softmax layer, plus 2 projections when residual."""
    kind = "residual" if residual else "plain"
    model = cifar_net(depth, REFERENCE_BLOCKS[kind], kind)
    assert model.name == f"{kind}{depth}"
    assert sum(isinstance(layer, L.Conv2D) for layer in model.layers) == convs
    assert sum(isinstance(layer, L.Add) for layer in model.layers) == (3 * (depth - 2) // 6 if residual else 0)
    assert model.output_shape == (None, 6)


@pytest.mark.parametrize("depth", [6, 9, 0])
def test_cifar_net_rejects_other_depths(depth: int) -> None:
    with pytest.raises(ValueError, match=f"found {depth}"):
        cifar_net(depth, basic_block, "residual")


def test_resnet50_kernels_start_different_and_reproducible(resnet: keras.Model) -> None:
    """Same-shaped kernels (res2b's and res2c's first 1x1 convs) start from different values,
    and the same global seed builds the same network (Keras 3 repeats a seeded initializer's values)."""
    first = keras.ops.convert_to_numpy(resnet.get_layer("res2b_branch2a").kernel)
    second = keras.ops.convert_to_numpy(resnet.get_layer("res2c_branch2a").kernel)
    assert first.shape == second.shape and not np.allclose(first, second)
    keras.utils.set_random_seed(3)
    a = ResNet50().get_layer("conv1").get_weights()[0]
    keras.utils.set_random_seed(3)
    assert np.array_equal(a, ResNet50().get_layer("conv1").get_weights()[0])


def test_basic_resnet_keeps_a_float32_softmax_under_mixed_precision() -> None:
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = basic_resnet(18, basic_block)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.get_layer("stage5_out").output.dtype == "float16"
    assert model.output.dtype == "float32"
