"""Tests for resnet_course.grading: the graded checks.

The mutation tests feed the checks realistic wrong implementations (the
mistakes learners make with residual blocks) and require each one to get its
own hint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pytest

from resnet_course.blocks import basic_block, convolutional_block, identity_block
from resnet_course.grading import (
    BASIC_HINTS,
    HINTS,
    check_convolutional_block,
    check_identity_block,
    check_residual_block,
    randomize_batchnorm,
)

L = keras.layers


def make_block(projection: bool, **mistake: Any) -> Callable[..., keras.KerasTensor]:
    """A bottleneck block like a learner writes it, with one optional mistake.

    Keyword mistakes: final_relu=False, relu_before_add=True, add=False,
    padding_2b="valid", bn_axis=1, stride_on="2b", shortcut_filters=k,
    shortcut_bn=False, skip_bn="2b", prefix="x", window_2b=3 (hard-coded instead of f),
    filters_2b=k, use_bias=False.
    """

    def block(X: keras.KerasTensor, f: int, filters: list[int], stage: int, block: str, s: int = 1) -> Any:
        prefix = mistake.get("prefix", "")
        conv, bn = f"{prefix}res{stage}{block}_branch", f"{prefix}bn{stage}{block}_branch"
        F1, F2, F3 = filters
        stride_on = mistake.get("stride_on", "2a")

        def conv_bn(x: Any, n: int, k: int, stride: int, padding: str, name: str, relu: bool) -> Any:
            x = L.Conv2D(
                n, k, strides=stride, padding=padding, use_bias=mistake.get("use_bias", True), name=conv + name
            )(x)
            if mistake.get("skip_bn") != name:
                x = L.BatchNormalization(axis=mistake.get("bn_axis", 3), name=bn + name)(x)
            return L.Activation("relu")(x) if relu else x

        shortcut = X
        if projection:
            shortcut = L.Conv2D(mistake.get("shortcut_filters", F3), 1, strides=s, name=conv + "1")(X)
            if mistake.get("shortcut_bn", True):
                shortcut = L.BatchNormalization(axis=3, name=bn + "1")(shortcut)
        X = conv_bn(X, F1, 1, s if stride_on == "2a" else 1, "valid", "2a", relu=True)
        F2, window = mistake.get("filters_2b", F2), mistake.get("window_2b", f)
        X = conv_bn(X, F2, window, s if stride_on == "2b" else 1, mistake.get("padding_2b", "same"), "2b", relu=True)
        X = conv_bn(X, F3, 1, 1, "valid", "2c", relu=mistake.get("relu_before_add", False))
        if mistake.get("add", True):
            X = L.Add()([X, shortcut])
        if mistake.get("final_relu", True) and not mistake.get("relu_before_add", False):
            X = L.Activation("relu")(X)
        return X

    if projection:
        return block

    def identity(X: keras.KerasTensor, f: int, filters: list[int], stage: int, block_: str) -> Any:
        return block(X, f, filters, stage, block_)

    return identity


def not_implemented(*args: Any, **kwargs: Any) -> Any:
    # YOUR CODE HERE
    raise NotImplementedError()


IDENTITY_MUTANTS = {
    "missing_final_relu": make_block(False, final_relu=False),
    "relu_before_add": make_block(False, relu_before_add=True),
    "no_shortcut": make_block(False, add=False),
    "padding": make_block(False, padding_2b="valid"),
    "bn_axis": make_block(False, bn_axis=1),
    "missing_bn": make_block(False, skip_bn="2b"),
    "layer_names": make_block(False, prefix="my_"),
    "kernel_size": make_block(False, window_2b=3),  # right for f=3 only: the check also tries f=1
    "filters": make_block(False, filters_2b=5),
    "weights": make_block(False, use_bias=False),
    "not_implemented": not_implemented,
}


CONVOLUTIONAL_MUTANTS = {
    "missing_final_relu": make_block(True, final_relu=False),
    "relu_before_add": make_block(True, relu_before_add=True),
    "stride": make_block(True, stride_on="2b"),
    "add_shapes": make_block(True, shortcut_filters=2),
    "shortcut_no_bn": make_block(True, shortcut_bn=False),
    "no_shortcut": make_block(True, add=False),  # a plain block passed as residual
    "padding": make_block(True, padding_2b="valid"),
    "bn_axis": make_block(True, bn_axis=1),
    "missing_bn": make_block(True, skip_bn="2a"),
    "not_implemented": not_implemented,
}


def run_mutants(check: Callable[[Any], str], mutants: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    caught = {expected: check(mutant) for expected, mutant in mutants.items()}
    out = capsys.readouterr().out
    wrong = {expected: got for expected, got in caught.items() if got != expected}
    with capsys.disabled():
        print(f"\n{check.__name__}: {len(mutants) - len(wrong)}/{len(mutants)} mutants caught with the right hint")
    assert not wrong, f"mutants given the wrong hint (expected: got): {wrong}\n{out}"
    assert "Traceback" not in out


@pytest.mark.parametrize("check", [check_identity_block, check_convolutional_block])
def test_reference_passes_its_own_check(check: Callable[[Any], str]) -> None:
    reference = identity_block if check is check_identity_block else convolutional_block
    assert check(reference) == "ok"


def test_identity_block_mutants_each_get_their_hint(capsys: pytest.CaptureFixture[str]) -> None:
    run_mutants(check_identity_block, IDENTITY_MUTANTS, capsys)


def test_convolutional_block_mutants_each_get_their_hint(capsys: pytest.CaptureFixture[str]) -> None:
    run_mutants(check_convolutional_block, CONVOLUTIONAL_MUTANTS, capsys)


def test_check_reports_errors_as_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    def broken(X: Any, f: int, filters: list[int], stage: int, block: str) -> Any:
        return undefined_name  # type: ignore[name-defined]  # noqa: F821

    assert check_identity_block(broken) == "error"
    assert "NameError" in capsys.readouterr().out


def test_every_hint_is_used_or_generic() -> None:
    used = set(IDENTITY_MUTANTS) | set(CONVOLUTIONAL_MUTANTS)
    assert set(HINTS) - used == {"ok", "error", "shape", "values"}


def test_randomize_batchnorm_sets_non_trivial_statistics() -> None:
    x = keras.Input((4, 4, 6))
    model = keras.Model(x, identity_block(x, 3, [2, 4, 6], stage=2, block="a"))
    randomize_batchnorm(model, np.random.RandomState(0))
    gamma, beta, mean, var = model.get_layer("bn2a_branch2c").get_weights()
    assert not np.allclose(gamma, 1) and not np.allclose(beta, 0)
    assert not np.allclose(mean, 0) and (var >= 0.5).all() and not np.allclose(var, 1)


def make_residual(**mistake: Any) -> Callable[..., keras.KerasTensor]:
    """The exercise's residual_block as a learner writes it, with one optional mistake.

    Keyword mistakes: add=False, final_relu=False, relu_before_add=True,
    project="never"/"always", proj_bn=False, stride_on="conv2", prefix="x",
    proj_bias=True (the projection conv keeps Keras's default bias).
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
            shortcut = L.Conv2D(
                filters, 1, strides=s, name=f"{name}_proj", **(conv | {"use_bias": bool(mistake.get("proj_bias"))})
            )(X)
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


def residual_not_implemented(*args: Any, **kwargs: Any) -> Any:
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
    "weights": make_residual(proj_bias=True),
    "not_implemented": residual_not_implemented,
}


def test_reference_and_a_learner_solution_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_residual_block(lambda X, filters, s=1, name="block": basic_block(X, filters, s, True, name)) == "ok"
    assert check_residual_block(make_residual()) == "ok"
    assert capsys.readouterr().out.count("✔") == 2


def test_residual_block_mutants_each_get_their_hint(capsys: pytest.CaptureFixture[str]) -> None:
    run_mutants(check_residual_block, RESIDUAL_MUTANTS, capsys)


def test_every_basic_hint_is_used_or_generic() -> None:
    assert set(BASIC_HINTS) - set(RESIDUAL_MUTANTS) == {"ok", "error", "shape", "values"}
