"""Tests for notebook 04's helpers: ResNet-18/34 and the pre-activation
variant, FLOP counting, and Grad-CAM."""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest

from resnet_utils import BASIC_STAGES, basic_resnet, forward_flops, grad_cam, plot_grad_cam, preact_block


def trainable(model: keras.Model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize(("depth", "torchvision_1000_classes"), [(18, 11_689_512), (34, 21_797_672)])
def test_basic_resnets_match_torchvision_parameter_counts(depth: int, torchvision_1000_classes: int) -> None:
    """torchvision's resnet18/34 (trainable parameters), with the 1000-class head swapped for 6 classes."""
    model = basic_resnet(depth)
    assert trainable(model) == torchvision_1000_classes - (512 * 1000 + 1000) + (512 * 6 + 6)
    convs = sum(isinstance(layer, keras.layers.Conv2D) and layer.kernel_size != (1, 1) for layer in model.layers)
    assert convs + 1 == depth == 2 + 2 * sum(BASIC_STAGES[depth])


def test_preact_resnet_has_the_same_weights_and_a_clean_identity_path() -> None:
    v1, v2 = basic_resnet(18), basic_resnet(18, preact=True)
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


def test_preact_block_shapes() -> None:
    x = keras.Input((8, 8, 4))
    assert keras.Model(x, preact_block(x, 4, 1, "a")).output.shape == (None, 8, 8, 4)
    assert keras.Model(x, preact_block(x, 8, 2, "b")).output.shape == (None, 4, 4, 8)


def test_basic_resnet_rejects_other_depths() -> None:
    with pytest.raises(ValueError, match="found 50"):
        basic_resnet(50)


def test_forward_flops_counts_convs_and_dense() -> None:
    x = keras.Input((4, 4, 1))
    y = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3, padding="same")(x)))
    assert forward_flops(keras.Model(x, y)) == 2 * 4 * 4 * 2 * 9 * 1 + 2 * 2 * 3


def test_grad_cam_finds_the_evidence() -> None:
    """A model that scores class 0 by the brightness of the image: the heat is on the bright patch."""
    x = keras.Input((8, 8, 1))
    features = keras.layers.Conv2D(1, 1, use_bias=False, kernel_initializer="ones", name="feat")(x)
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    dense = keras.layers.Dense(2, activation="softmax", kernel_initializer=keras.initializers.Constant([[1.0, -1.0]]))
    model = keras.Model(x, dense(pooled))
    image = np.zeros((1, 8, 8, 1), np.float32)
    image[0, 4:6, 2:4] = 1.0
    cam = grad_cam(model, image, layer="feat", classes=np.array([0]))
    assert cam.shape == (1, 8, 8) and cam.max() == 1.0
    assert cam[0, 4:6, 2:4].min() == 1.0 and cam[0].sum() == 4.0
    assert np.all(grad_cam(model, image, layer="feat", classes=np.array([1])) == 0.0)  # evidence against: no heat
    assert grad_cam(model, image, layer="feat").shape == (1, 8, 8)  # default: the predicted class


def test_plot_grad_cam_draws_images_and_overlays() -> None:
    fig = plot_grad_cam(np.zeros((2, 64, 64, 3), np.uint8), np.ones((2, 4, 4)), ["a", "b"])
    assert len(fig.axes) == 4 and fig.axes[0].get_title() == "a"
    plt.close("all")
