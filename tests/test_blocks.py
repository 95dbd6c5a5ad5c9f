"""Tests for resnet_course.blocks: the bottleneck, basic and pre-activation blocks."""

from __future__ import annotations

import keras
import numpy as np

from resnet_course.blocks import REFERENCE_BLOCKS, basic_block, convolutional_block, identity_block, preact_block

L = keras.layers


def test_identity_block_shape_and_names() -> None:
    x = keras.Input((4, 4, 6))
    model = keras.Model(x, identity_block(x, 3, [2, 4, 6], stage=2, block="b"))
    assert model.output.shape == (None, 4, 4, 6)
    names = {layer.name for layer in model.layers}
    assert {"res2b_branch2a", "res2b_branch2b", "res2b_branch2c", "bn2b_branch2a", "bn2b_branch2c"} <= names


def test_convolutional_block_shape_and_stride() -> None:
    x = keras.Input((4, 4, 6))
    model = keras.Model(x, convolutional_block(x, 3, [2, 4, 6], stage=3, block="a", s=2))
    assert model.output.shape == (None, 2, 2, 6)
    assert model.get_layer("res3a_branch2a").strides == (2, 2)
    assert model.get_layer("res3a_branch1").strides == (2, 2)
    assert model.get_layer("res3a_branch2b").strides == (1, 1)


def test_identity_block_with_zero_last_bn_is_relu_of_input() -> None:
    """With the last BN's gamma and beta at 0 the main path is 0: the block returns ReLU(x)."""
    x = keras.Input((4, 4, 6))
    model = keras.Model(x, identity_block(x, 3, [2, 4, 6], stage=2, block="a"))
    bn = model.get_layer("bn2a_branch2c")
    bn.set_weights([np.zeros(6), np.zeros(6), np.zeros(6), np.ones(6)])
    data = np.random.RandomState(0).normal(size=(2, 4, 4, 6)).astype("float32")
    np.testing.assert_allclose(model(data, training=False), np.maximum(data, 0), atol=1e-6)


def test_blocks_use_training_flag_passed_by_keras() -> None:
    """No hard-coded training=True: inference mode uses the moving statistics."""
    x = keras.Input((4, 4, 6))
    model = keras.Model(x, identity_block(x, 3, [2, 4, 6], stage=2, block="a"))
    data = np.random.RandomState(0).normal(3.0, 2.0, size=(3, 4, 4, 6)).astype("float32")
    assert not np.allclose(model(data, training=True), model(data, training=False))


def test_residual_block_with_zero_last_weights_is_the_identity() -> None:
    """W = 0 and b = 0 in the last layer: a[l+2] = g(a[l]) = a[l] for a[l] >= 0; the plain block gives 0."""
    x = keras.Input((6, 6, 4))
    outputs = {r: keras.Model(x, basic_block(x, 4, residual=r, name="b")) for r in (True, False)}
    a = np.abs(np.random.RandomState(0).normal(size=(2, 6, 6, 4))).astype("float32")
    for model in outputs.values():
        model.get_layer("b_bn2").set_weights([np.zeros(4), np.zeros(4), np.zeros(4), np.ones(4)])
    np.testing.assert_allclose(outputs[True](a, training=False), a, atol=1e-6)
    np.testing.assert_allclose(outputs[False](a, training=False), 0.0, atol=1e-6)


def test_preact_block_shapes() -> None:
    x = keras.Input((8, 8, 4))
    assert keras.Model(x, preact_block(x, 4, 1, "a")).output.shape == (None, 8, 8, 4)
    assert keras.Model(x, preact_block(x, 8, 2, "b")).output.shape == (None, 4, 4, 8)


def test_lesson_01_answer_6_depth_is_what_stalls_the_plain_stack() -> None:
    """Lesson 01's open question 6, as its teacher key answers it: trained to output its input (512 random
    ReLU outputs, Adam 1e-3, 10 epochs, seed 0, as the lesson's experiment), one plain block ends below the
    score of outputting each pixel's mean and below one residual block; five plain blocks end above it."""
    a = np.maximum(np.random.RandomState(1).normal(size=(512, 8, 8, 16)), 0).astype("float32")
    mean_score = float(((a - a.mean(axis=0)) ** 2).mean())

    def final_loss(kind: str, blocks: int) -> float:
        keras.utils.set_random_seed(0)
        x = keras.Input((8, 8, 16))
        y = x
        for i in range(blocks):
            y = REFERENCE_BLOCKS[kind](y, 16, name=f"b{i}")
        stack = keras.Model(x, y)
        stack.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        return float(stack.fit(a, a, batch_size=32, epochs=10, verbose=0).history["loss"][-1])

    one_plain, one_residual, five_plain = final_loss("plain", 1), final_loss("residual", 1), final_loss("plain", 5)
    assert 0.33 < mean_score < 0.35, mean_score  # 1/2 - 1/(2 pi) = 0.341, the lesson's "about 0.34"
    assert one_plain < one_residual < mean_score < five_plain, (one_plain, one_residual, mean_score, five_plain)
