"""Tests for resnet_course.grading.gradcam: lesson 04's grad_cam exercise, with the mistakes learners make."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf

from resnet_course.evaluation import grad_cam
from resnet_course.grading import GRAD_CAM_HINTS, check_grad_cam
from resnet_course.grading.gradcam import check_inputs


def make_grad_cam(**mistake: Any) -> Callable[..., np.ndarray]:
    """grad_cam as a learner writes it with tf.GradientTape, with one optional mistake.

    Keyword mistakes: probability=True (softmax output), axes=(...) (gradient averaged over other axes),
    relu=False, scale=False, ignore_classes=True, training=True, wrt_input=True, keep_channel=True,
    batch_dims=0 (tf.gather without batch_dims), axes=None (no average of the gradient), scale="batch"
    (divided by the batch's maximum), outside_tape=True (the forward pass before the tape).
    """

    def learner_grad_cam(model: keras.Model, images: np.ndarray, layer: str, classes: Any = None) -> np.ndarray:
        head = model.layers[-1]
        probe = keras.Model(model.input, [model.get_layer(layer).output, head.input, model.output])
        x = tf.convert_to_tensor(images, dtype=tf.float32)
        if mistake.get("outside_tape"):
            features, before_head, probs = probe(x, training=False)
        with tf.GradientTape() as tape:
            tape.watch(x)
            if not mistake.get("outside_tape"):
                features, before_head, probs = probe(x, training=mistake.get("training", False))
            scores = probs if mistake.get("probability") else before_head @ head.kernel + head.bias
            if classes is None or mistake.get("ignore_classes"):
                classes = tf.argmax(scores, axis=1)
            score = tf.reduce_sum(tf.gather(scores, classes, axis=1, batch_dims=mistake.get("batch_dims", 1)))
        grads = tape.gradient(score, x if mistake.get("wrt_input") else features)
        if mistake.get("wrt_input"):
            features = x
        axes = mistake.get("axes", (1, 2))
        weights = grads if axes is None else tf.reduce_mean(grads, axis=axes, keepdims=True)
        cam = tf.reduce_sum(weights * features, axis=-1, keepdims=bool(mistake.get("keep_channel")))
        cam = tf.nn.relu(cam) if mistake.get("relu", True) else cam
        if not mistake.get("scale", True):
            return cam.numpy()
        peak = tf.reduce_max(cam) if mistake.get("scale") == "batch" else tf.reduce_max(cam, axis=(1, 2), keepdims=True)
        return tf.math.divide_no_nan(cam, peak).numpy()

    return learner_grad_cam


def not_implemented(*args: Any, **kwargs: Any) -> Any:
    # YOUR CODE HERE
    raise NotImplementedError()


GRAD_CAM_MUTANTS: dict[str, tuple[str, Any]] = {
    "softmax probability instead of the score": ("probability", make_grad_cam(probability=True)),
    "gradient averaged over the batch too": ("pool_axes", make_grad_cam(axes=(0, 1, 2))),
    "gradient averaged over the channels": ("pool_axes", make_grad_cam(axes=(3,))),
    "no ReLU": ("relu", make_grad_cam(relu=False)),
    "not scaled": ("scale", make_grad_cam(scale=False)),
    "classes ignored": ("classes", make_grad_cam(ignore_classes=True)),
    "training mode": ("training", make_grad_cam(training=True)),
    "gradient of the input image": ("shape", make_grad_cam(wrt_input=True)),
    "keeps a channel axis": ("shape", make_grad_cam(keep_channel=True)),
    "tf.gather without batch_dims=1": ("batch_dims", make_grad_cam(batch_dims=0)),
    "gradient not averaged": ("no_pool", make_grad_cam(axes=None)),
    "divided by the batch's maximum": ("scale_batch", make_grad_cam(scale="batch")),
    "forward pass outside the tape": ("tape", make_grad_cam(outside_tape=True)),
    "stub": ("not_implemented", not_implemented),
}


def test_reference_and_a_learner_solution_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_grad_cam(grad_cam) == "ok"
    assert check_grad_cam(make_grad_cam()) == "ok"
    assert capsys.readouterr().out.count("✔") == 2


def test_grad_cam_mutants_each_get_their_hint(run_mutants: Callable[..., str]) -> None:
    run_mutants(check_grad_cam, GRAD_CAM_MUTANTS)


def test_the_check_images_have_different_classes() -> None:
    """A mistake that mixes the images' classes (tf.gather without batch_dims) shows only on distinct classes."""
    _, _, predicted = check_inputs()
    given = (predicted + 1) % 3
    assert len(set(predicted.tolist())) == 3 and len(set(given.tolist())) == 3, (predicted, given)


def test_the_classes_hint_prints_plain_integers(run_mutants: Callable[..., str]) -> None:
    out = run_mutants(check_grad_cam, {"classes ignored": GRAD_CAM_MUTANTS["classes ignored"]})
    assert "np.int64" not in out and "classes=[" in out, out


def test_check_leaves_the_global_seed_alone() -> None:
    keras.utils.set_random_seed(7)
    before = np.random.get_state(legacy=False)  # noqa: NPY002  (the global state is what is tested)
    check_grad_cam(grad_cam)
    after = np.random.get_state(legacy=False)  # noqa: NPY002
    assert (
        np.array_equal(after["state"]["key"], before["state"]["key"])
        and after["state"]["pos"] == before["state"]["pos"]
    )


def test_every_hint_is_used_or_generic() -> None:
    generic = {"ok", "error", "unbound", "values"}
    assert set(GRAD_CAM_HINTS) - {key for key, _ in GRAD_CAM_MUTANTS.values()} == generic


# (check, a mutant right on the first configuration only, its hint, what the context says of the later call)
SECOND_CONFIGURATION: list[tuple[Callable[[Any], str], Any, str, str]] = [
    (check_grad_cam, make_grad_cam(ignore_classes=True), "classes", "classes=["),
]


@pytest.mark.parametrize(("check", "mutant", "key", "later_call"), SECOND_CONFIGURATION)
def test_a_wrong_answer_right_on_the_first_configuration_is_caught_on_a_later_one(
    check: Callable[[Any], str], mutant: Any, key: str, later_call: str, caught_later: Callable[..., None]
) -> None:
    """A number written where an argument belongs, or a condition that holds by chance, passes the check's
    first configuration: a later one must name the mistake and say which call failed."""
    caught_later(check, mutant, key, later_call)
