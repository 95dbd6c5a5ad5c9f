"""The lessons' one import: every public name of the course, from the modules of ``resnet_course``.

The reference solutions of the graded exercises (``residual_block``/``basic_block``,
``identity_block``, ``convolutional_block``, ``ResNet50``, ``preact_block``,
``grad_cam``, ``build_transfer_model``, ``unfreeze``) are not exported here under any name: the learner writes them, and
the checks reach the references in ``resnet_course`` (see ``resnet_course.grading``).

A notebook imports what it uses by name::

    from resnet_utils import load_dataset, convert_to_one_hot

Importing this module quiets TensorFlow (``resnet_course.quiet.quiet_tensorflow``:
``TF_CPP_MIN_LOG_LEVEL=3`` unless set, file descriptor 2 silenced while
TensorFlow is imported and then restored, TensorFlow's logger at ERROR),
switches on TensorFlow's oneDNN kernels (``TF_ENABLE_ONEDNN_OPTS=1`` unless set:
3x faster training on an AVX2 CPU where they were off) and changes nothing
else in the process. It must be the first import, before
anything that imports TensorFlow (Keras does): TensorFlow 2.21 prints its
oneDNN notice at import even with ``TF_CPP_MIN_LOG_LEVEL=3``. ruff's import
sorting puts it first (its own section in pyproject.toml), in the notebooks too.

Name, module of ``resnet_course`` it lives in, and the lessons that import it (-: used indirectly):

name                       module       lessons
BATCH_SIZE                 constants    - (03's recipe; benchmark)
RECIPE_EPOCHS              constants    03, 04 (and the benchmark)
VALIDATION_FRACTION        constants    - (stratified_split's default)
DATASETS_DIR               constants    - (load_dataset's default)
OUTPUTS_DIR                constants    - (output_path)
IMAGE_SHAPE                constants    - (every model's input)
NUM_CLASSES                constants    - (every model's output)
generate_signs             synthetic    - (load_dataset; tests)
render_sign                synthetic    03
convert_to_one_hot         data         00
DatasetError               signs_format - (raised by load_dataset)
available_sources          data         00
default_source             data         00, 01, 03, 04
downsample                 data         01
load_dataset               data         00, 01, 03, 04
preprocess                 data         03, 04
stratified_split           data         03, 04 (and the benchmark)
basic_resnet               models       04
BASIC_STAGES               models       04
resnet18                   models       06
cifar_net                  models       01
keras_applications_name    models       02, 03
RESNET50_STAGES            models       03
augmenter                  training     03
compile_recipe             training     03, 04, 06
optimizer_start            training     06 (and training_speed)
restart                    training     06 (and training_speed)
final_error                training     01
run_degradation            training     01
train_dataset              training     03, 04
training_speed             training     00, 03, 04
about                      training     00, 03, 04
zero_init_residual         training     03, 04
accuracy                   evaluation   03, 04
recalibrate_batchnorm      evaluation   03
wilson_interval            evaluation   04, 06 (and with_interval)
mean_interval              evaluation   06
with_interval              evaluation   03, 04
confusion_matrix           evaluation   03
forward_flops              evaluation   04
gradient_norms             evaluation   01
ImageError                 evaluation   03
load_image                 evaluation   - (predict_image)
predict_image              evaluation   03
plot_confusion             plots        03
plot_examples              plots        00
plot_grad_cam              plots        04
plot_history               plots        03
plot_misclassified         plots        03
plot_prediction            plots        03
show_diagram               plots        02, 03
check_basic_block          grading      04
check_convolutional_block  grading      02, 03
check_grad_cam             grading      04
check_identity_block       grading      02, 03
check_preact_block         grading      04
check_residual_block       grading      01
check_resnet50             grading      03
check_tf_config            grading      05
check_transfer_model       grading      06
check_unfreeze             grading      06
IMAGENET_FILE              transfer     06
few_shot                   transfer     06
imagenet_base              transfer     06
randomize_batchnorm        grading      02
environment_report         environment  00
lesson_minutes             environment  00
machine_speed              environment  00
has_graphviz               environment  - (environment_report, show_diagram)
output_path                environment  03, 04 (and show_diagram: 02, 03)
LaunchError                cluster      05
TRAIN_SCRIPT               cluster      05
free_ports                 cluster      05
launch_workers             cluster      05
port_in_use                cluster      - (launch_workers)
plot_cluster               plots        05
"""

from __future__ import annotations

from resnet_course.quiet import quiet_tensorflow

quiet_tensorflow()

from resnet_course.cluster import (  # noqa: E402
    TRAIN_SCRIPT,
    LaunchError,
    free_ports,
    launch_workers,
    port_in_use,
)
from resnet_course.constants import (  # noqa: E402
    BATCH_SIZE,
    DATASETS_DIR,
    IMAGE_SHAPE,
    NUM_CLASSES,
    OUTPUTS_DIR,
    RECIPE_EPOCHS,
    VALIDATION_FRACTION,
)
from resnet_course.data import (  # noqa: E402
    available_sources,
    convert_to_one_hot,
    default_source,
    downsample,
    load_dataset,
    preprocess,
    stratified_split,
)
from resnet_course.environment import (  # noqa: E402
    environment_report,
    has_graphviz,
    lesson_minutes,
    machine_speed,
    output_path,
)
from resnet_course.evaluation import (  # noqa: E402
    ImageError,
    accuracy,
    confusion_matrix,
    forward_flops,
    gradient_norms,
    load_image,
    mean_interval,
    predict_image,
    recalibrate_batchnorm,
    wilson_interval,
    with_interval,
)
from resnet_course.grading import (  # noqa: E402
    check_basic_block,
    check_convolutional_block,
    check_grad_cam,
    check_identity_block,
    check_preact_block,
    check_residual_block,
    check_resnet50,
    check_tf_config,
    check_transfer_model,
    check_unfreeze,
    randomize_batchnorm,
)
from resnet_course.models import (  # noqa: E402
    BASIC_STAGES,
    RESNET50_STAGES,
    basic_resnet,
    cifar_net,
    keras_applications_name,
    resnet18,
)
from resnet_course.plots import (  # noqa: E402
    plot_cluster,
    plot_confusion,
    plot_examples,
    plot_grad_cam,
    plot_history,
    plot_misclassified,
    plot_prediction,
    show_diagram,
)
from resnet_course.signs_format import DatasetError  # noqa: E402
from resnet_course.synthetic import (  # noqa: E402
    generate_signs,
    render_sign,
)
from resnet_course.training import (  # noqa: E402
    about,
    augmenter,
    compile_recipe,
    final_error,
    optimizer_start,
    restart,
    run_degradation,
    train_dataset,
    training_speed,
    zero_init_residual,
)
from resnet_course.transfer import (  # noqa: E402
    IMAGENET_FILE,
    few_shot,
    imagenet_base,
)

__all__ = [
    "BASIC_STAGES",
    "BATCH_SIZE",
    "DATASETS_DIR",
    "IMAGENET_FILE",
    "IMAGE_SHAPE",
    "NUM_CLASSES",
    "OUTPUTS_DIR",
    "RECIPE_EPOCHS",
    "RESNET50_STAGES",
    "TRAIN_SCRIPT",
    "VALIDATION_FRACTION",
    "DatasetError",
    "ImageError",
    "LaunchError",
    "about",
    "accuracy",
    "augmenter",
    "available_sources",
    "basic_resnet",
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
    "cifar_net",
    "compile_recipe",
    "confusion_matrix",
    "convert_to_one_hot",
    "default_source",
    "downsample",
    "environment_report",
    "few_shot",
    "final_error",
    "forward_flops",
    "free_ports",
    "generate_signs",
    "gradient_norms",
    "has_graphviz",
    "imagenet_base",
    "keras_applications_name",
    "launch_workers",
    "lesson_minutes",
    "load_dataset",
    "load_image",
    "machine_speed",
    "mean_interval",
    "optimizer_start",
    "output_path",
    "plot_cluster",
    "plot_confusion",
    "plot_examples",
    "plot_grad_cam",
    "plot_history",
    "plot_misclassified",
    "plot_prediction",
    "port_in_use",
    "predict_image",
    "preprocess",
    "randomize_batchnorm",
    "recalibrate_batchnorm",
    "render_sign",
    "resnet18",
    "restart",
    "run_degradation",
    "show_diagram",
    "stratified_split",
    "train_dataset",
    "training_speed",
    "wilson_interval",
    "with_interval",
    "zero_init_residual",
]
