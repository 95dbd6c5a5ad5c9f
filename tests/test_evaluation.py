"""Tests for resnet_course.evaluation: accuracy in both BatchNorm modes, confusion, gradient norms,
FLOPs, Grad-CAM, and reading and classifying image files."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from resnet_course.blocks import REFERENCE_BLOCKS
from resnet_course.data import preprocess
from resnet_course.evaluation import (
    ImageError,
    accuracy,
    confusion_matrix,
    forward_flops,
    grad_cam,
    gradient_norms,
    load_image,
    predict_image,
)
from resnet_course.models import cifar_net
from resnet_course.synthetic import render_sign


def test_accuracy_modes_and_moving_averages_are_restored() -> None:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.BatchNormalization()(inputs))
    model = keras.Model(inputs, outputs)
    x = np.random.RandomState(0).normal(5.0, 3.0, size=(30, 4)).astype("float32")
    labels = model.predict(x, verbose=0).argmax(axis=1)
    before = [v.numpy().copy() for v in model.non_trainable_variables]
    assert accuracy(model, x, labels) == 1.0
    accuracy(model, x, labels, batch_statistics=True)
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before, model.non_trainable_variables, strict=True))


def test_confusion_matrix_counts() -> None:
    matrix = confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2]), classes=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]


def test_gradient_norms_cover_every_conv_in_order() -> None:
    keras.utils.set_random_seed(0)
    model = cifar_net(8, REFERENCE_BLOCKS["plain"], "plain", input_shape=(8, 8, 3))
    x = np.random.RandomState(0).uniform(size=(4, 8, 8, 3)).astype("float32")
    norms = gradient_norms(model, x, np.array([0, 1, 2, 3]))
    names = list(norms)
    assert names[0] == "conv0" and names[-1] == "stage3_block1_conv2"
    assert len(norms) == 7 and all(v > 0 for v in norms.values())


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


@pytest.mark.parametrize(("mode", "size"), [("RGB", (200, 120)), ("RGBA", (64, 64)), ("L", (30, 50)), ("P", (80, 80))])
def test_load_image_any_mode_and_size(tmp_path: Path, mode: str, size: tuple[int, int]) -> None:
    path = tmp_path / "img.png"
    Image.new(mode, size).save(path)
    image = load_image(path)
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8


def test_load_image_puts_transparency_on_white(tmp_path: Path) -> None:
    path = tmp_path / "clear.png"
    Image.new("RGBA", (64, 64), (255, 0, 0, 0)).save(path)
    assert (load_image(path) == 255).all()


def test_load_image_keeps_a_64x64_image(tmp_path: Path) -> None:
    pixels = render_sign(2, seed=5, size=64)
    path = tmp_path / "sign.png"
    Image.fromarray(pixels).save(path)
    assert np.array_equal(load_image(path), pixels)


def test_load_image_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "missing.jpg")
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    with pytest.raises(ImageError, match=r"notes\.txt: not a readable image"):
        load_image(text)
    truncated = tmp_path / "cut.jpg"
    Image.new("RGB", (64, 64)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:100])
    with pytest.raises(ImageError, match=r"cut\.jpg: not a readable image"):
        load_image(truncated)


def test_predict_image_returns_class_and_probabilities(tmp_path: Path) -> None:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((64, 64, 3))
    model = keras.Model(inputs, keras.layers.Dense(6, activation="softmax")(keras.layers.Flatten()(inputs)))
    path = tmp_path / "sign.jpg"
    Image.fromarray(render_sign(4, seed=0)).save(path)
    label, probs = predict_image(model, path)
    assert probs.shape == (6,) and np.isclose(probs.sum(), 1.0) and label == int(probs.argmax())
    expected = model(preprocess(load_image(path))[None], training=False)
    assert np.allclose(probs, keras.ops.convert_to_numpy(expected)[0])


def test_forward_flops_counts_a_grouped_conv_per_group() -> None:
    """Each of the 4 groups sees 8 / 4 = 2 of the input channels: a quarter of the dense conv's FLOPs."""
    x = keras.Input((4, 4, 8))
    grouped = keras.Model(x, keras.layers.Conv2D(8, 3, padding="same", groups=4)(x))
    dense = keras.Model(x, keras.layers.Conv2D(8, 3, padding="same")(x))
    assert forward_flops(grouped) == 2 * 4 * 4 * 8 * 9 * 2 == forward_flops(dense) // 4
