"""Tests for resnet_course.evaluation: probabilities and accuracy in both BatchNorm modes and with
flip averaging, its interval, BatchNorm recalibration, confusion, gradient norms, FLOPs, Grad-CAM,
and reading and classifying image files."""

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
    mean_interval,
    predict_image,
    probabilities,
    recalibrate_batchnorm,
    wilson_interval,
    with_interval,
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
    x = preprocess(load_image(path))[None]
    one_view = keras.ops.convert_to_numpy(model(x, training=False))[0]
    mirrored = keras.ops.convert_to_numpy(model(x[:, :, ::-1], training=False))[0]
    assert np.allclose(probs, (one_view + mirrored) / 2)  # both views by default, as lesson 03 evaluates
    assert np.allclose(predict_image(model, path, flip_average=False)[1], one_view)
    assert not np.allclose(one_view, mirrored)


def test_forward_flops_counts_a_grouped_conv_per_group() -> None:
    """Each of the 4 groups sees 8 / 4 = 2 of the input channels: a quarter of the dense conv's FLOPs."""
    x = keras.Input((4, 4, 8))
    grouped = keras.Model(x, keras.layers.Conv2D(8, 3, padding="same", groups=4)(x))
    dense = keras.Model(x, keras.layers.Conv2D(8, 3, padding="same")(x))
    assert forward_flops(grouped) == 2 * 4 * 4 * 8 * 9 * 2 == forward_flops(dense) // 4


@pytest.mark.parametrize(
    ("correct", "n", "low", "high"),
    # The roots p of (correct/n - p)^2 = 1.96^2 p (1 - p) / n, solved as a quadratic (numpy.roots).
    [(119, 120, 0.9543, 0.9985), (120, 120, 0.9690, 1.0), (0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634)],
)
def test_wilson_interval_known_values(correct: int, n: int, low: float, high: float) -> None:
    assert wilson_interval(correct, n) == pytest.approx((low, high), abs=1e-4)


def test_wilson_interval_narrows_with_more_images_and_rejects_nonsense() -> None:
    small, large = wilson_interval(90, 100), wilson_interval(900, 1000)
    assert small[0] < large[0] < 0.9 < large[1] < small[1]
    with pytest.raises(ValueError, match="correct=5, n=4"):
        wilson_interval(5, 4)
    assert with_interval(119 / 120, 120) == "99.2 % (95 % CI 95.4-99.9 %, n = 120)"
    # Exactly 1 and 0 at the ends, so that "accuracy - low" and "high - accuracy" are never negative.
    assert wilson_interval(102, 102)[1] == 1.0 and wilson_interval(0, 102)[0] == 0.0


def _bn_net() -> keras.Model:
    inputs = keras.Input((3,))
    outputs = keras.layers.Dense(2)(keras.layers.BatchNormalization(momentum=0.99, name="bn")(inputs))
    return keras.Model(inputs, outputs)


def test_recalibrate_batchnorm_sets_the_data_statistics_and_keeps_the_weights() -> None:
    keras.utils.set_random_seed(0)
    model = _bn_net()
    # 70 rows: batches of 32, 32 and 6, so the weighting by batch size matters.
    x = np.random.RandomState(1).normal([3.0, -2.0, 10.0], [1.0, 2.0, 0.5], size=(70, 3)).astype("float32")
    trained = [w.numpy().copy() for w in model.trainable_weights]
    assert recalibrate_batchnorm(model, x, batch_size=32) == 1
    bn = model.get_layer("bn")
    np.testing.assert_allclose(bn.moving_mean.numpy(), x.mean(axis=0), rtol=1e-5)
    batch_variances = [x[i : i + 32].var(axis=0) for i in (0, 32, 64)]
    expected = (32 * batch_variances[0] + 32 * batch_variances[1] + 6 * batch_variances[2]) / 70
    np.testing.assert_allclose(bn.moving_variance.numpy(), expected, rtol=1e-4)
    assert bn.momentum == 0.99
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(trained, model.trainable_weights, strict=True))


def test_flip_average_is_the_mean_over_the_image_and_its_mirror() -> None:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 4, 1))
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    x = np.random.RandomState(0).normal(size=(5, 4, 4, 1)).astype("float32")
    plain = probabilities(model, x)
    mirrored = probabilities(model, x[:, :, ::-1])
    np.testing.assert_allclose(probabilities(model, x, flip_average=True), (plain + mirrored) / 2, rtol=1e-6)
    assert not np.allclose(plain, mirrored)  # the mirror image is a different input to this model
    labels = ((plain + mirrored) / 2).argmax(axis=1)
    assert accuracy(model, x, labels, flip_average=True) == 1.0


def test_mean_interval_covers_the_mean_95_percent_of_the_time() -> None:
    """Simulated: 3 (and 5) normal values whose interval holds the true mean in about 95 % of 20,000 draws."""
    rng = np.random.default_rng(0)
    for n in (3, 5):
        draws = rng.normal(0.6, 0.05, size=(20_000, n))
        covered = [low <= 0.6 <= high for _, low, high in map(mean_interval, draws)]
        assert np.mean(covered) == pytest.approx(0.95, abs=0.01)
    mean, low, high = mean_interval([0.5, 0.6, 0.7])
    assert mean == pytest.approx(0.6)
    assert high - mean == pytest.approx(mean - low) == pytest.approx(4.303 * 0.1 / 3**0.5)


def test_mean_interval_stays_within_0_and_1() -> None:
    assert mean_interval([0.0, 0.3, 0.0])[1] == 0.0 and mean_interval([1.0, 0.7, 1.0])[2] == 1.0


def test_mean_interval_needs_two_to_ten_values() -> None:
    with pytest.raises(ValueError, match="needs 2 to 10 values, found 1"):
        mean_interval([0.5])
    with pytest.raises(ValueError, match="found 11"):
        mean_interval([0.5] * 11)
