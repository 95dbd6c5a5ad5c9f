"""Tests for resnet_course.grading.resnet50: lesson 03's ResNet50 exercise, with the mistakes learners make."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import pytest

from resnet_course.blocks import convolutional_block, identity_block
from resnet_course.grading import RESNET50_HINTS, check_resnet50
from resnet_course.models import ResNet50

L = keras.layers
STAGES = (((64, 64, 256), 1, 2), ((128, 128, 512), 2, 3), ((256, 256, 1024), 2, 5), ((512, 512, 2048), 2, 2))


def make_resnet50(**mistake: Any) -> Callable[..., Any]:
    """ResNet50 as a learner assembles it, with one optional mistake.

    Keyword mistakes: identities={stage: n}, strides={stage: s}, filters={stage: (F1, F2, F3)},
    pool=False / pool_padding="same", zero_pad=False, avg_pool=False, flatten=False, softmax=False,
    input_literal=True, classes_literal=True, first_stage=1, returns="tensor",
    block_letters="12345" (identity blocks named by numbers), global_pool=True (GlobalAveragePooling2D head),
    pool_strides=k (the max-pool's strides; None: Keras's default, the pool size), avg_padding="valid".
    """

    def resnet50(input_shape: tuple[int, int, int] = (64, 64, 3), classes: int = 6) -> Any:
        X_input = L.Input((64, 64, 3) if mistake.get("input_literal") else input_shape)
        X = L.ZeroPadding2D((3, 3))(X_input) if mistake.get("zero_pad", True) else X_input
        X = L.Conv2D(64, (7, 7), strides=(2, 2), name="conv1")(X)
        X = L.BatchNormalization(axis=3, name="bn_conv1")(X)
        X = L.Activation("relu")(X)
        if mistake.get("pool", True):
            strides = mistake.get("pool_strides", (2, 2))
            X = L.MaxPooling2D((3, 3), strides=strides, padding=mistake.get("pool_padding", "valid"))(X)
        for stage, (filters, s, n) in enumerate(STAGES, start=mistake.get("first_stage", 2)):
            filters = mistake.get("filters", {}).get(stage, filters)
            s = mistake.get("strides", {}).get(stage, s)
            X = convolutional_block(X, 3, filters, stage, "a", s=s)
            for block in mistake.get("block_letters", "bcdef")[: mistake.get("identities", {}).get(stage, n)]:
                X = identity_block(X, 3, filters, stage, block)
        if mistake.get("global_pool"):
            X = L.GlobalAveragePooling2D(name="avg_pool")(X)
        elif mistake.get("avg_pool", True):
            X = L.AveragePooling2D((2, 2), padding=mistake.get("avg_padding", "same"), name="avg_pool")(X)
        if mistake.get("flatten", True) and not mistake.get("global_pool"):
            X = L.Flatten()(X)
        units = 6 if mistake.get("classes_literal") else classes
        X = L.Dense(units, activation="softmax" if mistake.get("softmax", True) else None, name="fc6")(X)
        if mistake.get("returns") == "tensor":
            return X
        return keras.Model(inputs=X_input, outputs=X, name="ResNet50")

    return resnet50


def not_implemented(*args: Any, **kwargs: Any) -> Any:
    # YOUR CODE HERE
    raise NotImplementedError()


RESNET50_MUTANTS: dict[str, tuple[str, Any]] = {
    "3 identity blocks in stage 4": ("blocks", make_resnet50(identities={4: 3})),
    "stride 2 in stage 2": ("stride", make_resnet50(strides={2: 2})),
    "stride 1 in stage 5": ("stride", make_resnet50(strides={5: 1})),
    "filters of stage 3": ("filters", make_resnet50(filters={3: (128, 128, 256)})),
    "max-pool missing": ("max_pool_missing", make_resnet50(pool=False)),
    "max-pool with padding='same'": ("max_pool_padding", make_resnet50(pool_padding="same")),
    "zero padding missing": ("stem", make_resnet50(zero_pad=False)),
    "average pooling missing": ("pooling", make_resnet50(avg_pool=False)),
    "Flatten missing": ("flatten", make_resnet50(flatten=False)),
    "no softmax": ("softmax", make_resnet50(softmax=False)),
    "input shape written as a number": ("input_shape", make_resnet50(input_literal=True)),
    "6 classes written as a number": ("classes", make_resnet50(classes_literal=True)),
    "stages numbered from 1": ("layer_names", make_resnet50(first_stage=1)),
    "returns the output tensor": ("not_a_model", make_resnet50(returns="tensor")),
    "identity blocks named 1, 2, ...": ("block_names", make_resnet50(block_letters="12345")),
    "GlobalAveragePooling2D head": ("global_pool", make_resnet50(global_pool=True)),
    "MaxPooling2D(3) (strides default to 3)": ("max_pool_settings", make_resnet50(pool_strides=None)),
    "max-pool with stride 1": ("max_pool_settings", make_resnet50(pool_strides=(1, 1))),
    "average pooling without padding='same'": ("avg_pool_settings", make_resnet50(avg_padding="valid")),
    "stub": ("not_implemented", not_implemented),
}


def test_reference_and_a_learner_solution_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_resnet50(ResNet50) == "ok"
    assert check_resnet50(make_resnet50()) == "ok"
    assert capsys.readouterr().out.count("✔") == 2


def test_resnet50_mutants_each_get_their_hint(run_mutants: Callable[..., str]) -> None:
    out = run_mutants(check_resnet50, RESNET50_MUTANTS)
    assert "stage 4: yours has 4 (a, b, c, d), expected 6" in out
    assert "res2a_branch2a (stage 2, block a): (2, 2), expected (1, 1)" in out
    assert "stage 2 has blocks named '1', '2', 'a'" in out.replace("Stage", "stage")
    assert "ResNet50(input_shape=(64, 64, 3), classes=6)" in out.split("GlobalAveragePooling2D")[1][:400]


def test_every_hint_is_used_or_generic() -> None:
    generic = {"ok", "error", "unbound", "shape", "counts", "bias", "weights", "values", "kernel_size"}
    assert set(RESNET50_HINTS) - {key for key, _ in RESNET50_MUTANTS.values()} == generic


# (check, a mutant right on the first configuration only, its hint, what the context says of the later call)
SECOND_CONFIGURATION: list[tuple[Callable[[Any], str], Any, str, str]] = [
    (check_resnet50, make_resnet50(classes_literal=True), "classes", "classes=10"),
]


@pytest.mark.parametrize(("check", "mutant", "key", "later_call"), SECOND_CONFIGURATION)
def test_a_wrong_answer_right_on_the_first_configuration_is_caught_on_a_later_one(
    check: Callable[[Any], str], mutant: Any, key: str, later_call: str, caught_later: Callable[..., None]
) -> None:
    """A number written where an argument belongs, or a condition that holds by chance, passes the check's
    first configuration: a later one must name the mistake and say which call failed."""
    caught_later(check, mutant, key, later_call)
