"""The lessons' one import: every public name of the course, from the modules of ``resnet_course``.

A notebook imports what it uses by name::

    from resnet_utils import load_dataset, convert_to_one_hot

Importing this module quiets TensorFlow (``resnet_course.quiet.quiet_tensorflow``:
``TF_CPP_MIN_LOG_LEVEL=3`` unless set, file descriptor 2 silenced while
TensorFlow is imported and then restored, TensorFlow's logger at ERROR) and
changes nothing else in the process. It must be the first import, before
anything that imports TensorFlow (Keras does): TensorFlow 2.21 prints its
oneDNN notice at import even with ``TF_CPP_MIN_LOG_LEVEL=3``. ruff's import
sorting puts it first (its own section in pyproject.toml), in the notebooks too.

Name, module of ``resnet_course`` it lives in, and the lessons that import it (-: used indirectly):

name                       module       lessons
BATCH_SIZE                 constants    - (03's recipe; benchmark)
RECIPE_EPOCHS              constants    03, 04 (and the benchmark)
DATASETS_DIR               constants    - (load_dataset's default)
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
basic_block                blocks       01
convolutional_block        blocks       - (02's reference; ResNet50)
identity_block             blocks       - (02's reference; ResNet50)
preact_block               blocks       - (basic_resnet)
basic_resnet               models       04
BASIC_STAGES               models       04
cifar_net                  models       01
keras_applications_name    models       02, 03
ResNet50                   models       03, 04
RESNET50_STAGES            models       03
augmenter                  training     03
compile_recipe             training     03, 04
final_error                training     01
run_degradation            training     01
train_dataset              training     03, 04
training_speed             training     00, 03, 04
about                      training     00, 03, 04
zero_init_residual         training     03, 04
accuracy                   evaluation   03, 04
confusion_matrix           evaluation   03
forward_flops              evaluation   04
grad_cam                   evaluation   04
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
BASIC_HINTS                grading      - (01's check; tests)
check_convolutional_block  grading      02
check_identity_block       grading      02
check_residual_block       grading      01
HINTS                      grading      - (02's checks; tests)
randomize_batchnorm        grading      02
environment_report         environment  00
lesson_minutes             environment  00
has_graphviz               environment  - (environment_report, show_diagram)
"""

from __future__ import annotations

from resnet_course.quiet import quiet_tensorflow

quiet_tensorflow()

from resnet_course.blocks import (  # noqa: E402
    basic_block,
    convolutional_block,
    identity_block,
    preact_block,
)
from resnet_course.constants import (  # noqa: E402
    BATCH_SIZE,
    DATASETS_DIR,
    IMAGE_SHAPE,
    NUM_CLASSES,
    RECIPE_EPOCHS,
)
from resnet_course.data import (  # noqa: E402
    available_sources,
    convert_to_one_hot,
    default_source,
    downsample,
    load_dataset,
    preprocess,
)
from resnet_course.environment import (  # noqa: E402
    environment_report,
    has_graphviz,
    lesson_minutes,
)
from resnet_course.evaluation import (  # noqa: E402
    ImageError,
    accuracy,
    confusion_matrix,
    forward_flops,
    grad_cam,
    gradient_norms,
    load_image,
    predict_image,
)
from resnet_course.grading import (  # noqa: E402
    BASIC_HINTS,
    HINTS,
    check_convolutional_block,
    check_identity_block,
    check_residual_block,
    randomize_batchnorm,
)
from resnet_course.models import (  # noqa: E402
    BASIC_STAGES,
    RESNET50_STAGES,
    ResNet50,
    basic_resnet,
    cifar_net,
    keras_applications_name,
)
from resnet_course.plots import (  # noqa: E402
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
    run_degradation,
    train_dataset,
    training_speed,
    zero_init_residual,
)

__all__ = [
    "BASIC_HINTS",
    "BASIC_STAGES",
    "BATCH_SIZE",
    "DATASETS_DIR",
    "HINTS",
    "IMAGE_SHAPE",
    "NUM_CLASSES",
    "RECIPE_EPOCHS",
    "RESNET50_STAGES",
    "DatasetError",
    "ImageError",
    "ResNet50",
    "about",
    "accuracy",
    "augmenter",
    "available_sources",
    "basic_block",
    "basic_resnet",
    "check_convolutional_block",
    "check_identity_block",
    "check_residual_block",
    "cifar_net",
    "compile_recipe",
    "confusion_matrix",
    "convert_to_one_hot",
    "convolutional_block",
    "default_source",
    "downsample",
    "environment_report",
    "final_error",
    "forward_flops",
    "generate_signs",
    "grad_cam",
    "gradient_norms",
    "has_graphviz",
    "identity_block",
    "keras_applications_name",
    "lesson_minutes",
    "load_dataset",
    "load_image",
    "plot_confusion",
    "plot_examples",
    "plot_grad_cam",
    "plot_history",
    "plot_misclassified",
    "plot_prediction",
    "preact_block",
    "predict_image",
    "preprocess",
    "randomize_batchnorm",
    "render_sign",
    "run_degradation",
    "show_diagram",
    "train_dataset",
    "training_speed",
    "zero_init_residual",
]
