"""Train a small ResNet with ``tf.distribute.MultiWorkerMirroredStrategy``: the script every worker runs.

Lesson 05 starts this file once per worker on this machine, each process with
its own ``TF_CONFIG`` (the addresses of all workers and this worker's index);
on a cluster you start it the same way on each machine. Without ``TF_CONFIG``
it trains alone, as a cluster of one worker.

Every step, each worker takes its share of the global batch, computes its
gradients, and the workers add them up (an all-reduce over the network), so
that every worker applies the same update to the same weights. BatchNorm is
synchronized too (its batch statistics are all-reduced): each batch is
normalised as one process would normalise the whole global batch, and the
workers' weights stay identical, moving averages included.

After every epoch each worker saves a checkpoint (weights, optimizer state and
the epoch) into ``OUT/backup/worker-<index>``; a restarted worker resumes from
the last one it finds. At the end worker 0, the chief, saves the trained
weights (``OUT/model.weights.h5``), and each worker writes
``OUT/worker-<index>.json``: its batch sizes, the epoch it started from, the
loss of its first step, its validation accuracy, the SHA-256 of its final
weights and the seconds it trained. ``--exit-at-step N`` makes the worker exit (code 3) right after step
N, to simulate a crash.

Keras 3's ``model.fit`` does not run under ``MultiWorkerMirroredStrategy``
(keras-team/keras#20585), so this script writes the training loop itself:
the loop TensorFlow's multi-worker guide uses.

    python scripts/train_multi_worker.py --out runs/alone
"""

from __future__ import annotations

import resnet_utils  # noqa: F401  (first: quiets TensorFlow's start-up lines)

import argparse
import hashlib
import io
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from resnet_course.blocks import basic_block
from resnet_course.constants import NUM_CLASSES
from resnet_course.data import convert_to_one_hot, downsample, load_dataset, stratified_split
from resnet_course.models import cifar_net

CRASH_EXIT_CODE = 3


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line: where to write, how long and how to train, and an optional simulated crash."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for checkpoints and results (all workers)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-per-replica", type=int, default=32, help="images per replica (device) and step")
    parser.add_argument("--lr", type=float, default=5e-3, help="peak learning rate (Adam, cosine decay to 0)")
    parser.add_argument("--depth", type=int, default=14, help="6n + 2 weighted layers (lesson 01's CIFAR-style net)")
    parser.add_argument("--size", type=int, default=32, help="images are downsampled to size x size")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of this worker")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", default=None, help="data source (default: as load_dataset chooses)")
    parser.add_argument("--exit-at-step", type=int, default=0, help="simulate a crash: exit after this step")
    return parser.parse_args(argv)


def synchronized_batchnorm(layer: keras.Layer) -> keras.Layer:
    """For ``clone_model``: the same layer, except that a BatchNormalization layer is synchronized."""
    config = layer.get_config()
    if isinstance(layer, keras.layers.BatchNormalization):
        config["synchronized"] = True
    return layer.__class__.from_config(config)


def weights_sha256(model: keras.Model) -> str:
    """SHA-256 over the bytes of all of the model's weights, trainable and not, in order."""
    digest = hashlib.sha256()
    for weight in model.weights:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(weight)).tobytes())
    return digest.hexdigest()


def epoch_data(x: np.ndarray, y: np.ndarray, global_batch: int, seed: int) -> tf.data.Dataset:
    """One epoch in global batches, shuffled by ``seed``; each worker keeps its share of every batch.

    The order depends on the seed alone (the caller passes seed + epoch), so a
    resumed run sees each epoch's batches as the uninterrupted run did.
    """
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed).batch(global_batch, drop_remainder=True)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    task = json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", "none (a cluster of one)")
    print(f"TF_CONFIG task: {task}; joining the cluster")
    strategy = tf.distribute.MultiWorkerMirroredStrategy()  # reads TF_CONFIG; waits for the other workers
    resolver = strategy.cluster_resolver
    index = resolver.task_id if resolver.task_type else 0
    workers = len(resolver.cluster_spec().as_dict().get("worker", [])) or 1
    replicas = strategy.num_replicas_in_sync  # all devices of all workers (one CPU each in lesson 05)
    global_batch = args.batch_per_replica * replicas
    print(
        f"worker {index} of {workers}, {replicas} replicas: {args.batch_per_replica} images per replica, "
        f"{global_batch} per step"
    )

    X, Y, _, _, _ = load_dataset(source=args.source, verbose=False)
    train, val = stratified_split(Y)  # lesson 03's validation split
    x, y = downsample(X, args.size), convert_to_one_hot(Y, NUM_CLASSES).T
    steps = len(train) // global_batch

    with strategy.scope():  # variables made here are mirrored: one copy per worker, kept equal
        keras.utils.set_random_seed(args.seed)
        net = cifar_net(args.depth, basic_block, "resnet", input_shape=(args.size, args.size, 3))
        model = keras.models.clone_model(net, clone_function=synchronized_batchnorm)
        schedule = keras.optimizers.schedules.CosineDecay(args.lr, decay_steps=args.epochs * steps)
        optimizer = keras.optimizers.Adam(learning_rate=schedule)
        epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    loss_fn = keras.losses.CategoricalCrossentropy(label_smoothing=0.1, reduction=None)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch)
    manager = tf.train.CheckpointManager(checkpoint, str(args.out / "backup" / f"worker-{index}"), max_to_keep=1)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint)
    initial_epoch = int(epoch.numpy())
    print(f"worker {index}: starting at epoch {initial_epoch + 1} of {args.epochs}")

    @tf.function
    def train_step(batches: Iterator[Any]) -> tf.Tensor:
        """On each worker, its share of the next global batch; returns the loss of the whole global batch."""

        def replica_step(images: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
            with tf.GradientTape() as tape:
                per_image = loss_fn(labels, model(images, training=True))
                # Divide by the GLOBAL batch: the all-reduce adds the workers' gradients.
                loss = tf.nn.compute_average_loss(per_image, global_batch_size=global_batch)
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))  # all-reduces
            return loss

        per_worker = strategy.run(replica_step, args=next(batches))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_worker, axis=None)

    start = time.time()
    first_loss = None  # the loss of this run's first step: on the weights it started from
    for e in range(initial_epoch, args.epochs):
        total = 0.0
        data = epoch_data(x[train], y[train], global_batch, seed=args.seed + e)
        batches = iter(strategy.experimental_distribute_dataset(data))
        for _ in range(steps):
            loss = float(train_step(batches))
            first_loss = loss if first_loss is None else first_loss
            total += loss
            if int(optimizer.iterations.numpy()) == args.exit_at_step:
                print(f"worker {index}: simulated crash after step {args.exit_at_step}", flush=True)
                os._exit(CRASH_EXIT_CODE)  # no clean-up, as when a machine goes away
        epoch.assign(e + 1)
        manager.save()
        print(f"worker {index}: epoch {e + 1}, loss {total / steps:.4f}, {time.time() - start:.0f} s")

    probabilities = keras.ops.convert_to_numpy(model(x[val], training=False))
    result = {
        "worker": index,
        "workers": workers,
        "replicas": replicas,
        "batch_per_replica": args.batch_per_replica,
        "global_batch": global_batch,
        "steps_per_epoch": steps,
        "initial_epoch": initial_epoch,
        "first_step_loss": first_loss,
        "val_images": len(val),
        "val_accuracy": float(np.mean(probabilities.argmax(axis=1) == Y[0, val])),
        "weights_sha256": weights_sha256(model),
        "train_seconds": round(time.time() - start, 1),
    }
    if index == 0:  # the chief keeps the trained model; the other workers hold the same weights
        model.save_weights(args.out / "model.weights.h5")
    path = args.out / f"worker-{index}.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(result, indent=1))
    temporary.replace(path)  # readers never see half a file
    print(f"worker {index}: done, validation accuracy {result['val_accuracy']:.3f}")


if __name__ == "__main__":
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # each line reaches the log as it is printed
    main(sys.argv[1:])
