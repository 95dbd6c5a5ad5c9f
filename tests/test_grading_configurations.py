"""Every check tries a second configuration: a wrong answer that happens to be right on the first one is caught.

Each mutant below computes the right result for the first configuration a check
tries (a number written where an argument belongs happens to equal the first
call's value, or a condition holds there by chance) and is wrong on a later one.
The check must name the mistake (not pass it) and say which call failed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from test_grading_basic import make_preact, make_residual
from test_grading_bottleneck import make_block
from test_grading_gradcam import make_grad_cam
from test_grading_resnet50 import make_resnet50

from resnet_course.grading import (
    check_basic_block,
    check_convolutional_block,
    check_grad_cam,
    check_identity_block,
    check_preact_block,
    check_residual_block,
    check_resnet50,
    check_tf_config,
)


def tf_config_for_three(workers: list[str], index: int) -> dict[str, Any]:
    """Right for the three-worker cluster, with its addresses written in: wrong for any other cluster."""
    three = ["10.0.0.2:2222", "10.0.0.1:2222", "10.0.0.3:2222"]
    return {"cluster": {"worker": three}, "task": {"type": "worker", "index": index}}


# (check, mutant right on the first configuration only, the hint key, what the context says of the later call)
SECOND_CONFIGURATION: dict[str, tuple[Callable[[Any], str], Any, str, str]] = {
    "identity_block: window 3 written instead of f": (
        check_identity_block,
        make_block(False, window_2b=3),
        "kernel_size",
        "f=1",
    ),
    "convolutional_block: strides=(2, 2) written instead of s": (
        check_convolutional_block,
        make_block(True, stride_literal=2),
        "stride_value",
        "s=1",
    ),
    "residual_block: projects only when the stride changes": (
        check_residual_block,
        make_residual(project="stride only"),
        "projection_needed",
        "filters=8, s=1",
    ),
    "basic_block: projects only when the stride changes": (
        check_basic_block,
        make_residual(project="stride only"),
        "projection_needed",
        "filters=8, s=1",
    ),
    "preact_block: never projects": (
        check_preact_block,
        make_preact(project="never"),
        "projection_needed",
        "filters=8",
    ),
    "ResNet50: 6 classes written as a number": (
        check_resnet50,
        make_resnet50(classes_literal=True),
        "classes",
        "classes=10",
    ),
    "grad_cam: the classes argument ignored": (
        check_grad_cam,
        make_grad_cam(ignore_classes=True),
        "classes",
        "classes=[",
    ),
    "tf_config: the addresses written in": (check_tf_config, tf_config_for_three, "cluster", "['localhost:12345']"),
}


@pytest.mark.parametrize("label", list(SECOND_CONFIGURATION))
def test_a_wrong_answer_right_on_the_first_configuration_is_caught_on_a_later_one(
    label: str, capsys: pytest.CaptureFixture[str]
) -> None:
    check, mutant, key, later_call = SECOND_CONFIGURATION[label]
    assert check(mutant) == key
    out = capsys.readouterr().out
    assert later_call in out, out
