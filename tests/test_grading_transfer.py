"""Tests for resnet_course.grading.transfer: lesson 06's build_transfer_model and unfreeze.

The mutation tests feed the check realistic wrong implementations and require
each one to get its own hint; the reference and a learner's right variant pass."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import pytest

from resnet_course.grading import TRANSFER_HINTS, UNFREEZE_HINTS, check_transfer_model, check_unfreeze
from resnet_course.transfer import build_transfer_model, unfreeze

L = keras.layers


def make_transfer(**mistake: Any) -> Callable[..., keras.Model]:
    """The exercise's build_transfer_model as a learner writes it, with one optional mistake.

    Keyword mistakes: training_false=False (the base called without training=False: no mistake in Keras 3,
    where fit's training=True reaches the base either way), freeze="none" /
    "convs" / "model" / "head", pooling="none" / "flatten" / "max", softmax=False, classes=k (a number
    written in), wired=True (keras.Model(base.input, ...) on base.output), hidden=True (an extra Dense layer),
    rescaled=True (the features scaled before the pooling),
    head="activation" (Dense, then a separate softmax layer) / "nested" (pooling and Dense in a Sequential) /
    "dropout" (Dropout between pooling and head), sequential="no input" / "input" (keras.Sequential([base, ...])
    without or with a keras.Input), returns="base".
    """

    def build(base: keras.Model, classes: int = 6) -> Any:
        freeze = mistake.get("freeze", "base")
        if mistake.get("returns") == "base":
            base.trainable = False
            return base
        if "sequential" in mistake:
            base.trainable = False
            start = [keras.Input(base.input.shape[1:])] if mistake["sequential"] == "input" else []
            return keras.Sequential([*start, base, L.GlobalAveragePooling2D(), L.Dense(classes, activation="softmax")])
        if freeze in ("base", "model", "head"):
            base.trainable = False
        elif freeze == "convs":
            for layer in base.layers:
                if isinstance(layer, L.Conv2D):
                    layer.trainable = False
        if mistake.get("wired"):
            inputs, features = base.input, base.output
        else:
            inputs = keras.Input(base.input.shape[1:])
            features = base(inputs, training=False) if mistake.get("training_false", True) else base(inputs)
        if mistake.get("rescaled"):
            features = L.Rescaling(2.0)(features)
        pooling = mistake.get("pooling", "average")
        if mistake.get("head") == "nested":
            pooling = "nested"
            features = keras.Sequential([L.GlobalAveragePooling2D(), L.Dense(classes, activation="softmax")])(features)
        if pooling == "average":
            features = L.GlobalAveragePooling2D()(features)
        elif pooling == "flatten":
            features = L.Flatten()(features)
        elif pooling == "max":
            features = L.GlobalMaxPooling2D()(features)
        if mistake.get("hidden"):
            features = L.Dense(16, activation="relu")(features)
        if mistake.get("head") == "dropout":
            features = L.Dropout(0.2)(features)
        separate = mistake.get("head") == "activation"
        softmax = "softmax" if mistake.get("softmax", True) and not separate else None
        head = L.Dense(mistake.get("classes", classes), activation=softmax)
        outputs = features if pooling == "nested" else head(features)
        if separate:
            outputs = L.Softmax()(outputs)
        model = keras.Model(inputs, outputs)
        if freeze == "model":
            model.trainable = False
        elif freeze == "head":
            head.trainable = False
        return model

    return build


def test_the_reference_passes() -> None:
    assert check_transfer_model(build_transfer_model) == "ok"


def test_a_learners_right_versions_pass() -> None:
    assert check_transfer_model(make_transfer()) == "ok"
    assert check_transfer_model(make_transfer(training_false=False)) == "ok"


@pytest.mark.parametrize(
    ("mistake", "key"),
    [
        ({"freeze": "none"}, "base_trainable"),
        ({"freeze": "convs"}, "bn_trainable"),
        ({"freeze": "model"}, "head_frozen"),
        ({"freeze": "head"}, "head_frozen"),
        ({"pooling": "none"}, "no_pooling"),
        ({"pooling": "flatten"}, "flatten"),
        ({"pooling": "max"}, "max_pooling"),
        ({"softmax": False}, "no_softmax"),
        ({"classes": 6}, "classes"),
        ({"wired": True}, "base_not_layer"),
        ({"hidden": True}, "layout"),
        ({"rescaled": True}, "values"),
        ({"head": "activation"}, "layout"),
        ({"head": "nested"}, "layout"),
        ({"head": "dropout"}, "layout"),
        ({"sequential": "no input"}, "sequential"),
        ({"sequential": "input"}, "sequential"),
        ({"returns": "base"}, "returned_base"),
    ],
)
def test_each_mistake_gets_its_hint(mistake: dict[str, Any], key: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_transfer_model(make_transfer(**mistake)) == key
    printed = capsys.readouterr().out
    assert printed.startswith("✘ ") and TRANSFER_HINTS[key].split("{")[0][:40] in printed


def test_errors_and_wrong_types_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    def unfinished(base: keras.Model, classes: int = 6) -> keras.Model:
        raise NotImplementedError()

    assert check_transfer_model(unfinished) == "not_implemented"
    assert check_transfer_model(lambda base, classes=6: base.output) == "not_model"
    assert "a KerasTensor" in capsys.readouterr().out


def test_the_check_leaves_the_base_frozen_as_it_found_it() -> None:
    """The check unfreezes the base for its training call and freezes it again, whatever the verdict."""
    seen: list[keras.Model] = []

    def build(base: keras.Model, classes: int = 6) -> keras.Model:
        seen.append(base)
        return build_transfer_model(base, classes)

    check_transfer_model(build)
    assert seen and seen[0].trainable is False


def make_unfreeze(mistake: str = "") -> Callable[[keras.Model], None]:
    """The exercise's unfreeze as a learner writes it, with one optional mistake: "bn left" (only
    base.trainable = True), "order" (BatchNorm frozen first, then base.trainable = True), "nothing"
    (the base left frozen), "base left frozen" (the BatchNorm layers frozen, base.trainable never set),
    "first bn only" (the loop stops after the first BatchNorm), "everything" (every layer frozen again),
    "class name" (a right version: the BatchNorm layers found by their class's name)."""

    def is_bn(layer: keras.Layer) -> bool:
        return (
            type(layer).__name__ == "BatchNormalization"
            if mistake == "class name"
            else isinstance(layer, L.BatchNormalization)
        )

    def unfreeze_(base: keras.Model) -> None:
        if mistake not in ("order", "nothing", "base left frozen"):
            base.trainable = True
        if mistake not in ("bn left", "nothing"):
            for layer in base.layers:
                if is_bn(layer) or mistake == "everything":
                    layer.trainable = False
                    if mistake == "first bn only":
                        break
        if mistake == "order":
            base.trainable = True

    return unfreeze_


def test_the_reference_unfreeze_passes() -> None:
    assert check_unfreeze(unfreeze) == "ok"
    assert check_unfreeze(make_unfreeze()) == "ok"
    assert check_unfreeze(make_unfreeze("class name")) == "ok"
    assert type(keras.layers.BatchNormalization()).__setattr__ is keras.Layer.__setattr__  # the check put it back


@pytest.mark.parametrize(
    ("mistake", "key"),
    [
        ("bn left", "bn_updating"),
        ("order", "bn_order"),
        ("nothing", "still_frozen"),
        ("base left frozen", "still_frozen"),
        ("first bn only", "bn_updating"),
        ("everything", "convs_frozen"),
    ],
)
def test_each_unfreeze_mistake_gets_its_hint(mistake: str, key: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_unfreeze(make_unfreeze(mistake)) == key
    assert UNFREEZE_HINTS[key].split("{")[0][:40] in capsys.readouterr().out


def test_unfreeze_errors_are_named() -> None:
    def unfinished(base: keras.Model) -> None:
        raise NotImplementedError()

    assert check_unfreeze(unfinished) == "not_implemented"
