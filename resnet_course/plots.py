"""Figures: every plot of the lessons, and model diagrams. Each returns a matplotlib Figure on a white background.

Lessons: 00 (``plot_examples``), 02 and 03 (``show_diagram``), 03
(``plot_history``, ``plot_confusion``, ``plot_misclassified``,
``plot_prediction``), 04 (``plot_grad_cam``), 05 (``plot_cluster``).
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from resnet_course.environment import has_graphviz, output_path


def plot_examples(
    X: np.ndarray,
    Y: np.ndarray,
    per_class: int = 8,
    title: str = "SIGNS: the first images of each class (label = the digit the hand shows)",
) -> Figure:
    """A grid with the first ``per_class`` images of each class, one row per class.

    Args:
        X: images ``(m, 64, 64, 3)``, uint8 or floats in [0, 1].
        Y: labels ``(m,)`` or ``(1, m)``.
        per_class: columns of the grid.
        title: the figure's title.
    """
    labels = np.asarray(Y).reshape(-1)
    classes = np.unique(labels)
    fig, axes = plt.subplots(
        len(classes), per_class, figsize=(per_class * 1.1, len(classes) * 1.2), squeeze=False, facecolor="white"
    )
    for row, label in zip(axes, classes, strict=True):
        picks = np.flatnonzero(labels == label)[:per_class]
        for ax in row:
            ax.axis("off")
        for ax, i in zip(row, picks, strict=False):
            ax.imshow(X[i])
        row[0].set_title(f"class {label}", loc="left", fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_history(histories: dict[str, dict[str, list[float]]]) -> Figure:
    """Loss and accuracy per epoch, training and validation (``val_*``), of one or more ``History.history`` dicts."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), facecolor="white")
    for (name, h), color in zip(histories.items(), ("tab:blue", "tab:orange", "tab:green"), strict=False):
        epochs = np.arange(1, len(h["loss"]) + 1)
        for ax, key in zip(axes, ("loss", "accuracy"), strict=True):
            ax.plot(epochs, h[key], color=color, label=f"{name}: training")
            ax.plot(epochs, h[f"val_{key}"], color=color, linestyle="--", label=f"{name}: validation")
    for ax, key in zip(axes, ("loss", "accuracy"), strict=True):
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_confusion(matrix: np.ndarray) -> Figure:
    """The confusion matrix as a labelled heat map, counts written in the cells."""
    fig, ax = plt.subplots(figsize=(4.6, 4), facecolor="white")
    ax.imshow(matrix, cmap="Blues")
    for (i, j), n in np.ndenumerate(matrix):
        ax.text(j, i, str(n), ha="center", va="center", color="white" if n > matrix.max() / 2 else "black")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_xticks(range(len(matrix)))
    ax.set_yticks(range(len(matrix)))
    fig.tight_layout()
    return fig


def plot_misclassified(images: np.ndarray, labels: np.ndarray, probs: np.ndarray, max_images: int = 12) -> Figure:
    """The misclassified images with true label, predicted label and the model's confidence."""
    labels = np.asarray(labels).reshape(-1)
    wrong = np.flatnonzero(probs.argmax(axis=1) != labels)[:max_images]
    cols = max(len(wrong), 1)
    fig, axes = plt.subplots(1, cols, figsize=(1.6 * cols, 2.1), squeeze=False, facecolor="white")
    for ax in axes[0]:
        ax.axis("off")
    for ax, i in zip(axes[0], wrong, strict=False):
        ax.imshow(images[i])
        ax.set_title(f"true {labels[i]}\npred {probs[i].argmax()} ({probs[i].max():.0%})", fontsize=8)
    if not len(wrong):
        axes[0][0].text(0.5, 0.5, "no misclassified images", ha="center", va="center")
    fig.tight_layout()
    return fig


def plot_prediction(image: np.ndarray, probs: np.ndarray) -> Figure:
    """An image next to a bar chart of the model's class probabilities."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(7, 2.8), facecolor="white", width_ratios=(1, 1.6))
    left.imshow(image)
    left.axis("off")
    right.bar(
        range(len(probs)), probs, color=["tab:orange" if i == probs.argmax() else "tab:blue" for i in range(len(probs))]
    )
    right.set_xlabel("class (the digit shown)")
    right.set_ylabel("probability")
    right.set_ylim(0, 1)
    right.set_xticks(range(len(probs)))
    fig.tight_layout()
    return fig


def plot_grad_cam(images: np.ndarray, cams: np.ndarray, titles: list[str]) -> Figure:
    """Each image (top) and its Grad-CAM heat map laid over it (bottom)."""
    m = len(images)
    fig, axes = plt.subplots(2, m, figsize=(1.5 * m, 3.4), squeeze=False, facecolor="white")
    for i in range(m):
        axes[0, i].imshow(images[i])
        axes[0, i].set_title(titles[i], fontsize=7)
        axes[1, i].imshow(images[i])
        extent = (0, images.shape[2], images.shape[1], 0)  # stretch the coarse map over the image
        axes[1, i].imshow(cams[i], cmap="jet", alpha=0.45, extent=extent, interpolation="bilinear", vmin=0, vmax=1)
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout()
    return fig


def show_diagram(model: keras.Model, filename: str, embed: bool = True) -> object | None:
    """``keras.utils.plot_model`` of ``model`` with shapes, written to ``outputs/<filename>``.

    Returns the image to display (``embed=True``), or a Markdown image that
    links to the file, relative to the working folder (``embed=False``: for
    big models, so that the notebook does not carry a megabyte of PNG).
    Prints a one-line note and returns None when Graphviz's ``dot`` program
    is missing (the lesson goes on without it).
    """
    if not has_graphviz():
        print("(diagram skipped: Graphviz's `dot` program is not installed; see the README's FAQ)")
        return None
    path = output_path(filename)
    image = keras.utils.plot_model(model, to_file=str(path), show_shapes=True, show_layer_names=True, dpi=64)
    if embed:
        return image
    from IPython.display import Markdown

    try:
        link = Path(os.path.relpath(path)).as_posix()
    except ValueError:  # Windows: the course and the working folder on different drives
        link = path.as_posix()
    return Markdown(f"![{model.name}]({link})")


def plot_cluster(workers: int = 2) -> Figure:
    """The multi-worker picture of lesson 05: one box per machine, the all-reduce between them, shared storage.

    Each machine runs the same script with its own ``TF_CONFIG`` (worker 0 is the
    chief, which also writes the trained model); every step the workers all-reduce
    their gradients; checkpoints and the model go to storage every worker can reach.
    """
    width = 4.0 * workers
    fig, ax = plt.subplots(figsize=(width, 3.4), facecolor="white")
    ax.set(xlim=(0, width), ylim=(0, 3.4), facecolor="white")
    ax.axis("off")
    box = {"boxstyle": "round,pad=0.5", "facecolor": "#e8f0fa", "edgecolor": "#2b5d8a"}
    for i in range(workers):
        role = "worker 0, the chief" if i == 0 else f"worker {i}"
        script, task = "python train_multi_worker.py", f"TF_CONFIG task: worker, index {i}"
        text = f"machine {i + 1}: {role}\n{script}\n{task}\nits share of each batch"
        ax.text(2.0 + 4.0 * i, 2.4, text, ha="center", va="center", fontsize=8.5, color="black", bbox=box)
        ax.annotate("", xy=(2.0 + 4.0 * i, 0.85), xytext=(2.0 + 4.0 * i, 1.75), arrowprops={"arrowstyle": "->"})
    for i in range(workers - 1):
        left, right = 3.15 + 4.0 * i, 4.85 + 4.0 * i
        ax.annotate("", xy=(right, 2.4), xytext=(left, 2.4), arrowprops={"arrowstyle": "<->", "color": "#b03a2e"})
        ax.text(4.0 + 4.0 * i, 2.55, "all-reduce\nevery step", ha="center", va="bottom", fontsize=8, color="#b03a2e")
    storage = "storage all workers reach: checkpoints (backup/worker-<index>), the chief's model.weights.h5"
    storage_box = box | {"facecolor": "#f3efe4", "edgecolor": "#7a6a3a"}
    ax.text(width / 2, 0.55, storage, ha="center", va="center", fontsize=8.5, color="black", bbox=storage_box)
    ax.set_title("One script, one process per machine: TF_CONFIG says who is who", fontsize=10, color="black")
    fig.tight_layout()
    return fig
