"""Tests for resnet_course.plots: every figure, and model diagrams with and without Graphviz."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest

from resnet_course import environment
from resnet_course.blocks import identity_block
from resnet_course.environment import has_graphviz
from resnet_course.plots import (
    plot_cluster,
    plot_confusion,
    plot_examples,
    plot_grad_cam,
    plot_history,
    plot_misclassified,
    plot_prediction,
    show_diagram,
)
from resnet_course.synthetic import generate_signs


def test_plot_examples_one_row_per_class() -> None:
    x, y = generate_signs(per_class=2, seed=1)
    fig = plot_examples(x, y.reshape(1, -1), per_class=3)
    axes = fig.get_axes()
    assert len(axes) == 6 * 3
    assert [ax.get_title(loc="left") for ax in axes[::3]] == [f"class {k}" for k in range(6)]
    assert sum(bool(ax.images) for ax in axes) == 12  # 2 images per class, third column empty
    plt.close(fig)


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
    assert fig.axes[1].get_xlabel() == "class (the digit shown)"
    plt.close("all")


def test_plot_grad_cam_draws_images_and_overlays() -> None:
    fig = plot_grad_cam(np.zeros((2, 64, 64, 3), np.uint8), np.ones((2, 4, 4)), ["a", "b"])
    assert len(fig.axes) == 4 and fig.axes[0].get_title() == "a"
    plt.close("all")


def test_plot_cluster_draws_a_box_per_machine_and_the_storage() -> None:
    for workers in (2, 3):
        fig = plot_cluster(workers)
        texts = [t.get_text() for t in fig.get_axes()[0].texts]
        machines = [t for t in texts if t.startswith("machine ")]
        assert len(machines) == workers and "worker 0, the chief" in machines[0]
        assert all(f"index {i}" in machines[i] for i in range(workers))
        assert sum("all-reduce" in t for t in texts) == workers - 1 and any("checkpoints" in t for t in texts)
        assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)  # readable on light and dark backgrounds
        plt.close(fig)


def test_show_diagram_without_graphviz_prints_a_note(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    x = keras.Input((4, 4, 6))
    model = keras.Model(x, identity_block(x, 3, [2, 4, 6], stage=2, block="a"))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert show_diagram(model, "block.png") is None
    assert "diagram skipped" in capsys.readouterr().out


@pytest.fixture
def outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """outputs/ of a course folder in tmp_path, and the working folder its notebooks/, as in a lesson."""
    monkeypatch.setattr(environment, "OUTPUTS_DIR", tmp_path / "outputs")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    return tmp_path / "outputs"


def test_show_diagram_writes_the_file_into_outputs(outputs: Path) -> None:
    if not has_graphviz():
        pytest.skip("Graphviz's dot is not installed here")
    x = keras.Input((4, 4, 6))
    model = keras.Model(x, identity_block(x, 3, [2, 4, 6], stage=2, block="a"))
    assert show_diagram(model, "block.png") is not None
    assert (outputs / "block.png").stat().st_size > 0 and list(Path.cwd().iterdir()) == []


def test_show_diagram_can_link_instead_of_embedding(outputs: Path) -> None:
    if not has_graphviz():
        pytest.skip("Graphviz's dot is not installed here")
    x = keras.Input((4, 4, 6))
    model = keras.Model(x, identity_block(x, 3, [2, 4, 6], stage=2, block="a"), name="block")
    shown = show_diagram(model, "block.png", embed=False)
    assert shown is not None and shown.data == "![block](../outputs/block.png)"  # type: ignore[attr-defined]
    assert (outputs / "block.png").stat().st_size > 0
