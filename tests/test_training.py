"""Tests for resnet_course.training: the input pipeline, the recipe, and lesson 01's experiment."""

from __future__ import annotations

import keras
import numpy as np

from resnet_course.training import augmenter, compile_recipe, final_error, run_degradation, train_dataset


def test_train_dataset_batches_shuffles_and_augments() -> None:
    x = np.arange(10, dtype=np.float32)[:, None, None, None] * np.ones((10, 8, 8, 3), np.float32)
    y = np.arange(10)
    plain = [b for b in train_dataset(x, y, batch_size=4, augment=False)]
    assert [len(yb) for _, yb in plain] == [4, 4, 2]
    labels = np.concatenate([yb.numpy() for _, yb in plain])
    assert sorted(labels) == list(range(10)) and list(labels) != list(range(10))
    xb, _ = next(iter(train_dataset(x, y, batch_size=10, augment=True)))
    assert xb.shape == (10, 8, 8, 3)


def test_train_dataset_is_reproducible() -> None:
    """Same seed, same shuffles and augmentations: a rerun of notebook 03 sees the same batches."""
    x = np.random.RandomState(0).uniform(size=(12, 16, 16, 3)).astype("float32")
    y = np.arange(12)

    def batches() -> list[np.ndarray]:
        return [xb.numpy() for xb, _ in train_dataset(x, y, batch_size=4, seed=3, augment=True)]

    assert all(np.array_equal(a, b) for a, b in zip(batches(), batches(), strict=True))


def test_augmenter_keeps_shape_and_changes_images() -> None:
    x = np.random.RandomState(0).uniform(size=(4, 16, 16, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(augmenter(seed=1)(x, training=True))
    assert out.shape == x.shape and not np.allclose(out, x)


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


def test_final_error_averages_the_last_epochs() -> None:
    history = {"accuracy": [0.1, 0.5, 0.6, 0.7, 0.8], "val_accuracy": [0.2, 0.4]}
    assert np.isclose(final_error(history), 0.3)
    assert np.isclose(final_error(history, "val_accuracy", last=1), 0.6)
