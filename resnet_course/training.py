"""Training: the input pipeline with augmentation, notebook 03's recipe, and lesson 01's experiment.

Lessons: 01 (``run_degradation``, ``final_error``), 03 and 04 (``augmenter``,
``train_dataset``, ``compile_recipe``).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from resnet_course.constants import BATCH_SIZE
from resnet_course.models import cifar_net


def augmenter(seed: int = 0) -> keras.Sequential:
    """Random left-right flips and shifts of up to 8% (a mirrored hand shows as many fingers)."""
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomTranslation(0.08, 0.08, fill_mode="nearest", seed=seed),
        ],
        name="augment",
    )


def train_dataset(
    x: np.ndarray, y: np.ndarray, batch_size: int = BATCH_SIZE, seed: int = 0, augment: bool = True
) -> tf.data.Dataset:
    """A shuffled, batched (and augmented) ``tf.data`` pipeline over ``(x, y)``, with prefetch.

    Works with every Keras backend: ``model.fit`` accepts a ``tf.data.Dataset``.
    The augmentation runs one batch at a time (no parallel map), so that its
    random draws come in the same order in every run: same seed, same run.
    Prefetching still overlaps it with the training step.
    """
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed).batch(batch_size)
    if augment:
        layers = augmenter(seed)
        ds = ds.map(lambda xb, yb: (layers(xb, training=True), yb))
    return ds.prefetch(tf.data.AUTOTUNE)


def compile_recipe(model: keras.Model, epochs: int, steps_per_epoch: int) -> None:
    """Compile ``model`` with the recipe notebook 03 builds step by step (part B).

    Adam with a cosine decay of the learning rate from 1e-3 to 0 over
    ``epochs * steps_per_epoch`` steps, categorical cross-entropy with label
    smoothing 0.1, and accuracy as the metric. Train it on ``train_dataset``.
    """
    schedule = keras.optimizers.schedules.CosineDecay(initial_learning_rate=1e-3, decay_steps=epochs * steps_per_epoch)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=schedule),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
        metrics=["accuracy"],
    )


def run_degradation(
    depths: tuple[int, ...],
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    epochs: int,
    seed: int = 0,
    learning_rate: float = 1e-3,
    batch_size: int = 64,
) -> dict[str, dict[str, list[float]]]:
    """Train plain and residual ``cifar_net``s of each depth with the same recipe.

    Every network starts from ``keras.utils.set_random_seed(seed)`` and trains
    with Adam (constant ``learning_rate``), batch ``batch_size``,
    for ``epochs`` epochs, on ``data = (x_train, y_train, x_test, y_test)``
    (integer labels), measuring the test set after every epoch.

    Returns:
        ``{"plain8": history, "residual8": ..., ...}``, each Keras's
        ``History.history`` (``accuracy``, ``loss``, ``val_accuracy``,
        ``val_loss``, one value per epoch; ``accuracy`` is measured on the
        training batches during the epoch, as in the paper's training curves).
    """
    x_train, y_train, x_test, y_test = data
    histories = {}
    for residual in (False, True):
        for depth in depths:
            keras.utils.set_random_seed(seed)
            net = cifar_net(depth, residual, input_shape=x_train.shape[1:], classes=int(y_train.max()) + 1)
            net.compile(
                optimizer=keras.optimizers.Adam(learning_rate),
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
            )
            history = net.fit(
                x_train, y_train, batch_size=batch_size, epochs=epochs, validation_data=(x_test, y_test), verbose=0
            )
            histories[net.name] = history.history
    return histories


def final_error(history: dict[str, list[float]], key: str = "accuracy", last: int = 3) -> float:
    """1 - the mean of the last ``last`` epochs' ``key`` (e.g. ``"val_accuracy"``) in a ``History.history``:
    the final error of a run, smoothed over the noise of single epochs."""
    return float(1 - np.mean(history[key][-last:]))
