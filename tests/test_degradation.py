"""Tests for notebook 01's helpers: the CIFAR-style plain and residual nets,
the gradient norms, and the graded check of the residual block exercise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pytest
from test_blocks import run_mutants  # tests/test_blocks.py: runs the mutants, prints the tally

from resnet_utils import BASIC_HINTS, basic_block, check_residual_block, cifar_net, final_error, gradient_norms

L = keras.layers


@pytest.mark.parametrize(("depth", "residual", "convs"), [(8, False, 7), (8, True, 9), (20, False, 19), (20, True, 21)])
def test_cifar_net_depth_counts_weighted_layers(depth: int, residual: bool, convs: int) -> None:
    """6n + 2 weighted layers: 6n + 1 convs and the softmax layer, plus 2 projections when residual."""
    model = cifar_net(depth, residual)
    assert sum(isinstance(layer, L.Conv2D) for layer in model.layers) == convs
    assert sum(isinstance(layer, L.Add) for layer in model.layers) == (3 * (depth - 2) // 6 if residual else 0)
    assert model.output_shape == (None, 6)


@pytest.mark.parametrize("depth", [6, 9, 0])
def test_cifar_net_rejects_other_depths(depth: int) -> None:
    with pytest.raises(ValueError, match=f"found {depth}"):
        cifar_net(depth, residual=True)


def test_residual_block_with_zero_last_weights_is_the_identity() -> None:
    """W = 0 and b = 0 in the last layer: a[l+2] = g(a[l]) = a[l] for a[l] >= 0; the plain block gives 0."""
    x = keras.Input((6, 6, 4))
    outputs = {r: keras.Model(x, basic_block(x, 4, residual=r, name="b")) for r in (True, False)}
    a = np.abs(np.random.RandomState(0).normal(size=(2, 6, 6, 4))).astype("float32")
    for model in outputs.values():
        model.get_layer("b_bn2").set_weights([np.zeros(4), np.zeros(4), np.zeros(4), np.ones(4)])
    np.testing.assert_allclose(outputs[True](a, training=False), a, atol=1e-6)
    np.testing.assert_allclose(outputs[False](a, training=False), 0.0, atol=1e-6)


def test_gradient_norms_cover_every_conv_in_order() -> None:
    keras.utils.set_random_seed(0)
    model = cifar_net(8, residual=False, input_shape=(8, 8, 3))
    x = np.random.RandomState(0).uniform(size=(4, 8, 8, 3)).astype("float32")
    norms = gradient_norms(model, x, np.array([0, 1, 2, 3]))
    names = list(norms)
    assert names[0] == "conv0" and names[-1] == "stage3_block1_conv2"
    assert len(norms) == 7 and all(v > 0 for v in norms.values())


def make_residual(**mistake: Any) -> Callable[..., keras.KerasTensor]:
    """The exercise's residual_block as a learner writes it, with one optional mistake.

    Keyword mistakes: add=False, final_relu=False, relu_before_add=True,
    project="never"/"always", proj_bn=False, stride_on="conv2", prefix="x".
    """

    def residual_block(X: keras.KerasTensor, filters: int, s: int = 1, name: str = "block") -> Any:
        name = mistake.get("prefix", "") + name
        conv = {"padding": "same", "use_bias": False}
        Y = L.Conv2D(filters, 3, strides=1 if mistake.get("stride_on") == "conv2" else s, name=f"{name}_conv1", **conv)(
            X
        )
        Y = L.BatchNormalization(name=f"{name}_bn1")(Y)
        Y = L.Activation("relu")(Y)
        Y = L.Conv2D(filters, 3, strides=s if mistake.get("stride_on") == "conv2" else 1, name=f"{name}_conv2", **conv)(
            Y
        )
        Y = L.BatchNormalization(name=f"{name}_bn2")(Y)
        if mistake.get("relu_before_add"):
            Y = L.Activation("relu")(Y)
        shortcut = X
        project = mistake.get("project", "when_needed")
        if project == "always" or (project == "when_needed" and (s != 1 or X.shape[-1] != filters)):
            shortcut = L.Conv2D(filters, 1, strides=s, name=f"{name}_proj", **conv)(X)
            if mistake.get("proj_bn", True):
                shortcut = L.BatchNormalization(name=f"{name}_proj_bn")(shortcut)
        if mistake.get("add", True):
            Y = L.Add()([Y, shortcut])
        if mistake.get("final_relu", True) and not mistake.get("relu_before_add"):
            Y = L.Activation("relu")(Y)
        return Y

    return residual_block


def plain_block(X: keras.KerasTensor, filters: int, s: int = 1, name: str = "block") -> keras.KerasTensor:
    return basic_block(X, filters, s=s, residual=False, name=name)


def not_implemented(*args: Any, **kwargs: Any) -> Any:
    # YOUR CODE HERE
    raise NotImplementedError()


RESIDUAL_MUTANTS: dict[str, Callable[..., Any]] = {
    "no_shortcut": plain_block,  # the plain block passed as residual
    "missing_final_relu": make_residual(final_relu=False),
    "relu_before_add": make_residual(relu_before_add=True),
    "projection_needed": make_residual(project="never"),
    "projection_always": make_residual(project="always"),
    "shortcut_no_bn": make_residual(proj_bn=False),
    "stride": make_residual(stride_on="conv2"),
    "layer_names": make_residual(prefix="my_"),
    "not_implemented": not_implemented,
}


def test_reference_and_a_learner_solution_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_residual_block(lambda X, filters, s=1, name="block": basic_block(X, filters, s, True, name)) == "ok"
    assert check_residual_block(make_residual()) == "ok"
    assert capsys.readouterr().out.count("✔") == 2


def test_residual_block_mutants_each_get_their_hint(capsys: pytest.CaptureFixture[str]) -> None:
    run_mutants(check_residual_block, RESIDUAL_MUTANTS, capsys)


def test_every_basic_hint_is_used_or_generic() -> None:
    assert set(BASIC_HINTS) - set(RESIDUAL_MUTANTS) == {"ok", "error", "shape", "values"}


def test_final_error_averages_the_last_epochs() -> None:
    history = {"accuracy": [0.1, 0.5, 0.6, 0.7, 0.8], "val_accuracy": [0.2, 0.4]}
    assert np.isclose(final_error(history), 0.3)
    assert np.isclose(final_error(history, "val_accuracy", last=1), 0.6)
