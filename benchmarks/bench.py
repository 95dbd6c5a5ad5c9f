"""Speed benchmarks of the course (issue #7). Prints a table and writes JSON.

    .venv/bin/python benchmarks/bench.py train [--batch-size 32] [--steps 20] [--skip-recipe]
                                               [--sources synthetic digits] [--seeds 0 1 2]
                                               [--epochs RECIPE_EPOCHS]
        Training images/s of the course's ResNet-50 and of
        keras.applications.ResNet50, inference images/s, first-step time,
        peak memory, FLOP utilisation against a float32 matmul peak measured
        in the same run, and, for each data source and seed, the epoch and
        the seconds at which notebook 03's recipe (RECIPE_EPOCHS epochs)
        first reaches 95 % validation accuracy (a stratified 10 % of the
        training images, held out as in notebook 03), its final validation
        and test accuracy, with the minimum and median over the seeds.
    .venv/bin/python benchmarks/bench.py trials [--trials NAME ...] [--sources ...] [--seeds ...]
        The search for notebook 03's recipe (issue #32): each trial of TRIALS
        changes one thing of the recipe, or removes one of its parts (the
        ablation: "without zero-init", "momentum 0.99", "constant learning
        rate", "no label smoothing", "no flips or shifts"); for each source
        and seed, the final
        validation accuracy (also with test-time flip averaging and after
        recalibrating BatchNorm), the validation loss, the seconds per run
        and per pass over the input pipeline alone. Validation only: the
        test set plays no part in choosing. Each run is appended to
        benchmarks/results/trials.jsonl as it ends; --report prints the
        stored runs (and README's Markdown table) without training.
    .venv/bin/python benchmarks/bench.py course
        Minutes to execute every notebook and the peak resident memory of its
        kernel, and minutes to run the unit tests.

Results go to benchmarks/results/<mode>.json (git-ignored) and to stdout.
"""

from __future__ import annotations

from resnet_utils import (
    BATCH_SIZE,
    IMAGE_SHAPE,
    NUM_CLASSES,
    RECIPE_EPOCHS,
    accuracy,
    augmenter,
    compile_recipe,
    environment_report,
    forward_flops,
    load_dataset,
    preprocess,
    recalibrate_batchnorm,
    stratified_split,
    train_dataset,
    wilson_interval,
    zero_init_residual,
)

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from resnet_course.evaluation import probabilities
from resnet_course.models import ResNet50

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def matmul_peak(n: int = 2048, repeats: int = 10) -> float:
    """float32 GFLOP/s of an n x n matmul on this machine (best of ``repeats``)."""
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    tf.linalg.matmul(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        tf.linalg.matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def train_speed(model: keras.Model, batch_size: int, steps: int) -> dict[str, float]:
    """First-step seconds and steady training images/s with train_on_batch on random data."""
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    rs = np.random.RandomState(0)
    x = rs.uniform(size=(batch_size, *IMAGE_SHAPE)).astype("float32")
    y = keras.utils.to_categorical(rs.randint(0, NUM_CLASSES, batch_size), NUM_CLASSES)
    start = time.perf_counter()
    model.train_on_batch(x, y)
    first = time.perf_counter() - start
    model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    seconds = time.perf_counter() - start
    return {"first_step_s": first, "train_img_per_s": steps * batch_size / seconds}


def inference_speed(model: keras.Model, batch_size: int = 120, repeats: int = 5) -> float:
    x = np.random.RandomState(1).uniform(size=(batch_size, *IMAGE_SHAPE)).astype("float32")
    model.predict_on_batch(x)
    start = time.perf_counter()
    for _ in range(repeats):
        model.predict_on_batch(x)
    return repeats * batch_size / (time.perf_counter() - start)


# What `bench.py trials` measures: each changes one thing of notebook 03's recipe (issue #32), or
# removes one of its parts (the ablation, issue #31). "augment" goes to `augmenter` (None: no augmentation
# at all), "compile" to `compile_recipe`; "batch_size" and "epochs" replace the recipe's; "zero_init": False
# leaves out `zero_init_residual`.
TRIALS: dict[str, dict[str, Any]] = {
    "recipe": {},
    "zoom 0.1": {"augment": {"zoom": 0.1}},
    "colour 0.2": {"augment": {"colour": 0.2}},
    "rotation 0.03": {"augment": {"rotation": 0.03}},
    "EMA 0.98": {"compile": {"ema": 0.98}},
    "learning rate 2e-3": {"compile": {"learning_rate": 2e-3}},
    "warm-up 1 epoch": {"compile": {"warmup_epochs": 1}},
    "AdamW 0.1": {"compile": {"weight_decay": 0.1}},
    "batch 16": {"batch_size": 16},
    "6 epochs": {"epochs": 6},
    "without zero-init": {"zero_init": False},
    "momentum 0.99": {"compile": {"bn_momentum": 0.99}},
    "constant learning rate": {"compile": {"cosine": False}},
    "no label smoothing": {"compile": {"label_smoothing": 0.0}},
    "no flips or shifts": {"augment": None},
}


def time_to_target(
    source: str,
    seed: int,
    epochs: int = RECIPE_EPOCHS,
    target: float = 0.95,
    trial: dict[str, Any] | None = None,
    test: bool = True,
) -> dict[str, Any]:
    """Notebook 03's part B recipe on ``source`` from ``seed``: when the validation accuracy first reaches
    ``target``, and (with ``test``) the test accuracy once, at the end.

    As in notebook 03, the network trains on the training images less a stratified validation part
    (``stratified_split``, seed 0, the same for every run), which every epoch is measured on.
    ``trial`` (an entry of ``TRIALS``) changes the recipe. The final validation accuracy is also
    measured with test-time flip averaging and after recalibrating BatchNorm's statistics, and the
    seconds one pass over the augmented training pipeline takes alone.
    """
    trial = trial or {}
    epochs = trial.get("epochs", epochs)
    batch_size = trial.get("batch_size", BATCH_SIZE)
    x_all, y_all, x_test, y_test, _ = load_dataset(verbose=False, source=source)
    y_all, y_test = y_all.reshape(-1), y_test.reshape(-1)
    train, val = stratified_split(y_all)
    X_train, X_val, X_test = preprocess(x_all[train]), preprocess(x_all[val]), preprocess(x_test)
    Y_train = keras.utils.to_categorical(y_all[train], NUM_CLASSES)
    Y_val = keras.utils.to_categorical(y_all[val], NUM_CLASSES)
    keras.utils.set_random_seed(seed)
    model = ResNet50()
    if trial.get("zero_init", True):
        zero_init_residual(model)
    steps = int(np.ceil(len(X_train) / batch_size))
    compile_recipe(model, epochs, steps_per_epoch=steps, **trial.get("compile", {}))
    reached: dict[str, Any] = {}
    batch_statistics: list[float] = []

    def data() -> tf.data.Dataset:  # shuffles itself: fit(shuffle=False)
        options = trial.get("augment", {})
        if options is None:
            return train_dataset(X_train, Y_train, batch_size=batch_size, seed=seed, augment=False)
        return train_dataset(X_train, Y_train, batch_size=batch_size, seed=seed, layers=augmenter(seed, **options))

    pipeline_start = time.perf_counter()
    for _ in data():
        pass
    pipeline_s = time.perf_counter() - pipeline_start
    start = time.perf_counter()

    class Watch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            acc = (logs or {}).get("val_accuracy", 0.0)
            if acc >= target and "seconds" not in reached:
                reached.update(seconds=time.perf_counter() - start, epoch=epoch + 1)
            batch_statistics.append(round(accuracy(model, X_val, y_all[val], batch_statistics=True), 4))

    history = model.fit(
        data(), epochs=epochs, validation_data=(X_val, Y_val), callbacks=[Watch()], verbose=0, shuffle=False
    )
    total = time.perf_counter() - start
    probs = probabilities(model, X_val)
    final_val = float(np.mean(probs.argmax(axis=1) == y_all[val]))
    flipped_val = accuracy(model, X_val, y_all[val], flip_average=True)
    test_acc = accuracy(model, X_test, y_test) if test else None  # the network as trained, once
    flipped_test = accuracy(model, X_test, y_test, flip_average=True) if test else None
    recalibrate_batchnorm(model, X_train)
    recalibrated_val = accuracy(model, X_val, y_all[val])
    return {
        "source": source,
        "seed": seed,
        "epochs": epochs,
        "trial": trial,
        "train_images": len(X_train),
        "validation_images": len(X_val),
        "test_images": len(X_test),
        "total_s": total,
        "pipeline_s_per_epoch": pipeline_s,
        "validation_accuracy_per_epoch": [round(a, 4) for a in history.history["val_accuracy"]],
        "validation_accuracy_with_batch_statistics_per_epoch": batch_statistics,
        "training_accuracy_per_epoch": [round(a, 4) for a in history.history["accuracy"]],
        "final_validation_accuracy": final_val,
        "final_validation_loss": float(-np.mean(np.log(probs[np.arange(len(probs)), y_all[val]] + 1e-12))),
        "final_validation_accuracy_flip_averaged": flipped_val,
        "final_validation_accuracy_recalibrated": recalibrated_val,
        "final_validation_interval": wilson_interval(round(final_val * len(X_val)), len(X_val)),
        "final_test_accuracy": test_acc,
        "final_test_accuracy_flip_averaged": flipped_test,
        "seconds_to_target": reached.get("seconds"),
        "epoch_reached": reached.get("epoch"),
    }


def recipe_rows(runs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """One row per run and one summary row (minimum, median) per source."""
    rows = []
    for r in runs:
        to = f"epoch {r['epoch_reached']} ({r['seconds_to_target']:.0f} s)" if r["epoch_reached"] else "not reached"
        per_epoch = ", ".join(f"{100 * a:.0f}" for a in r["validation_accuracy_per_epoch"])
        rows.append(
            (
                f"recipe, {r['source']}, seed {r['seed']}: 95 % validation accuracy at",
                f"{to}; per epoch {per_epoch} %; after {r['epochs']} epochs validation "
                f"{r['final_validation_accuracy']:.1%} "
                f"(flip-averaged {r['final_validation_accuracy_flip_averaged']:.1%}), "
                f"test {r['final_test_accuracy']:.1%} (flip-averaged {r['final_test_accuracy_flip_averaged']:.1%}) "
                f"({r['total_s']:.0f} s)",
            )
        )
    for source in dict.fromkeys(r["source"] for r in runs):
        mine = [r for r in runs if r["source"] == source]
        epochs = [r["epoch_reached"] or float("inf") for r in mine]
        final = [r["final_validation_accuracy"] for r in mine]
        judged = {  # notebook 03 evaluates with test-time flip averaging
            "validation": [r["final_validation_accuracy_flip_averaged"] for r in mine],
            "test": [r["final_test_accuracy_flip_averaged"] for r in mine],
        }
        flipped = "; ".join(
            f"{kind} min {min(values):.1%}, median {np.median(values):.1%}" for kind, values in judged.items()
        )
        rows.append(
            (
                f"recipe, {source}, {len(mine)} seeds: epoch of 95 % (max, median)",
                f"{max(epochs)}, {np.median(epochs):g}; final validation accuracy min {min(final):.1%}, "
                f"median {np.median(final):.1%}; flip-averaged: {flipped}",
            )
        )
    return rows


def bench_train(args: argparse.Namespace) -> dict[str, Any]:
    keras.utils.set_random_seed(0)
    ours = ResNet50()
    flops = forward_flops(ours)
    result: dict[str, Any] = {"batch_size": args.batch_size, "forward_gflop_per_image": flops / 1e9}
    result["matmul_peak_gflops"] = matmul_peak()
    result["course_resnet50"] = train_speed(ours, args.batch_size, args.steps)
    result["course_resnet50"]["inference_img_per_s"] = inference_speed(ours)
    reference = keras.applications.ResNet50(weights=None, input_shape=IMAGE_SHAPE, classes=NUM_CLASSES)
    result["keras_applications_resnet50"] = train_speed(reference, args.batch_size, args.steps)
    train_gflops = result["course_resnet50"]["train_img_per_s"] * 3 * flops / 1e9
    result["train_gflops"] = train_gflops
    result["flop_utilisation"] = train_gflops / result["matmul_peak_gflops"]
    if not args.skip_recipe:
        result["recipe"] = [time_to_target(source, seed, args.epochs) for source in args.sources for seed in args.seeds]
    result["peak_memory_mb"] = peak_memory_mb()
    ours_ips = result["course_resnet50"]["train_img_per_s"]
    ref_ips = result["keras_applications_resnet50"]["train_img_per_s"]
    rows = [
        ("training images/s, course ResNet-50", f"{ours_ips:.1f}"),
        ("training images/s, keras.applications", f"{ref_ips:.1f} (ratio {ours_ips / ref_ips:.2f})"),
        ("first step (graph tracing), s", f"{result['course_resnet50']['first_step_s']:.1f}"),
        ("inference images/s (batch 120)", f"{result['course_resnet50']['inference_img_per_s']:.0f}"),
        ("forward GFLOP per image", f"{flops / 1e9:.2f}"),
        ("matmul peak, GFLOP/s", f"{result['matmul_peak_gflops']:.0f}"),
        ("training GFLOP/s (3 x forward)", f"{train_gflops:.0f} ({result['flop_utilisation']:.0%} of peak)"),
        ("peak memory, MB", f"{result['peak_memory_mb']:.0f}"),
    ]
    if "recipe" in result:
        rows += recipe_rows(result["recipe"])
    print_table(rows)
    return result


def trial_rows(runs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Per trial and source: the final validation accuracy per seed, its minimum and median, the same with
    flip averaging and after recalibration, the mean validation loss and the seconds per run."""
    rows = []
    keys = dict.fromkeys((r["name"], r["source"]) for r in runs)
    for name, source in keys:
        mine = sorted((r for r in runs if r["name"] == name and r["source"] == source), key=lambda r: r["seed"])
        final = [r["final_validation_accuracy"] for r in mine]
        flipped = [r["final_validation_accuracy_flip_averaged"] for r in mine]
        recalibrated = [r["final_validation_accuracy_recalibrated"] for r in mine]
        seeds = ", ".join(f"{r['seed']}: {100 * a:.1f}" for r, a in zip(mine, final, strict=True))
        rows.append(
            (
                f"{name}, {source}",
                f"validation % by seed {seeds}; min {100 * min(final):.1f}, median {100 * np.median(final):.1f}"
                f" | flip-averaged min {100 * min(flipped):.1f}, median {100 * np.median(flipped):.1f}"
                f" | recalibrated min {100 * min(recalibrated):.1f}"
                f" | loss {np.mean([r['final_validation_loss'] for r in mine]):.3f}"
                f" | {np.mean([r['total_s'] for r in mine]):.0f} s/run,"
                f" pipeline {np.mean([r['pipeline_s_per_epoch'] for r in mine]):.1f} s/epoch",
            )
        )
    return rows


def trial_markdown(runs: list[dict[str, Any]]) -> str:
    """README's table of the trials: per trial and source, the final validation accuracy per seed, its
    minimum and median, the same with flip averaging, and the mean validation loss."""
    lines = [
        "| trial | data | validation % by seed | min / median | flip-averaged min / median | validation loss |",
        "|---|---|---|---|---|---|",
    ]
    for name, source in dict.fromkeys((r["name"], r["source"]) for r in runs):
        mine = sorted((r for r in runs if r["name"] == name and r["source"] == source), key=lambda r: r["seed"])
        final = [100 * r["final_validation_accuracy"] for r in mine]
        flipped = [100 * r["final_validation_accuracy_flip_averaged"] for r in mine]
        seeds = " / ".join(f"{a:.1f}" for a in final)
        lines.append(
            f"| {name} | {source} | {seeds} | {min(final):.1f} / {np.median(final):.1f} | "
            f"{min(flipped):.1f} / {np.median(flipped):.1f} | "
            f"{np.mean([r['final_validation_loss'] for r in mine]):.3f} |"
        )
    return "\n".join(lines)


def bench_trials(args: argparse.Namespace) -> dict[str, Any]:
    """Each trial of ``args.trials`` on each source and seed, validation accuracy only (no test set).

    Every run is appended to ``results/trials.jsonl`` as soon as it ends, so an interrupted search
    keeps what it measured; the table covers every run of the chosen trials stored there. With
    ``args.report`` nothing is trained: the stored runs are printed, also as README's Markdown table.
    """
    RESULTS.mkdir(exist_ok=True)
    log = RESULTS / "trials.jsonl"
    for name in [] if args.report else args.trials:
        for source in args.sources:
            for seed in args.seeds:
                run = time_to_target(source, seed, args.epochs, trial=TRIALS[name], test=False)
                run["name"] = name
                with log.open("a") as f:
                    f.write(json.dumps(run) + "\n")
                print(f"{name}, {source}, seed {seed}: validation {run['final_validation_accuracy']:.1%}", flush=True)
    runs = [json.loads(line) for line in log.read_text().splitlines()]
    runs = [r for r in runs if r["name"] in args.trials and r["source"] in args.sources and r["seed"] in args.seeds]
    print_table(trial_rows(runs))
    print("\n" + trial_markdown(runs))
    return {"runs": runs}


def run_measured(command: list[str], cwd: Path = REPO) -> tuple[float, float]:
    """Run ``command``; its wall-clock seconds and the peak resident memory (MB) of it and its children.

    ``os.wait4`` reports the child's own rusage, whose ``ru_maxrss`` covers the
    processes it waited for: for ``notebooks.py execute`` that is the kernel.
    """
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command)
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def bench_course() -> dict[str, Any]:
    result: dict[str, Any] = {}
    rows = []
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        copy = path.with_name(f".bench_{path.name}")  # same folder, so relative paths work; deleted after
        copy.write_bytes(path.read_bytes())
        try:
            seconds, peak_mb = run_measured(
                [sys.executable, str(REPO / "tools" / "notebooks.py"), "execute", str(copy)]
            )
        finally:
            copy.unlink(missing_ok=True)
        result[path.name] = {"seconds": seconds, "peak_memory_mb": peak_mb}
        rows.append((path.name, f"{seconds / 60:.1f} min, kernel peak memory {peak_mb / 1024:.1f} GB"))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "tests", "-p", "no:cacheprovider"], cwd=REPO, check=False)
    result["unit tests (pytest tests/)"] = time.perf_counter() - start
    rows.append(("unit tests (pytest tests/)", f"{result['unit tests (pytest tests/)'] / 60:.1f} min"))
    print_table(rows)
    return result


def print_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["train", "trials", "course"])
    parser.add_argument("--trials", nargs="+", default=list(TRIALS), choices=list(TRIALS), help="trials mode: which")
    parser.add_argument("--report", action="store_true", help="trials mode: print the stored runs, train nothing")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--skip-recipe", action="store_true", help="skip the time-to-95%% training runs")
    parser.add_argument("--sources", nargs="+", default=["synthetic", "digits"], help="data sources of the recipe runs")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="seeds of the recipe runs")
    parser.add_argument(
        "--epochs", type=int, default=RECIPE_EPOCHS, help="epochs of the recipe runs (cosine over them)"
    )
    args = parser.parse_args()
    modes = {"train": bench_train, "trials": bench_trials, "course": lambda _: bench_course()}
    result = modes[args.mode](args)
    result["environment"] = environment_report() | {"machine": platform.processor() or platform.machine()}
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{args.mode}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"\nwritten {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
