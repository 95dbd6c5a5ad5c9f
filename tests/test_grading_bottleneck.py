"""Tests for resnet_course.grading.bottleneck (lesson 02's checks) and the shared comparison in grading.compare.

The mutation tests feed the checks realistic wrong implementations (the
mistakes learners make with bottleneck blocks) and require each one to get
its own hint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pytest

from resnet_course.blocks import convolutional_block, identity_block
from resnet_course.grading import HINTS, check_convolutional_block, check_identity_block, randomize_batchnorm

L = keras.layers


def make_block(projection: bool, **mistake: Any) -> Callable[..., keras.KerasTensor]:
    """A bottleneck block like a learner writes it, with one optional mistake.

    Keyword mistakes: final_relu=False, relu_before_add=True, relu_on_shortcut=True, add=False,
    padding_2b="valid", bn_axis=1, stride_on="2b", stride_literal=2 (instead of s), shortcut_filters=k,
    shortcut_bn=False, skip_bn="2b", prefix="x", window_2b=3 (instead of f), filters_2b=k,
    use_bias=False, keep_input=False (no `X_shortcut = X`), bn_training=True (BatchNorm called with
    training=True), relu_twice=True (ReLU before and after the addition), add_before_bn=True (the shortcut
    added before bn..._branch2c), shortcut_reads_main=True (the shortcut conv applied to the overwritten X),
    momentum=k, f3_literal=k (F3 written as a number), add_main_twice=True (Add()([X, X])),
    no_projection=True (the convolutional block's shortcut is X itself).
    """

    def block(X: keras.KerasTensor, f: int, filters: list[int], stage: int, block: str, s: int = 1) -> Any:
        prefix = mistake.get("prefix", "")
        conv, bn = f"{prefix}res{stage}{block}_branch", f"{prefix}bn{stage}{block}_branch"
        F1, F2, F3 = filters
        F3 = mistake.get("f3_literal", F3)
        s = mistake.get("stride_literal", s)
        stride_on = mistake.get("stride_on", "2a")

        def conv_bn(x: Any, n: int, k: int, stride: int, padding: str, name: str, relu: bool) -> Any:
            x = L.Conv2D(
                n, k, strides=stride, padding=padding, use_bias=mistake.get("use_bias", True), name=conv + name
            )(x)
            if name == "2c" and mistake.get("add_before_bn"):
                return x
            if mistake.get("skip_bn") != name:
                norm = L.BatchNormalization(
                    axis=mistake.get("bn_axis", 3), momentum=mistake.get("momentum", 0.99), name=bn + name
                )
                x = norm(x, training=True) if mistake.get("bn_training") else norm(x)
            return L.Activation("relu")(x) if relu else x

        if not mistake.get("keep_input", True):
            X = conv_bn(X, F1, 1, 1, "valid", "2a", relu=True)
            return L.Add()([X, X_shortcut])  # type: ignore[name-defined]  # noqa: F821  (the learner's NameError)
        shortcut = X
        if projection and not mistake.get("shortcut_reads_main") and not mistake.get("no_projection"):
            shortcut = L.Conv2D(mistake.get("shortcut_filters", F3), 1, strides=s, name=conv + "1")(X)
            if mistake.get("shortcut_bn", True):
                shortcut = L.BatchNormalization(axis=3, name=bn + "1")(shortcut)
        if mistake.get("relu_on_shortcut"):
            shortcut = L.Activation("relu")(shortcut)
        X = conv_bn(X, F1, 1, s if stride_on == "2a" else 1, "valid", "2a", relu=True)
        F2, window = mistake.get("filters_2b", F2), mistake.get("window_2b", f)
        X = conv_bn(X, F2, window, s if stride_on == "2b" else 1, mistake.get("padding_2b", "same"), "2b", relu=True)
        X = conv_bn(X, F3, 1, 1, "valid", "2c", relu=mistake.get("relu_before_add", mistake.get("relu_twice", False)))
        if mistake.get("shortcut_reads_main"):  # X is the main path's output by now
            shortcut = L.BatchNormalization(axis=3, name=bn + "1")(L.Conv2D(F3, 1, strides=s, name=conv + "1")(X))
        if mistake.get("add", True):
            X = L.Add()([X, X if mistake.get("add_main_twice") else shortcut])
        if mistake.get("add_before_bn"):
            X = L.BatchNormalization(axis=3, name=bn + "2c")(X)
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


IDENTITY_MUTANTS: dict[str, tuple[str, Any]] = {
    "final ReLU missing": ("missing_final_relu", make_block(False, final_relu=False)),
    "ReLU before the addition": ("relu_before_add", make_block(False, relu_before_add=True)),
    "ReLU on the shortcut": ("relu_on_shortcut", make_block(False, relu_on_shortcut=True)),
    "shortcut not added": ("no_shortcut", make_block(False, add=False)),
    "padding='valid' on the fxf conv": ("padding", make_block(False, padding_2b="valid")),
    "BatchNorm axis=1": ("bn_axis", make_block(False, bn_axis=1)),
    "BatchNorm 2b missing": ("missing_bn", make_block(False, skip_bn="2b")),
    "own layer names": ("layer_names", make_block(False, prefix="my_")),
    "window 3 written instead of f": ("kernel_size", make_block(False, window_2b=3)),
    "filters of 2b": ("filters", make_block(False, filters_2b=5)),
    "use_bias=False": ("bias", make_block(False, use_bias=False)),
    "no X_shortcut = X": ("unbound", make_block(False, keep_input=False)),
    "BatchNorm called with training=True": ("bn_training", make_block(False, bn_training=True)),
    "ReLU before and after the addition": ("relu_twice", make_block(False, relu_twice=True)),
    "addition before the last BatchNorm": ("add_before_bn", make_block(False, add_before_bn=True)),
    "BatchNorm momentum=0.9": ("bn_momentum", make_block(False, momentum=0.9)),
    "stride 2 written into branch2a": ("stride", make_block(False, stride_literal=2)),
    "F3 written as a number": ("filters", make_block(False, f3_literal=6)),
    "the main path added to itself": ("double_main", make_block(False, add_main_twice=True)),
    "stub": ("not_implemented", not_implemented),
}

CONVOLUTIONAL_MUTANTS: dict[str, tuple[str, Any]] = {
    "final ReLU missing": ("missing_final_relu", make_block(True, final_relu=False)),
    "ReLU before the addition": ("relu_before_add", make_block(True, relu_before_add=True)),
    "ReLU on the shortcut": ("relu_on_shortcut", make_block(True, relu_on_shortcut=True)),
    "stride on 2b": ("stride", make_block(True, stride_on="2b")),
    "strides=(2, 2) written instead of s": ("stride_value", make_block(True, stride_literal=2)),
    "shortcut filters": ("add_shapes", make_block(True, shortcut_filters=2)),
    "shortcut without BatchNorm": ("shortcut_no_bn", make_block(True, shortcut_bn=False)),
    "shortcut not added": ("no_shortcut", make_block(True, add=False)),
    "padding='valid' on the fxf conv": ("padding", make_block(True, padding_2b="valid")),
    "BatchNorm axis=1": ("bn_axis", make_block(True, bn_axis=1)),
    "BatchNorm 2a missing": ("missing_bn", make_block(True, skip_bn="2a")),
    "use_bias=False": ("bias", make_block(True, use_bias=False)),
    "shortcut conv on the overwritten X": ("shortcut_input", make_block(True, shortcut_reads_main=True)),
    "no shortcut conv at all": ("shortcut_missing", make_block(True, no_projection=True)),
    "the main path added to itself": ("double_main", make_block(True, add_main_twice=True)),
    "BatchNorm called with training=True": ("bn_training", make_block(True, bn_training=True)),
    "ReLU before and after the addition": ("relu_twice", make_block(True, relu_twice=True)),
    "addition before the last BatchNorm": ("add_before_bn", make_block(True, add_before_bn=True)),
    "BatchNorm momentum=0.9": ("bn_momentum", make_block(True, momentum=0.9)),
    "stub": ("not_implemented", not_implemented),
}


@pytest.mark.parametrize("check", [check_identity_block, check_convolutional_block])
def test_reference_passes_its_own_check(check: Callable[[Any], str]) -> None:
    reference = identity_block if check is check_identity_block else convolutional_block
    assert check(reference) == "ok"


def test_identity_block_mutants_each_get_their_hint(run_mutants: Callable[..., str]) -> None:
    out = run_mutants(check_identity_block, IDENTITY_MUTANTS)
    assert "identity_block(X, f=3, filters=[2, 4, 6], stage=9, block='z')" in out  # the hint says how it called


def test_convolutional_block_mutants_each_get_their_hint(run_mutants: Callable[..., str]) -> None:
    out = run_mutants(check_convolutional_block, CONVOLUTIONAL_MUTANTS)
    assert "has strides (2, 2), expected (1, 1)" in out  # the stride written as a number, named


def test_hints_read_cleanly(run_mutants: Callable[..., str]) -> None:
    out = run_mutants(check_identity_block, {"padding": IDENTITY_MUTANTS["padding='valid' on the fxf conv"]})
    assert "on at" not in out and out.count("the shapes at the addition") <= 1, out


def test_check_reports_errors_as_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    def broken(X: Any, f: int, filters: list[int], stage: int, block: str) -> Any:
        return X.no_such_attribute

    assert check_identity_block(broken) == "error"
    assert "AttributeError" in capsys.readouterr().out


def test_every_hint_is_used_or_generic() -> None:
    used = {key for key, _ in IDENTITY_MUTANTS.values()} | {key for key, _ in CONVOLUTIONAL_MUTANTS.values()}
    assert set(HINTS) - used == {"ok", "error", "shape", "values", "weights"}


def test_randomize_batchnorm_sets_non_trivial_statistics() -> None:
    x = keras.Input((4, 4, 6))
    model = keras.Model(x, identity_block(x, 3, [2, 4, 6], stage=2, block="a"))
    randomize_batchnorm(model, np.random.RandomState(0))
    gamma, beta, mean, var = model.get_layer("bn2a_branch2c").get_weights()
    assert not np.allclose(gamma, 1) and not np.allclose(beta, 0)
    assert not np.allclose(mean, 0) and (var >= 0.5).all() and not np.allclose(var, 1)


# (check, a mutant right on the first configuration only, its hint, what the context says of the later call)
SECOND_CONFIGURATION: list[tuple[Callable[[Any], str], Any, str, str]] = [
    (check_identity_block, make_block(False, window_2b=3), "kernel_size", "f=1"),
    (check_convolutional_block, make_block(True, stride_literal=2), "stride_value", "s=1"),
]


@pytest.mark.parametrize(("check", "mutant", "key", "later_call"), SECOND_CONFIGURATION)
def test_a_wrong_answer_right_on_the_first_configuration_is_caught_on_a_later_one(
    check: Callable[[Any], str], mutant: Any, key: str, later_call: str, caught_later: Callable[..., None]
) -> None:
    """A number written where an argument belongs, or a condition that holds by chance, passes the check's
    first configuration: a later one must name the mistake and say which call failed."""
    caught_later(check, mutant, key, later_call)
