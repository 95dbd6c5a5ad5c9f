"""Tests for resnet_course.data: load_dataset with the synthetic set and original-format files,
its errors, convert_to_one_hot, preprocess and downsample."""

from __future__ import annotations

import hashlib
from pathlib import Path

import h5py
import numpy as np
import pytest

from resnet_course.data import (
    SYNTHETIC_FILE,
    available_sources,
    convert_to_one_hot,
    default_source,
    downsample,
    load_dataset,
    preprocess,
    stratified_split,
)
from resnet_course.signs_format import DatasetError


@pytest.fixture(autouse=True)
def no_source_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests choose the source themselves (the root conftest.py sets SIGNS_SOURCE=digits)."""
    monkeypatch.delenv("SIGNS_SOURCE", raising=False)


def write_signs(path: Path, prefix: str, m: int = 12, override: dict[str, np.ndarray] | None = None) -> None:
    """Write an original-course-format SIGNS file with m images."""
    rng = np.random.default_rng(m)
    data = {
        f"{prefix}_set_x": rng.integers(0, 256, (m, 64, 64, 3), dtype=np.uint8),
        f"{prefix}_set_y": np.arange(m, dtype=np.int64) % 6,
        "list_classes": np.arange(6, dtype=np.int64),
    }
    data.update(override or {})
    with h5py.File(path, "w") as f:
        for key, value in data.items():
            if value is not None:
                f[key] = value


def test_load_dataset_synthetic_shapes(synthetic_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x_train, y_train, x_test, y_test, classes = load_dataset(synthetic_dir, source="synthetic")
    assert [a.shape for a in (x_train, y_train, x_test, y_test, classes)] == [
        (1080, 64, 64, 3),
        (1, 1080),
        (120, 64, 64, 3),
        (1, 120),
        (6,),
    ]
    assert x_train.dtype == np.uint8 and np.issubdtype(y_train.dtype, np.integer)
    assert np.bincount(y_train[0]).tolist() == [180] * 6
    assert np.bincount(y_test[0]).tolist() == [20] * 6
    assert "synthetic SIGNS" in capsys.readouterr().out


def test_load_dataset_reuses_cache_and_repairs_damaged_one(synthetic_dir: Path, tmp_path: Path) -> None:
    cache = synthetic_dir / SYNTHETIC_FILE
    assert cache.exists()
    expected = load_dataset(synthetic_dir, verbose=False, source="synthetic")
    broken = tmp_path / SYNTHETIC_FILE
    broken.write_bytes(cache.read_bytes()[:1000])
    repaired = load_dataset(tmp_path, verbose=False, source="synthetic")
    for a, b in zip(expected, repaired, strict=True):
        np.testing.assert_array_equal(a, b)
    assert broken.stat().st_size == cache.stat().st_size
    # written through a temporary file of its own, renamed: nothing else is left, and others may read it
    assert [p.name for p in tmp_path.iterdir()] == [SYNTHETIC_FILE] and broken.stat().st_mode & 0o044 == 0o044


def test_load_dataset_prefers_original_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_signs(tmp_path / "train_signs.h5", "train", m=12)
    write_signs(tmp_path / "test_signs.h5", "test", m=6)
    x_train, y_train, x_test, y_test, classes = load_dataset(tmp_path)
    assert x_train.shape == (12, 64, 64, 3) and y_train.shape == (1, 12)
    assert x_test.shape == (6, 64, 64, 3) and y_test.shape == (1, 6)
    assert classes.tolist() == list(range(6))
    assert "original SIGNS files" in capsys.readouterr().out
    assert not (tmp_path / SYNTHETIC_FILE).exists()


def test_load_dataset_never_modifies_user_files(tmp_path: Path) -> None:
    files = [tmp_path / "train_signs.h5", tmp_path / "test_signs.h5"]
    write_signs(files[0], "train")
    write_signs(files[1], "test", override={"test_set_y": np.full(12, 9)})
    before = [(hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_mtime_ns) for f in files]
    with pytest.raises(DatasetError):
        load_dataset(tmp_path, verbose=False)
    assert [(hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_mtime_ns) for f in files] == before


@pytest.mark.parametrize("present", ["train_signs.h5", "test_signs.h5"])
def test_one_original_file_without_the_other(tmp_path: Path, present: str) -> None:
    write_signs(tmp_path / present, present.split("_")[0])
    missing = "test_signs.h5" if present == "train_signs.h5" else "train_signs.h5"
    with pytest.raises(DatasetError, match=rf"found .*{present} but not .*{missing}"):
        load_dataset(tmp_path, verbose=False)


def test_not_an_hdf5_file(tmp_path: Path) -> None:
    (tmp_path / "train_signs.h5").write_text("this is not HDF5")
    write_signs(tmp_path / "test_signs.h5", "test")
    with pytest.raises(DatasetError, match=r"train_signs\.h5: not a readable HDF5 file"):
        load_dataset(tmp_path, verbose=False)


def test_truncated_hdf5_file(tmp_path: Path) -> None:
    write_signs(tmp_path / "train_signs.h5", "train")
    write_signs(tmp_path / "test_signs.h5", "test")
    path = tmp_path / "test_signs.h5"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DatasetError, match=r"test_signs\.h5: not a readable HDF5 file"):
        load_dataset(tmp_path, verbose=False)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"train_set_x": None}, r"missing dataset\(s\) \['train_set_x'\].*found \['list_classes', 'train_set_y'\]"),
        ({"list_classes": None}, r"missing dataset\(s\) \['list_classes'\]"),
        (
            {"train_set_x": np.zeros((12, 32, 32, 3), np.uint8)},
            r"train_set_x should have shape \(m, 64, 64, 3\), found \(12, 32, 32, 3\)",
        ),
        (
            {"train_set_x": np.zeros((12, 64, 64, 3), np.float32)},
            r"train_set_x should be uint8 pixels, found dtype float32",
        ),
        ({"train_set_y": np.zeros(10, np.int64)}, r"train_set_y should have shape \(12,\).*found \(10,\)"),
        ({"train_set_y": np.zeros(12, np.float64)}, r"train_set_y should hold integer labels, found dtype float64"),
        ({"train_set_y": np.arange(12)}, r"train_set_y labels should lie in 0\.\.5, found values from 0 to 11"),
        ({"train_set_y": np.full(12, -1)}, r"train_set_y labels should lie in 0\.\.5, found values from -1 to -1"),
        ({"list_classes": np.arange(5)}, r"list_classes should have shape \(6,\), found \(5,\)"),
    ],
)
def test_bad_original_train_file(tmp_path: Path, override: dict[str, np.ndarray], message: str) -> None:
    write_signs(tmp_path / "train_signs.h5", "train", override=override)
    write_signs(tmp_path / "test_signs.h5", "test")
    with pytest.raises(DatasetError, match=r"train_signs\.h5: " + message):
        load_dataset(tmp_path, verbose=False)


def test_labels_stored_as_row_vector_are_accepted(tmp_path: Path) -> None:
    write_signs(tmp_path / "train_signs.h5", "train", override={"train_set_y": (np.arange(12) % 6).reshape(1, 12)})
    write_signs(tmp_path / "test_signs.h5", "test")
    assert load_dataset(tmp_path, verbose=False)[1].shape == (1, 12)


def test_default_source_and_available_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The shipped photos, unless the original course's files are there.
    assert default_source(tmp_path) == "digits" and available_sources(tmp_path) == ["digits", "synthetic"]
    write_signs(tmp_path / "test_signs.h5", "test")
    assert default_source(tmp_path) == "signs"  # one file is enough to mean it: the error names the other
    assert available_sources(tmp_path) == ["digits", "synthetic"]
    write_signs(tmp_path / "train_signs.h5", "train")
    assert available_sources(tmp_path) == ["digits", "synthetic", "signs"]
    monkeypatch.setenv("SIGNS_SOURCE", "synthetic ")  # as Windows cmd's `set SIGNS_SOURCE=synthetic && ...` sets it
    assert default_source(tmp_path) == "synthetic"


def test_signs_source_variable_picks_the_source(
    synthetic_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_signs(synthetic_dir / "train_signs.h5", "train")
    write_signs(synthetic_dir / "test_signs.h5", "test")
    try:
        assert load_dataset(synthetic_dir)[0].shape[0] == 12
        assert "source 'signs', the original SIGNS files" in capsys.readouterr().out
        monkeypatch.setenv("SIGNS_SOURCE", "synthetic")
        assert load_dataset(synthetic_dir)[0].shape[0] == 1080
        assert "source 'synthetic'" in capsys.readouterr().out
        assert load_dataset(synthetic_dir, source="signs", verbose=False)[0].shape[0] == 12  # the argument wins
    finally:
        for name in ("train_signs.h5", "test_signs.h5"):
            (synthetic_dir / name).unlink()


@pytest.mark.parametrize("source", ["cifar", "Digits", ""])
def test_unknown_source_lists_the_valid_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    message = rf"unknown SIGNS source '{source}': expected one of 'synthetic', 'signs', 'digits'"
    with pytest.raises(DatasetError, match=message):
        load_dataset(tmp_path, source=source)
    if source:
        monkeypatch.setenv("SIGNS_SOURCE", source)
        with pytest.raises(DatasetError, match=message):
            load_dataset(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_convert_to_one_hot_matches_original_course() -> None:
    y = np.array([[1, 2, 3, 0, 2, 1]])
    expected = np.array(
        [
            [0, 0, 0, 1, 0, 0],
            [1, 0, 0, 0, 0, 1],
            [0, 1, 0, 0, 1, 0],
            [0, 0, 1, 0, 0, 0],
        ]
    )
    np.testing.assert_array_equal(convert_to_one_hot(y, 4), expected)


def test_convert_to_one_hot_rejects_out_of_range_labels() -> None:
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.5, found values from 0 to 6"):
        convert_to_one_hot(np.array([[0, 6]]), 6)


def test_preprocess_scales_to_unit_interval() -> None:
    x = preprocess(np.array([[0, 128, 255]], dtype=np.uint8))
    assert x.dtype == np.float32 and np.allclose(x, [[0.0, 128 / 255, 1.0]])


def test_downsample_averages_blocks() -> None:
    images = np.zeros((1, 64, 64, 3), dtype=np.uint8)
    images[0, :2, :2] = 255
    small = downsample(images, 32)
    assert small.shape == (1, 32, 32, 3) and small[0, 0, 0, 0] == 1.0 and small[0, 1, 1, 0] == 0.0
    with pytest.raises(ValueError, match="found 30"):
        downsample(images, 30)


def test_signs_source_without_the_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"found neither train_signs\.h5 nor test_signs\.h5: the original SIGNS"):
        load_dataset(tmp_path, source="signs")


def test_stratified_split_keeps_class_shares_and_is_deterministic() -> None:
    labels = np.repeat(np.arange(6), [180, 180, 180, 180, 180, 173])
    train, validation = stratified_split(labels.reshape(1, -1), fraction=0.1, seed=0)
    assert np.array_equal(np.sort(np.concatenate([train, validation])), np.arange(len(labels)))
    assert np.bincount(labels[validation]).tolist() == [18, 18, 18, 18, 18, 17]
    again, _ = stratified_split(labels, fraction=0.1, seed=0)
    other, _ = stratified_split(labels, fraction=0.1, seed=1)
    assert np.array_equal(train, again) and not np.array_equal(train, other)


@pytest.mark.parametrize(
    ("labels", "fraction", "message"), [([0, 0, 1, 1], 1.0, "found 1.0"), ([0, 0, 1], 0.1, "class 1 has 1 image")]
)
def test_stratified_split_rejects_what_it_cannot_split(labels: list[int], fraction: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        stratified_split(np.array(labels), fraction=fraction)
