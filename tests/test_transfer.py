"""Tests for resnet_course.transfer: few_shot, unfreeze and imagenet_base's loading path.

No test downloads: imagenet_base is given a weights file the test writes itself."""

from __future__ import annotations

from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from keras.src.legacy.saving import legacy_h5_format  # how Keras reads (and wrote) the downloaded file

from resnet_course.transfer import IMAGENET_FILE, build_transfer_model, few_shot, imagenet_base, unfreeze


def test_few_shot_draws_k_of_every_class_from_the_seed() -> None:
    labels = np.repeat(np.arange(3), [5, 7, 4])
    picked = few_shot(labels, 4, seed=0)
    assert np.array_equal(np.bincount(labels[picked]), [4, 4, 4])
    assert np.array_equal(picked, np.sort(picked)) and len(set(picked)) == 12
    assert np.array_equal(picked, few_shot(labels.reshape(1, -1), 4, seed=0))
    assert not np.array_equal(few_shot(labels, 2, seed=0), few_shot(labels, 2, seed=1))


def test_few_shot_names_the_class_that_has_too_few() -> None:
    labels = np.repeat(np.arange(3), [5, 7, 4])
    with pytest.raises(ValueError, match="class 2 has 4 images, fewer than k=5"):
        few_shot(labels, 5, seed=0)
    with pytest.raises(ValueError, match="at least 1"):
        few_shot(labels, 0, seed=0)


def test_unfreeze_keeps_batchnorm_frozen() -> None:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 4, 2))
    x = keras.layers.BatchNormalization()(keras.layers.Conv2D(3, 3, padding="same")(inputs))
    model = keras.Model(inputs, keras.layers.Activation("relu")(x))
    base = model
    build_transfer_model(base, classes=2)
    assert not base.trainable_weights
    unfreeze(base)
    frozen = [layer.trainable for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert base.trainable and frozen == [False]
    assert any(isinstance(layer, keras.layers.Conv2D) and layer.trainable_weights for layer in base.layers)


def test_imagenet_base_names_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.weights.h5"
    with pytest.raises(FileNotFoundError, match=r"nowhere\.weights\.h5"):
        imagenet_base(missing)


@pytest.mark.parametrize("layout", ["legacy h5, as downloaded", "save_weights"])
def test_imagenet_base_loads_a_local_weights_file(tmp_path: Path, layout: str) -> None:
    """The path route, with random weights (about 95 MB): a file in the legacy HDF5 layout of the file
    weights="imagenet" downloads (IMAGENET_FILE, which Keras reads with its legacy loader), and one written
    by a ResNet50(include_top=False)'s own save_weights (Keras 3's .weights.h5)."""
    size = 32
    keras.utils.set_random_seed(0)
    written = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(size, size, 3))
    if layout == "save_weights":
        path = tmp_path / "resnet50_notop.weights.h5"
        written.save_weights(path)
    else:
        path = tmp_path / IMAGENET_FILE
        with h5py.File(path, "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, written)
    base = imagenet_base(path, size=size, input_shape=(16, 16, 3))
    loaded = base.get_layer("resnet50")
    for a, b in zip(written.get_weights()[:6], loaded.get_weights()[:6], strict=True):
        np.testing.assert_array_equal(a, b)
    images = np.random.RandomState(0).uniform(size=(2, 16, 16, 3)).astype("float32")
    assert base.predict(images, verbose=0).shape == (2, 1, 1, 2048)
    expected = written.predict(
        keras.applications.resnet50.preprocess_input(
            255.0 * keras.ops.convert_to_numpy(keras.ops.image.resize(images, (size, size)))
        ),
        verbose=0,
    )
    np.testing.assert_allclose(base.predict(images, verbose=0), expected, rtol=1e-4, atol=1e-4)
