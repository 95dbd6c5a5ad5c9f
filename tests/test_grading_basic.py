"""Tests for resnet_course.grading.basic: lesson 01's residual_block and lesson 04's basic and pre-activation blocks.

The mutation tests feed the checks realistic wrong implementations and
require each one to get its own hint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import pytest

from resnet_course.blocks import basic_block, preact_block
from resnet_course.grading import (
    BASIC_HINTS,
    PREACT_HINTS,
    check_basic_block,
    check_preact_block,
    check_residual_block,
)

L = keras.layers
CONV = {"padding": "same", "use_bias": False}


def make_residual(**mistake: Any) -> Callable[..., keras.KerasTensor]:
    """The exercise's residual_block as a learner writes it, with one optional mistake.

    Keyword mistakes: add=False, final_relu=False, relu_before_add=True, relu_on_shortcut=True,
    project="never"/"always"/"stride only"/"channels only", proj_bn=False, proj_window=3,
    stride_on="conv2", prefix="x", proj_bias=True (the projection conv keeps Keras's default bias),
    padding="valid", momentum=k, bn_training=True, relu_twice=True, add_before_bn=True,
    stride_literal=2 (instead of s), proj_reads_main=True (the projection applied to the main path),
    conv1_stride=k (only conv1's stride written as a number), add_main_twice=True.
    """

    def residual_block(X: keras.KerasTensor, filters: int, s: int = 1, name: str = "block") -> Any:
        name = mistake.get("prefix", "") + name
        s = mistake.get("stride_literal", s)
        stride_on_conv2 = mistake.get("stride_on") == "conv2"
        conv = CONV | {"padding": mistake.get("padding", "same")}

        def bn(layer_name: str) -> Callable[[Any], Any]:
            norm = L.BatchNormalization(momentum=mistake.get("momentum", 0.9), name=layer_name)
            return (lambda t: norm(t, training=True)) if mistake.get("bn_training") else norm

        first = mistake.get("conv1_stride", 1 if stride_on_conv2 else s)
        Y = L.Conv2D(filters, 3, strides=first, name=f"{name}_conv1", **conv)(X)
        Y = L.Activation("relu")(bn(f"{name}_bn1")(Y))
        Y = L.Conv2D(filters, 3, strides=s if stride_on_conv2 else 1, name=f"{name}_conv2", **conv)(Y)
        if not mistake.get("add_before_bn"):
            Y = bn(f"{name}_bn2")(Y)
        if mistake.get("relu_before_add") or mistake.get("relu_twice"):
            Y = L.Activation("relu")(Y)
        shortcut = X
        needed = {
            "when_needed": s != 1 or X.shape[-1] != filters,
            "always": True,
            "never": False,
            "stride only": s != 1,
            "channels only": X.shape[-1] != filters,
        }[mistake.get("project", "when_needed")]
        if needed:
            proj = CONV | {"use_bias": bool(mistake.get("proj_bias"))}
            reads = Y if mistake.get("proj_reads_main") else X
            shortcut = L.Conv2D(filters, mistake.get("proj_window", 1), strides=s, name=f"{name}_proj", **proj)(reads)
            if mistake.get("proj_bn", True):
                shortcut = bn(f"{name}_proj_bn")(shortcut)
        if mistake.get("relu_on_shortcut"):
            shortcut = L.Activation("relu")(shortcut)
        if mistake.get("add", True):
            Y = L.Add()([Y, Y if mistake.get("add_main_twice") else shortcut])
        if mistake.get("add_before_bn"):
            Y = bn(f"{name}_bn2")(Y)
        if mistake.get("final_relu", True) and not mistake.get("relu_before_add"):
            Y = L.Activation("relu")(Y)
        return Y

    return residual_block


def plain_block(X: keras.KerasTensor, filters: int, s: int = 1, name: str = "block") -> keras.KerasTensor:
    return basic_block(X, filters, s=s, residual=False, name=name)


def not_implemented(*args: Any, **kwargs: Any) -> Any:
    # YOUR CODE HERE
    raise NotImplementedError()


RESIDUAL_MUTANTS: dict[str, tuple[str, Any]] = {
    "plain_block handed in": ("no_shortcut", plain_block),
    "final ReLU missing": ("missing_final_relu", make_residual(final_relu=False)),
    "ReLU before the addition": ("relu_before_add", make_residual(relu_before_add=True)),
    "ReLU on the shortcut": ("relu_on_shortcut", make_residual(relu_on_shortcut=True)),
    "never projects": ("projection_needed", make_residual(project="never")),
    "projects when s != 1 only": ("projection_needed", make_residual(project="stride only")),
    "projects when the channels change only": ("projection_needed", make_residual(project="channels only")),
    "always projects": ("projection_always", make_residual(project="always")),
    "projection without BatchNorm": ("shortcut_no_bn", make_residual(proj_bn=False)),
    "3x3 projection": ("kernel_size", make_residual(proj_window=3)),
    "stride on the second conv": ("stride", make_residual(stride_on="conv2")),
    "own layer names": ("layer_names", make_residual(prefix="my_")),
    "projection keeps its bias (Conv2D(filters, 1, strides=s))": ("bias", make_residual(proj_bias=True)),
    "padding='same' forgotten": ("padding", make_residual(padding="valid")),
    "BatchNorm's default momentum 0.99": ("bn_momentum", make_residual(momentum=0.99)),
    "BatchNorm called with training=True": ("bn_training", make_residual(bn_training=True)),
    "ReLU before and after the addition": ("relu_twice", make_residual(relu_twice=True)),
    "addition before the second BatchNorm": ("add_before_bn", make_residual(add_before_bn=True)),
    "strides=2 written instead of s": ("stride_value", make_residual(stride_literal=2)),
    "projection of the main path": ("shortcut_input", make_residual(proj_reads_main=True)),
    "strides=2 written on the first conv only": ("stride_value", make_residual(conv1_stride=2)),
    "the main path added to itself": ("double_main", make_residual(add_main_twice=True)),
    "stub": ("not_implemented", not_implemented),
}


def make_preact(**mistake: Any) -> Callable[..., keras.KerasTensor]:
    """A pre-activation block as a learner writes it, with one optional mistake.

    Keyword mistakes: relu_after_add=True, add=False, project_from="X", project="always"/"never",
    proj_bn=True, post_activation=True (conv -> BN -> ReLU), stride_on="conv2", use_bias=True, prefix="x",
    add_name="x" (the addition named otherwise), momentum=k, bn_training=True, padding="valid",
    stride_literal=2 (instead of s), conv1_on_x=True (pre computed, conv1 applied to X), add_main_twice=True.
    """

    def preact(X: keras.KerasTensor, filters: int, s: int = 1, name: str = "block") -> Any:
        name = mistake.get("prefix", "") + name
        conv = CONV | {"use_bias": bool(mistake.get("use_bias")), "padding": mistake.get("padding", "same")}
        s = mistake.get("stride_literal", s)
        s1, s2 = (1, s) if mistake.get("stride_on") == "conv2" else (s, 1)

        def bn(layer_name: str) -> Callable[[Any], Any]:
            norm = L.BatchNormalization(momentum=mistake.get("momentum", 0.9), name=layer_name)
            return (lambda t: norm(t, training=True)) if mistake.get("bn_training") else norm

        if mistake.get("post_activation"):
            Y = L.Conv2D(filters, 3, strides=s1, name=f"{name}_conv1", **conv)(X)
            Y = L.Activation("relu")(bn(f"{name}_bn1")(Y))
            Y = L.Conv2D(filters, 3, strides=s2, name=f"{name}_conv2", **conv)(Y)
            Y = bn(f"{name}_bn2")(Y)
            pre = X
        else:
            pre = L.Activation("relu")(bn(f"{name}_bn1")(X))
            Y = L.Conv2D(filters, 3, strides=s1, name=f"{name}_conv1", **conv)(X if mistake.get("conv1_on_x") else pre)
            Y = L.Activation("relu")(bn(f"{name}_bn2")(Y))
            Y = L.Conv2D(filters, 3, strides=s2, name=f"{name}_conv2", **conv)(Y)
        shortcut = X
        project = mistake.get("project", "when_needed")
        if project == "always" or (project == "when_needed" and (s != 1 or X.shape[-1] != filters)):
            source = X if mistake.get("project_from") == "X" else pre
            shortcut = L.Conv2D(filters, 1, strides=s, name=f"{name}_proj", **conv)(source)
            if mistake.get("proj_bn"):
                shortcut = bn(f"{name}_proj_bn")(shortcut)
        add = L.Add(name=mistake.get("add_name", f"{name}_add"))
        out = add([Y, Y if mistake.get("add_main_twice") else shortcut]) if mistake.get("add", True) else Y
        return L.Activation("relu")(out) if mistake.get("relu_after_add") else out

    return preact


PREACT_MUTANTS: dict[str, tuple[str, Any]] = {
    "ReLU after the addition": ("relu_after_add", make_preact(relu_after_add=True)),
    "shortcut not added": ("no_shortcut", make_preact(add=False)),
    "projection of the raw input": ("projection_input", make_preact(project_from="X")),
    "always projects": ("projection_always", make_preact(project="always")),
    "never projects": ("projection_needed", make_preact(project="never")),
    "projection with BatchNorm": ("projection_bn", make_preact(proj_bn=True)),
    "post-activation order": ("order", make_preact(post_activation=True)),
    "stride on the second conv": ("stride", make_preact(stride_on="conv2")),
    "convs keep their bias": ("bias", make_preact(use_bias=True)),
    "own layer names": ("layer_names", make_preact(prefix="my_")),
    "the addition unnamed": ("add_name", make_preact(add_name=None)),
    "BatchNorm's default momentum 0.99": ("bn_momentum", make_preact(momentum=0.99)),
    "BatchNorm called with training=True": ("bn_training", make_preact(bn_training=True)),
    "padding='same' forgotten": ("padding", make_preact(padding="valid")),
    "strides=2 written instead of s": ("stride_value", make_preact(stride_literal=2)),
    "pre computed, conv1 applied to X": ("order", make_preact(conv1_on_x=True)),
    "the main path added to itself": ("double_main", make_preact(add_main_twice=True)),
    "stub": ("not_implemented", not_implemented),
}


def test_reference_and_a_learner_solution_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_residual_block(lambda X, filters, s=1, name="block": basic_block(X, filters, s, True, name)) == "ok"
    assert check_residual_block(make_residual()) == "ok"
    assert check_basic_block(make_residual()) == "ok"
    assert check_preact_block(preact_block) == "ok"
    assert check_preact_block(make_preact()) == "ok"
    assert capsys.readouterr().out.count("✔") == 5


def test_residual_block_mutants_each_get_their_hint(run_mutants: Callable[..., str]) -> None:
    out = run_mutants(check_residual_block, RESIDUAL_MUTANTS)
    assert "residual_block(X, filters=8, s=1, name='ex')" in out  # the hint says how the check called it


def test_basic_block_mutants_each_get_their_hint(run_mutants: Callable[..., str]) -> None:
    """Lesson 04's basic_block is lesson 01's residual_block under ResNet-18's name: the same mutants."""
    out = run_mutants(check_basic_block, RESIDUAL_MUTANTS)
    assert "basic_block(X, filters=8, s=1, name='ex')" in out


def test_preact_block_mutants_each_get_their_hint(run_mutants: Callable[..., str]) -> None:
    run_mutants(check_preact_block, PREACT_MUTANTS)


def test_every_hint_is_used_or_generic() -> None:
    generic = {"ok", "error", "shape", "values", "weights", "unbound"}
    assert set(BASIC_HINTS) - {key for key, _ in RESIDUAL_MUTANTS.values()} == generic | {"filters"}
    assert set(PREACT_HINTS) - {key for key, _ in PREACT_MUTANTS.values()} == generic | {"kernel_size", "filters"}


# (check, a mutant right on the first configuration only, its hint, what the context says of the later call)
SECOND_CONFIGURATION: list[tuple[Callable[[Any], str], Any, str, str]] = [
    (check_residual_block, make_residual(project="stride only"), "projection_needed", "filters=8, s=1"),
    (check_basic_block, make_residual(project="stride only"), "projection_needed", "filters=8, s=1"),
    (check_preact_block, make_preact(project="never"), "projection_needed", "filters=8"),
]


@pytest.mark.parametrize(("check", "mutant", "key", "later_call"), SECOND_CONFIGURATION)
def test_a_wrong_answer_right_on_the_first_configuration_is_caught_on_a_later_one(
    check: Callable[[Any], str], mutant: Any, key: str, later_call: str, caught_later: Callable[..., None]
) -> None:
    """A number written where an argument belongs, or a condition that holds by chance, passes the check's
    first configuration: a later one must name the mistake and say which call failed."""
    caught_later(check, mutant, key, later_call)
