"""Grading: the checks of the graded exercises, their hint tables, and the references they compare against.

Kept apart from the lesson code: the references live in ``resnet_course.blocks``,
``resnet_course.models`` and ``resnet_course.evaluation`` and reach the checks
from here, never through ``resnet_utils`` under a name a learner would guess.
Each check prints one verdict (✔ or ✘ with a hint that names the mistake and
says how the check called the learner's code) and returns its key.

check                       exercise                  lesson  module
check_residual_block        residual_block            01      basic
check_identity_block        identity_block            02      bottleneck
check_convolutional_block   convolutional_block       02      bottleneck
check_resnet50              ResNet50                  03      resnet50
check_basic_block           basic_block               04      basic
check_preact_block          preact_block              04      basic
check_grad_cam              grad_cam                  04      gradcam
check_tf_config             tf_config                 05      cluster
check_transfer_model        build_transfer_model      06      transfer
check_unfreeze              unfreeze                  06      transfer
"""

from __future__ import annotations

from resnet_course.grading.basic import (
    BASIC_HINTS,
    PREACT_HINTS,
    check_basic_block,
    check_preact_block,
    check_residual_block,
)
from resnet_course.grading.bottleneck import HINTS, check_convolutional_block, check_identity_block
from resnet_course.grading.cluster import TF_CONFIG_HINTS, check_tf_config
from resnet_course.grading.compare import randomize_batchnorm
from resnet_course.grading.gradcam import GRAD_CAM_HINTS, check_grad_cam
from resnet_course.grading.resnet50 import RESNET50_HINTS, check_resnet50
from resnet_course.grading.transfer import TRANSFER_HINTS, UNFREEZE_HINTS, check_transfer_model, check_unfreeze

__all__ = [
    "BASIC_HINTS",
    "GRAD_CAM_HINTS",
    "HINTS",
    "PREACT_HINTS",
    "RESNET50_HINTS",
    "TF_CONFIG_HINTS",
    "TRANSFER_HINTS",
    "UNFREEZE_HINTS",
    "check_basic_block",
    "check_convolutional_block",
    "check_grad_cam",
    "check_identity_block",
    "check_preact_block",
    "check_residual_block",
    "check_resnet50",
    "check_tf_config",
    "check_transfer_model",
    "check_unfreeze",
    "randomize_batchnorm",
]
