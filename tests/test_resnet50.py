"""Tests for notebook 03's helpers: ResNet50, the data pipeline, accuracy in
both BatchNorm modes, reading and classifying image files, and the plots."""

from __future__ import annotations

from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from resnet_utils import (
    RESNET50_STAGES,
    ImageError,
    ResNet50,
    accuracy,
    augmenter,
    compile_recipe,
    confusion_matrix,
    downsample,
    keras_applications_name,
    load_image,
    plot_confusion,
    plot_history,
    plot_misclassified,
    plot_prediction,
    predict_image,
    preprocess,
    render_sign,
    run_degradation,
    train_dataset,
)


@pytest.fixture(scope="module")
def resnet() -> keras.Model:
    keras.utils.set_random_seed(0)
    return ResNet50()


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


def test_preprocess_scales_to_unit_interval() -> None:
    x = preprocess(np.array([[0, 128, 255]], dtype=np.uint8))
    assert x.dtype == np.float32 and np.allclose(x, [[0.0, 128 / 255, 1.0]])


def test_downsample_averages_blocks() -> None:
    images = np.zeros((1, 64, 64, 3), dtype=np.uint8)
    images[0, :2, :2] = 255
    small = downsample(images, 32)
    assert small.shape == (1, 32, 32, 3) and small[0, 0, 0, 0] == 1.0 and small[0, 1, 1, 0] == 0.0
    with pytest.raises(ValueError, match="found 30"):
        downsample(images, 30)


def test_train_dataset_batches_shuffles_and_augments() -> None:
    x = np.arange(10, dtype=np.float32)[:, None, None, None] * np.ones((10, 8, 8, 3), np.float32)
    y = np.arange(10)
    plain = [b for b in train_dataset(x, y, batch_size=4, augment=False)]
    assert [len(yb) for _, yb in plain] == [4, 4, 2]
    labels = np.concatenate([yb.numpy() for _, yb in plain])
    assert sorted(labels) == list(range(10)) and list(labels) != list(range(10))
    xb, _ = next(iter(train_dataset(x, y, batch_size=10, augment=True)))
    assert xb.shape == (10, 8, 8, 3)


def test_augmenter_keeps_shape_and_changes_images() -> None:
    x = np.random.RandomState(0).uniform(size=(4, 16, 16, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(augmenter(seed=1)(x, training=True))
    assert out.shape == x.shape and not np.allclose(out, x)


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


def test_render_sign_is_deterministic_and_validates() -> None:
    a, b = render_sign(3, seed=1, size=96), render_sign(3, seed=1, size=96)
    assert a.shape == (96, 96, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    with pytest.raises(ValueError, match="found 6"):
        render_sign(6, seed=1)


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


def test_plots_draw_labelled_figures() -> None:
    history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.6], "accuracy": [0.5, 0.8], "val_accuracy": [0.4, 0.7]}
    fig = plot_history({"run": history})
    assert [ax.get_xlabel() for ax in fig.axes] == ["epoch", "epoch"] and len(fig.axes[1].lines) == 2
    fig = plot_confusion(np.array([[2, 1], [0, 3]]))
    assert fig.axes[0].get_xlabel() == "predicted class" and len(fig.axes[0].texts) == 4
    images = np.zeros((3, 64, 64, 3), np.uint8)
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    fig = plot_misclassified(images, np.array([0, 0, 0]), probs)
    assert sum(bool(ax.get_title()) for ax in fig.axes) == 1 and "pred 1 (80%)" in fig.axes[0].get_title()
    fig = plot_prediction(images[0], np.array([0.1, 0.7, 0.2]))
    assert fig.axes[1].get_xlabel() == "class (raised fingers)"
    plt.close("all")


def test_run_degradation_trains_four_networks() -> None:
    rs = np.random.RandomState(0)
    data = (
        rs.uniform(size=(12, 8, 8, 3)).astype("float32"),
        rs.randint(0, 3, 12),
        rs.uniform(size=(6, 8, 8, 3)),
        rs.randint(0, 3, 6),
    )
    histories = run_degradation((8, 14), data, epochs=2)
    assert list(histories) == ["plain8", "plain14", "residual8", "residual14"]
    assert all(len(h["accuracy"]) == 2 and len(h["val_accuracy"]) == 2 for h in histories.values())


def test_train_dataset_is_reproducible() -> None:
    """Same seed, same shuffles and augmentations: a rerun of notebook 03 sees the same batches."""
    x = np.random.RandomState(0).uniform(size=(12, 16, 16, 3)).astype("float32")
    y = np.arange(12)

    def batches() -> list[np.ndarray]:
        return [xb.numpy() for xb, _ in train_dataset(x, y, batch_size=4, seed=3, augment=True)]

    assert all(np.array_equal(a, b) for a, b in zip(batches(), batches(), strict=True))


def test_compile_recipe_schedules_the_learning_rate_to_zero() -> None:
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(6, activation="softmax")(inputs))
    compile_recipe(model, epochs=3, steps_per_epoch=10)
    schedule = model.optimizer.get_config()["learning_rate"]
    assert schedule["class_name"] == "CosineDecay"
    assert {k: schedule["config"][k] for k in ("initial_learning_rate", "decay_steps", "alpha")} == {
        "initial_learning_rate": 1e-3,
        "decay_steps": 30,
        "alpha": 0.0,
    }
    assert model.loss.get_config()["label_smoothing"] == 0.1
