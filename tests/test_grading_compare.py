"""Tests for resnet_course.grading.compare: the layers recorded while a block is built, and what they show
(a failed addition, a conv whose window does not fit)."""

from __future__ import annotations

import keras
import pytest

from resnet_course.grading.compare import mismatched_addition, recorded_builds, vanishing_conv


def test_recorded_builds_read_the_shapes_of_a_failing_add_and_restore_the_classes() -> None:
    before = [keras.layers.Add.build, keras.layers.Conv2D.build]
    with pytest.raises(ValueError), recorded_builds() as builds:
        x = keras.Input((6, 6, 4))
        shortcut = keras.layers.Conv2D(8, 1, strides=2)(x)
        keras.layers.Add()([x, shortcut])  # (6, 6, 4) + (3, 3, 8): Keras refuses
    assert [type(layer).__name__ for layer, _ in builds] == ["Conv2D", "Add"]
    assert [tuple(shape) for shape in builds[1][1]] == [(None, 6, 6, 4), (None, 3, 3, 8)]
    assert mismatched_addition(builds) == "(6, 6, 4) and (3, 3, 8)"
    assert vanishing_conv(builds) is None
    assert [keras.layers.Add.build, keras.layers.Conv2D.build] == before  # the classes are as they were
    keras.layers.Add()([keras.Input((2, 2, 3)), keras.Input((2, 2, 3))])  # and still works


def test_mismatched_addition_is_none_when_every_addition_matched() -> None:
    with recorded_builds() as builds:
        x = keras.Input((5, 5, 3))
        keras.layers.Add()([x, keras.layers.Conv2D(3, 3, padding="same")(x)])
    assert mismatched_addition(builds) is None and vanishing_conv(builds) is None


def test_vanishing_conv_names_a_valid_window_larger_than_its_input() -> None:
    with pytest.raises(ValueError), recorded_builds() as builds:
        keras.layers.Conv2D(4, 3, padding="valid", name="tiny")(keras.Input((2, 2, 3)))
    assert vanishing_conv(builds) == "tiny: a 3x3 window on 2x2 pixels"
