"""Training: the input pipeline with augmentation, notebook 03's recipe, and lesson 01's experiment.

Lessons: 00 (``training_speed``), 01 (``run_degradation``, ``final_error``),
03 and 04 (``augmenter``, ``train_dataset``, ``zero_init_residual``,
``compile_recipe``, ``training_speed``, ``about``), 06 (the same, and ``optimizer_start``
and ``restart``: one compiled model trained again from new weights without tracing it again).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping

import keras
import numpy as np
import tensorflow as tf

from resnet_course.constants import BATCH_SIZE
from resnet_course.models import Block, cifar_net


def augmenter(
    seed: int = 0, shift: float = 0.08, zoom: float = 0.0, rotation: float = 0.0, colour: float = 0.0
) -> keras.Sequential:
    """Random left-right flips and shifts of up to ``shift`` (8 %; a mirrored hand shows as many fingers).

    Optional, off by default: zooms in or out by up to ``zoom`` (a fraction of
    the side), rotations by up to ``rotation`` (a fraction of a full turn:
    0.03 is about 11 degrees) and brightness and contrast changes by up to
    ``colour`` (a fraction of the [0, 1] range, and of the contrast), each
    with its own seed derived from ``seed``.
    """
    layers: list[keras.layers.Layer] = [
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomTranslation(shift, shift, fill_mode="nearest", seed=seed),
    ]
    if zoom:
        layers.append(keras.layers.RandomZoom((-zoom, zoom), fill_mode="nearest", seed=seed + 1))
    if rotation:
        layers.append(keras.layers.RandomRotation(rotation, fill_mode="nearest", seed=seed + 2))
    if colour:
        layers.append(keras.layers.RandomBrightness(colour, value_range=(0.0, 1.0), seed=seed + 3))
        layers.append(keras.layers.RandomContrast(colour, value_range=(0.0, 1.0), seed=seed + 4))
    return keras.Sequential(layers, name="augment")


def train_dataset(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
    augment: bool = True,
    layers: keras.Sequential | None = None,
) -> tf.data.Dataset:
    """A shuffled, batched (and augmented) ``tf.data`` pipeline over ``(x, y)``, with prefetch.

    Works with every Keras backend: ``model.fit`` accepts a ``tf.data.Dataset``.
    The augmentation runs one batch at a time (no parallel map), so that its
    random draws come in the same order in every run: same seed, same run.
    Prefetching still overlaps it with the training step. ``layers`` replaces
    the augmentation (default: ``augmenter(seed)``).
    """
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed).batch(batch_size)
    if augment:
        chosen = layers if layers is not None else augmenter(seed)
        ds = ds.map(lambda xb, yb: (chosen(xb, training=True), yb))
    return ds.prefetch(tf.data.AUTOTUNE)


def compile_recipe(
    model: keras.Model,
    epochs: int,
    steps_per_epoch: int,
    bn_momentum: float = 0.9,
    learning_rate: float = 1e-3,
    warmup_epochs: int = 0,
    weight_decay: float = 0.0,
    ema: float = 0.0,
    cosine: bool = True,
    label_smoothing: float = 0.1,
) -> None:
    """Compile ``model`` with the recipe notebook 03 builds step by step (part B).

    Every BatchNorm layer's momentum set to ``bn_momentum`` (0.9: the moving
    averages follow the batch statistics within ~30 steps instead of ~300 at
    Keras's default 0.99), Adam with a cosine decay of the learning rate from
    ``learning_rate`` (1e-3) to 0 over ``epochs * steps_per_epoch`` steps,
    categorical cross-entropy with label smoothing 0.1, and accuracy as the
    metric. Train it on ``train_dataset``.

    The alternatives that ``benchmarks/bench.py trials`` measures, off by
    default: a linear warm-up from 0 over the first ``warmup_epochs`` epochs
    (the cosine then runs over the rest), AdamW's decoupled ``weight_decay``,
    and an exponential moving average of the weights with momentum ``ema``,
    which replaces the weights at the end of ``fit`` (BatchNorm's moving
    statistics are then those of the last weights: recalibrate them).
    The recipe's own parts can be switched off one at a time for its
    ablation: ``bn_momentum=0.99`` (Keras's default), ``cosine=False`` (a
    constant ``learning_rate``, no warm-up) and ``label_smoothing=0.0``.
    """
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = bn_momentum
    warmup = warmup_epochs * steps_per_epoch
    decay = epochs * steps_per_epoch - warmup
    schedule: float | keras.optimizers.schedules.LearningRateSchedule = learning_rate
    if cosine and warmup:
        schedule = keras.optimizers.schedules.CosineDecay(0.0, decay, warmup_target=learning_rate, warmup_steps=warmup)
    elif cosine:
        schedule = keras.optimizers.schedules.CosineDecay(initial_learning_rate=learning_rate, decay_steps=decay)
    averaging = {"use_ema": True, "ema_momentum": ema} if ema else {}
    optimizer = (
        keras.optimizers.AdamW(learning_rate=schedule, weight_decay=weight_decay, **averaging)
        if weight_decay
        else keras.optimizers.Adam(learning_rate=schedule, **averaging)
    )
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
        metrics=["accuracy"],
    )


def _ancestors(tensor: keras.KerasTensor) -> set[int]:
    """The ids of the layers that ``tensor`` depends on (including the one that made it)."""
    seen: set[int] = set()
    stack = [tensor._keras_history.operation]
    while stack:
        op = stack.pop()
        if id(op) in seen or isinstance(op, keras.layers.InputLayer):
            continue
        seen.add(id(op))
        inputs = op.input if isinstance(op.input, list) else [op.input]
        stack += [t._keras_history.operation for t in inputs]
    return seen


def zero_init_residual(model: keras.Model) -> list[str]:
    """Start every residual branch at zero: γ = 0 in the BatchNorm that ends it.

    The branch then adds 0 to the shortcut, so at initialisation a block with
    an identity shortcut is the identity on its (ReLU) input, a block with a
    projection shortcut is its projection alone, the signal and the gradient
    pass through the shortcuts, and each block learns a residual from there
    (Goyal et al. 2017, "Accurate, Large Minibatch SGD"; torchvision's
    ``zero_init_residual``). The branch is the deeper input of each ``Add``
    layer (more layers behind it), in whichever order the block adds them; a
    branch that ends in a conv (the pre-activation block) is left alone. Call
    it on a new model, before training: it overwrites weights.

    Returns:
        The names of the BatchNorm layers set to zero.
    """
    zeroed = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Add):
            branch = max(layer.input, key=lambda t: len(_ancestors(t)))
            branch_end = branch._keras_history.operation
            if isinstance(branch_end, keras.layers.BatchNormalization):
                branch_end.gamma.assign(np.zeros(branch_end.gamma.shape, branch_end.gamma.dtype))
                zeroed.append(branch_end.name)
    return zeroed


def optimizer_start(model: keras.Model) -> list[np.ndarray]:
    """The current values of a compiled ``model``'s optimizer variables, to go back to with ``restart``.

    Builds the optimizer for the model's trainable variables when it is not built yet.
    Called right after ``compile`` (with the trainable flags the training will use), it
    records a fresh start; ``training_speed`` calls it to undo its own timed steps.
    """
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    return [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]


def restart(model: keras.Model, weights: list[np.ndarray], start: list[np.ndarray]) -> None:
    """Set ``model``'s weights and put its optimizer back to ``start`` (from ``optimizer_start``).

    The next ``fit`` then trains as a model freshly built with these weights and
    compiled the same way would (step counter and learning-rate schedule at 0, Adam's
    moments at 0), but reuses the training step Keras has already traced.
    """
    model.set_weights(weights)
    variables = model.optimizer.variables
    if len(variables) != len(start):
        raise ValueError(
            f"restart: the optimizer has {len(variables)} variables, the start {len(start)}: "
            "take the start with optimizer_start after compiling this model"
        )
    for variable, value in zip(variables, start, strict=True):
        variable.assign(value)


def training_speed(
    model: keras.Model, x: np.ndarray, y: np.ndarray, batch_size: int = BATCH_SIZE, steps: int = 4, augment: bool = True
) -> float:
    """Training images per second of the compiled ``model`` on this machine: a short timed warm-up.

    Trains on one batch of ``train_dataset(x, y)`` (which traces the training
    step, so the real ``fit`` that follows does not pay for it again), times
    ``steps`` more, the input pipeline and its augmentation included, then
    puts the weights, BatchNorm's moving averages and the optimizer's state
    (step counter, Adam's moments) back as they were. The pipeline is its
    own, so the training that follows is the same as without the warm-up.
    """
    n = batch_size * (steps + 1)
    if len(x) < n:
        raise ValueError(f"training_speed: needs {n} examples, found {len(x)}")
    weights, state = model.get_weights(), optimizer_start(model)
    ends: list[float] = []
    timer = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: ends.append(time.perf_counter()))
    batches = train_dataset(x[:n], y[:n], batch_size=batch_size, augment=augment)
    model.fit(batches, epochs=1, verbose=0, callbacks=[timer], shuffle=False)
    restart(model, weights, state)
    return batch_size * steps / (ends[-1] - ends[0])


def about(seconds: float) -> str:
    """A duration as a learner reads it: "about 40 s", "about 3 min"."""
    if seconds < 90:
        return f"about {max(10, round(seconds, -1)):.0f} s"
    return f"about {math.floor(seconds / 60 + 0.5)} min"


def run_degradation(
    depths: tuple[int, ...],
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    blocks: Mapping[str, Block],
    epochs: int,
    seed: int = 0,
    learning_rate: float = 1e-3,
    batch_size: int = 64,
    optimizer: Callable[[], keras.optimizers.Optimizer] | None = None,
) -> dict[str, dict[str, list[float]]]:
    """Train a ``cifar_net`` of each depth from each of ``blocks`` with the same recipe.

    ``blocks`` names the block functions, e.g. ``{"plain": plain_block,
    "residual": residual_block}`` (lesson 01's), which also name the networks.

    Every network starts from ``keras.utils.set_random_seed(seed)`` and trains
    with Adam (constant ``learning_rate``), batch ``batch_size``,
    for ``epochs`` epochs, on ``data = (x_train, y_train, x_test, y_test)``
    (integer labels), measuring the test set after every epoch. ``optimizer``
    replaces Adam: a function that returns a new optimizer for each network,
    e.g. ``lambda: keras.optimizers.SGD(0.05, momentum=0.9)`` (lesson 01's
    exercise 4; ``learning_rate`` is then unused).

    Returns:
        ``{"plain8": history, "residual8": ..., ...}``, each Keras's
        ``History.history`` (``accuracy``, ``loss``, ``val_accuracy``,
        ``val_loss``, one value per epoch; ``accuracy`` is measured on the
        training batches during the epoch, as in the paper's training curves).
    """
    x_train, y_train, x_test, y_test = data
    histories = {}
    for name, block in blocks.items():
        for depth in depths:
            keras.utils.set_random_seed(seed)
            net = cifar_net(depth, block, name, input_shape=x_train.shape[1:], classes=int(y_train.max()) + 1)
            net.compile(
                optimizer=optimizer() if optimizer else keras.optimizers.Adam(learning_rate),
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
