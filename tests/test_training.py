"""Tests for resnet_course.training: the input pipeline, the recipe, and lesson 01's experiment."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from resnet_course.blocks import REFERENCE_BLOCKS, identity_block, preact_block
from resnet_course.models import ResNet50
from resnet_course.training import (
    about,
    augmenter,
    compile_recipe,
    final_error,
    optimizer_start,
    restart,
    run_degradation,
    train_dataset,
    training_speed,
    zero_init_residual,
)


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


def test_augmenter_options_add_their_layers_and_the_default_is_flips_and_shifts() -> None:
    assert [type(layer).__name__ for layer in augmenter().layers] == ["RandomFlip", "RandomTranslation"]
    full = augmenter(seed=2, zoom=0.1, rotation=0.03, colour=0.2)
    names = [type(layer).__name__ for layer in full.layers]
    assert names == [
        "RandomFlip",
        "RandomTranslation",
        "RandomZoom",
        "RandomRotation",
        "RandomBrightness",
        "RandomContrast",
    ]
    x = np.random.RandomState(0).uniform(size=(4, 16, 16, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(full(x, training=True))
    assert out.shape == x.shape and not np.allclose(
        out, keras.ops.convert_to_numpy(augmenter(seed=2)(x, training=True))
    )
    assert out.min() >= 0.0 and out.max() <= 1.0  # brightness and contrast stay in the images' [0, 1]


def test_train_dataset_uses_the_given_augmentation() -> None:
    x = np.random.RandomState(1).uniform(size=(8, 8, 8, 3)).astype("float32")
    y = np.zeros((8, 6), "float32")
    identity = keras.Sequential([keras.layers.Identity()])
    ((xb, _),) = list(train_dataset(x, y, batch_size=8, seed=0, layers=identity))
    assert np.allclose(np.sort(xb.numpy().ravel()), np.sort(x.ravel()))  # shuffled, not changed


def test_compile_recipe_alternatives_warm_up_weight_decay_and_ema() -> None:
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(6, activation="softmax")(inputs))
    compile_recipe(model, epochs=3, steps_per_epoch=10, learning_rate=2e-3, warmup_epochs=1, weight_decay=0.1, ema=0.98)
    optimizer = model.optimizer
    assert isinstance(optimizer, keras.optimizers.AdamW) and optimizer.weight_decay == 0.1
    assert optimizer.use_ema and optimizer.ema_momentum == 0.98
    schedule = keras.optimizers.schedules.deserialize(optimizer.get_config()["learning_rate"])
    rates = [float(schedule(step)) for step in (0, 5, 10, 20, 30)]
    assert rates[0] == 0.0 and np.isclose(rates[1], 1e-3) and np.isclose(rates[2], 2e-3)  # linear warm-up
    assert rates[2] > rates[3] > rates[4] and np.isclose(rates[4], 0.0)  # then the cosine to 0 at the end
    compile_recipe(model, epochs=3, steps_per_epoch=10)
    assert type(model.optimizer) is keras.optimizers.Adam and not model.optimizer.use_ema


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


def test_compile_recipe_ablations_constant_rate_and_no_label_smoothing() -> None:
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(6, activation="softmax")(inputs))
    compile_recipe(model, epochs=3, steps_per_epoch=10, cosine=False, label_smoothing=0.0)
    assert np.isclose(float(model.optimizer.learning_rate), 1e-3)  # a constant rate, not a schedule
    assert model.loss.get_config()["label_smoothing"] == 0.0


def _bn_net() -> keras.Model:
    inputs = keras.Input((6, 6, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(6, activation="softmax")(x))


def test_compile_recipe_sets_every_batchnorm_momentum() -> None:
    model = _bn_net()
    assert model.get_layer("bn").momentum == 0.99  # Keras's default
    compile_recipe(model, epochs=1, steps_per_epoch=1)
    assert model.get_layer("bn").momentum == 0.9
    compile_recipe(model, epochs=1, steps_per_epoch=1, bn_momentum=0.5)
    assert model.get_layer("bn").momentum == 0.5


def test_training_speed_leaves_the_training_unchanged() -> None:
    """Weights, moving averages and Adam's state go back: training after the warm-up is the same as without."""
    rs = np.random.RandomState(0)
    x = rs.uniform(size=(40, 6, 6, 3)).astype("float32")
    y = keras.utils.to_categorical(rs.randint(0, 6, 40), 6)

    def trained(warm_up: bool) -> tuple[list[np.ndarray], float]:
        keras.utils.set_random_seed(0)
        model = _bn_net()
        compile_recipe(model, epochs=2, steps_per_epoch=5)
        speed = training_speed(model, x, y, batch_size=8, steps=3) if warm_up else 0.0
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        return model.get_weights() + [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables], speed

    (plain, _), (warmed, speed) = trained(False), trained(True)
    assert speed > 0
    assert len(plain) == len(warmed) and all(np.allclose(a, b) for a, b in zip(plain, warmed, strict=True))


def test_training_speed_needs_enough_examples() -> None:
    model = _bn_net()
    compile_recipe(model, epochs=1, steps_per_epoch=1)
    with pytest.raises(ValueError, match="needs 40 examples, found 10"):
        training_speed(model, np.zeros((10, 6, 6, 3), "float32"), np.zeros((10, 6)), batch_size=8, steps=4)


def test_about_reads_like_a_person() -> None:
    assert [about(s) for s in (3, 44, 89, 91, 150, 200)] == [
        "about 10 s",
        "about 40 s",
        "about 90 s",
        "about 2 min",
        "about 3 min",
        "about 3 min",
    ]


def test_run_degradation_trains_four_networks() -> None:
    rs = np.random.RandomState(0)
    data = (
        rs.uniform(size=(12, 8, 8, 3)).astype("float32"),
        rs.randint(0, 3, 12),
        rs.uniform(size=(6, 8, 8, 3)),
        rs.randint(0, 3, 6),
    )
    made: list[keras.optimizers.Optimizer] = []

    def sgd() -> keras.optimizers.Optimizer:  # exercise 4's replacement of Adam (lesson 01's networks use Adam)
        made.append(keras.optimizers.SGD(0.05, momentum=0.9))
        return made[-1]

    histories = run_degradation((8, 14), data, REFERENCE_BLOCKS, epochs=2, optimizer=sgd)
    assert list(histories) == ["plain8", "plain14", "residual8", "residual14"]
    assert all(len(h["accuracy"]) == 2 and len(h["val_accuracy"]) == 2 for h in histories.values())
    assert len(made) == 4 and all(int(o.iterations) == 2 for o in made)  # a new SGD per network, 1 step per epoch


def test_final_error_averages_the_last_epochs() -> None:
    history = {"accuracy": [0.1, 0.5, 0.6, 0.7, 0.8], "val_accuracy": [0.2, 0.4]}
    assert np.isclose(final_error(history), 0.3)
    assert np.isclose(final_error(history, "val_accuracy", last=1), 0.6)


def test_zero_init_residual_starts_every_block_as_the_identity() -> None:
    inputs = keras.Input((8, 8, 16))
    x = keras.layers.ReLU(name="relu_in")(inputs)
    out = identity_block(identity_block(x, 3, (4, 4, 16), stage=2, block="a"), 3, (4, 4, 16), stage=2, block="b")
    model = keras.Model(inputs, out)
    x_in = np.random.RandomState(0).normal(size=(2, 8, 8, 16)).astype("float32")
    before = keras.ops.convert_to_numpy(model(x_in))
    assert zero_init_residual(model) == ["bn2a_branch2c", "bn2b_branch2c"]
    after = keras.ops.convert_to_numpy(model(x_in))
    assert not np.allclose(before, np.maximum(x_in, 0))
    np.testing.assert_allclose(after, np.maximum(x_in, 0), atol=1e-6)  # two identities on the ReLU's output


def test_zero_init_residual_finds_resnet50s_16_blocks_and_skips_preact_branches() -> None:
    assert len(zero_init_residual(ResNet50())) == 16
    inputs = keras.Input((8, 8, 4))
    assert zero_init_residual(keras.Model(inputs, preact_block(inputs, 4))) == []


def test_zero_init_residual_finds_the_branch_in_either_order_of_the_addition() -> None:
    L = keras.layers
    inputs = keras.Input((8, 8, 4))
    shortcut = L.BatchNormalization(name="shortcut_bn")(L.Conv2D(8, 1, name="proj")(inputs))
    branch = L.Conv2D(8, 3, padding="same", name="conv2")(L.ReLU()(L.Conv2D(8, 3, padding="same")(inputs)))
    branch = L.BatchNormalization(name="branch_bn")(branch)
    model = keras.Model(inputs, [L.Add()([shortcut, branch]), L.Add()([branch, shortcut])])
    assert zero_init_residual(model) == ["branch_bn", "branch_bn"]


def _small(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4, 4, 2))
    x = keras.layers.Conv2D(3, 3, padding="same")(inputs)
    x = keras.layers.BatchNormalization(momentum=0.5)(x)
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Activation("relu")(x))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    model.compile(keras.optimizers.Adam(1e-2), "categorical_crossentropy")
    return model


def test_restart_trains_as_a_freshly_compiled_model() -> None:
    """A model trained once, then restarted from new weights, ends where a new model with those weights ends."""
    rng = np.random.RandomState(0)
    x, y = rng.uniform(size=(16, 4, 4, 2)).astype("float32"), keras.utils.to_categorical(np.arange(16) % 2, 2)
    fresh = _small(1)
    weights = fresh.get_weights()
    fresh.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False)

    reused = _small(2)
    start = optimizer_start(reused)
    reused.fit(x[::-1], y, batch_size=8, epochs=2, verbose=0, shuffle=False)  # another run first
    restart(reused, weights, start)
    assert int(reused.optimizer.iterations.numpy()) == 0
    reused.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False)
    for a, b in zip(fresh.get_weights(), reused.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_restart_refuses_a_start_of_another_optimizer() -> None:
    model = _small(0)
    with pytest.raises(ValueError, match="optimizer_start"):
        restart(model, model.get_weights(), [np.zeros(1)])
