"""Tests for the reference blocks and for the graded checks.

The mutation tests feed the checks realistic wrong implementations (the
mistakes learners make with residual blocks) and require each one to get its
own hint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pytest

from resnet_utils import (
    HINTS,
    check_convolutional_block,
    check_identity_block,
    convolutional_block,
    has_graphviz,
    identity_block,
    keras_applications_name,
    randomize_batchnorm,
    show_diagram,
)

L = keras.layers


def make_block(projection: bool, **mistake: Any) -> Callable[..., keras.KerasTensor]:
    """A bottleneck block like a learner writes it, with one optional mistake.

    Keyword mistakes: final_relu=False, relu_before_add=True, add=False,
    padding_2b="valid", bn_axis=1, stride_on="2b", shortcut_filters=k,
    shortcut_bn=False, skip_bn="2b", prefix="x".
    """

    def block(X: keras.KerasTensor, f: int, filters: list[int], stage: int, block: str, s: int = 1) -> Any:
        prefix = mistake.get("prefix", "")
        conv, bn = f"{prefix}res{stage}{block}_branch", f"{prefix}bn{stage}{block}_branch"
        F1, F2, F3 = filters
        stride_on = mistake.get("stride_on", "2a")

        def conv_bn(x: Any, n: int, k: int, stride: int, padding: str, name: str, relu: bool) -> Any:
            x = L.Conv2D(n, k, strides=stride, padding=padding, name=conv + name)(x)
            if mistake.get("skip_bn") != name:
                x = L.BatchNormalization(axis=mistake.get("bn_axis", 3), name=bn + name)(x)
            return L.Activation("relu")(x) if relu else x

        shortcut = X
        if projection:
            shortcut = L.Conv2D(mistake.get("shortcut_filters", F3), 1, strides=s, name=conv + "1")(X)
            if mistake.get("shortcut_bn", True):
                shortcut = L.BatchNormalization(axis=3, name=bn + "1")(shortcut)
        X = conv_bn(X, F1, 1, s if stride_on == "2a" else 1, "valid", "2a", relu=True)
        X = conv_bn(X, F2, f, s if stride_on == "2b" else 1, mistake.get("padding_2b", "same"), "2b", relu=True)
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


def test_identity_block_shape_and_names() -> None:
    x = keras.Input((4, 4, 6))
    model = keras.Model(x, identity_block(x, 3, [2, 4, 6], stage=2, block="b"))
    assert model.output.shape == (None, 4, 4, 6)
    names = {layer.name for layer in model.layers}
    assert {"res2b_branch2a", "res2b_branch2b", "res2b_branch2c", "bn2b_branch2a", "bn2b_branch2c"} <= names


def test_convolutional_block_shape_and_stride() -> None:
    x = keras.Input((4, 4, 6))
    model = keras.Model(x, convolutional_block(x, 3, [2, 4, 6], stage=3, block="a", s=2))
    assert model.output.shape == (None, 2, 2, 6)
    assert model.get_layer("res3a_branch2a").strides == (2, 2)
    assert model.get_layer("res3a_branch1").strides == (2, 2)
    assert model.get_layer("res3a_branch2b").strides == (1, 1)


def test_identity_block_with_zero_last_bn_is_relu_of_input() -> None:
    """With the last BN's gamma and beta at 0 the main path is 0: the block returns ReLU(x)."""
    x = keras.Input((4, 4, 6))
    model = keras.Model(x, identity_block(x, 3, [2, 4, 6], stage=2, block="a"))
    bn = model.get_layer("bn2a_branch2c")
    bn.set_weights([np.zeros(6), np.zeros(6), np.zeros(6), np.ones(6)])
    data = np.random.RandomState(0).normal(size=(2, 4, 4, 6)).astype("float32")
    np.testing.assert_allclose(model(data, training=False), np.maximum(data, 0), atol=1e-6)


def test_blocks_use_training_flag_passed_by_keras() -> None:
    """No hard-coded training=True: inference mode uses the moving statistics."""
    x = keras.Input((4, 4, 6))
    model = keras.Model(x, identity_block(x, 3, [2, 4, 6], stage=2, block="a"))
    data = np.random.RandomState(0).normal(3.0, 2.0, size=(3, 4, 4, 6)).astype("float32")
    assert not np.allclose(model(data, training=True), model(data, training=False))


@pytest.mark.parametrize("check", [check_identity_block, check_convolutional_block])
def test_reference_passes_its_own_check(check: Callable[[Any], str]) -> None:
    reference = identity_block if check is check_identity_block else convolutional_block
    assert check(reference) == "ok"


def run_mutants(check: Callable[[Any], str], mutants: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    caught = {expected: check(mutant) for expected, mutant in mutants.items()}
    out = capsys.readouterr().out
    wrong = {expected: got for expected, got in caught.items() if got != expected}
    with capsys.disabled():
        print(f"\n{check.__name__}: {len(mutants) - len(wrong)}/{len(mutants)} mutants caught with the right hint")
    assert not wrong, f"mutants given the wrong hint (expected: got): {wrong}\n{out}"
    assert "Traceback" not in out


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
    assert set(HINTS) - used == {"ok", "error", "kernel_size", "filters", "shape", "values"}


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("res2a_branch2a", "conv2_block1_1_conv"),
        ("bn3b_branch2c", "conv3_block2_3_bn"),
        ("res4a_branch1", "conv4_block1_0_conv"),
        ("bn5c_branch2b", "conv5_block3_2_bn"),
        ("res4f_branch2a", "conv4_block6_1_conv"),
    ],
)
def test_keras_applications_name(ours: str, theirs: str) -> None:
    assert keras_applications_name(ours) == theirs


@pytest.mark.parametrize("bad", ["conv2", "res2a_branch3", "resXa_branch2a", "bn2_branch2a"])
def test_keras_applications_name_rejects_other_names(bad: str) -> None:
    with pytest.raises(ValueError, match=f"found {bad!r}"):
        keras_applications_name(bad)


def test_show_diagram_without_graphviz_prints_a_note(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    x = keras.Input((4, 4, 6))
    model = keras.Model(x, identity_block(x, 3, [2, 4, 6], stage=2, block="a"))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert show_diagram(model, tmp_path / "block.png") is None
    assert "diagram skipped" in capsys.readouterr().out


def test_show_diagram_writes_the_file_when_graphviz_is_there(tmp_path: Any) -> None:
    if not has_graphviz():
        pytest.skip("Graphviz's dot is not installed here")
    x = keras.Input((4, 4, 6))
    model = keras.Model(x, identity_block(x, 3, [2, 4, 6], stage=2, block="a"))
    assert show_diagram(model, tmp_path / "block.png") is not None
    assert (tmp_path / "block.png").stat().st_size > 0


def test_randomize_batchnorm_sets_non_trivial_statistics() -> None:
    x = keras.Input((4, 4, 6))
    model = keras.Model(x, identity_block(x, 3, [2, 4, 6], stage=2, block="a"))
    randomize_batchnorm(model, np.random.RandomState(0))
    gamma, beta, mean, var = model.get_layer("bn2a_branch2c").get_weights()
    assert not np.allclose(gamma, 1) and not np.allclose(beta, 0)
    assert not np.allclose(mean, 0) and (var >= 0.5).all() and not np.allclose(var, 1)


def test_show_diagram_can_link_instead_of_embedding(tmp_path: Any) -> None:
    if not has_graphviz():
        pytest.skip("Graphviz's dot is not installed here")
    x = keras.Input((4, 4, 6))
    model = keras.Model(x, identity_block(x, 3, [2, 4, 6], stage=2, block="a"), name="block")
    shown = show_diagram(model, tmp_path / "block.png", embed=False)
    assert shown is not None and shown.data == f"![block]({(tmp_path / 'block.png').as_posix()})"  # type: ignore[attr-defined]
    assert (tmp_path / "block.png").stat().st_size > 0
