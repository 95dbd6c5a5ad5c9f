"""Tests for the data helpers of resnet_utils: the synthetic SIGNS set,
load_dataset with original-format files, its errors, and convert_to_one_hot."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import resnet_utils as ru
from resnet_utils import DatasetError, convert_to_one_hot, generate_signs, load_dataset

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding the generated synthetic cache."""
    directory = tmp_path_factory.mktemp("synthetic")
    load_dataset(directory, verbose=False)
    return directory


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


def test_generate_signs_is_balanced_and_well_formed() -> None:
    x, y = generate_signs(per_class=3, seed=5)
    assert x.shape == (18, 64, 64, 3) and x.dtype == np.uint8
    assert y.shape == (18,) and y.dtype == np.int64
    assert np.bincount(y, minlength=6).tolist() == [3] * 6
    assert x.std() > 20, "images should not be flat"


def test_generate_signs_depends_on_seed_and_split() -> None:
    a, _ = generate_signs(1, seed=0, split=0)
    b, _ = generate_signs(1, seed=0, split=1)
    c, _ = generate_signs(1, seed=1, split=0)
    assert not np.array_equal(a, b) and not np.array_equal(a, c)
    np.testing.assert_array_equal(a, generate_signs(1, seed=0, split=0)[0])


def test_generate_signs_rejects_empty_request() -> None:
    with pytest.raises(ValueError, match="per_class must be at least 1, found 0"):
        generate_signs(0)


def test_synthetic_set_is_byte_identical_in_fresh_processes(synthetic_dir: Path) -> None:
    code = (
        "import resnet_utils as r\n"
        "a = r.generate_signs(180, 0, 0); b = r.generate_signs(20, 0, 1)\n"
        "print(r._fingerprint(a[0], a[1], b[0], b[1]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    digests = {
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.strip()
        for _ in range(2)
    }
    assert digests == {ru.SYNTHETIC_SHA256}


def test_load_dataset_synthetic_shapes(synthetic_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x_train, y_train, x_test, y_test, classes = load_dataset(synthetic_dir)
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
    cache = synthetic_dir / ru.SYNTHETIC_FILE
    assert cache.exists()
    expected = load_dataset(synthetic_dir, verbose=False)
    broken = tmp_path / ru.SYNTHETIC_FILE
    broken.write_bytes(cache.read_bytes()[:1000])
    repaired = load_dataset(tmp_path, verbose=False)
    for a, b in zip(expected, repaired, strict=True):
        np.testing.assert_array_equal(a, b)
    assert broken.stat().st_size == cache.stat().st_size


def test_load_dataset_prefers_original_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_signs(tmp_path / "train_signs.h5", "train", m=12)
    write_signs(tmp_path / "test_signs.h5", "test", m=6)
    x_train, y_train, x_test, y_test, classes = load_dataset(tmp_path)
    assert x_train.shape == (12, 64, 64, 3) and y_train.shape == (1, 12)
    assert x_test.shape == (6, 64, 64, 3) and y_test.shape == (1, 6)
    assert classes.tolist() == list(range(6))
    assert "original SIGNS files" in capsys.readouterr().out
    assert not (tmp_path / ru.SYNTHETIC_FILE).exists()


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


def test_environment_report_names_versions_and_graphviz() -> None:
    report = ru.environment_report()
    assert report["python"] == ".".join(map(str, sys.version_info[:3]))
    assert report["keras"].startswith("3.")
    assert report["graphviz"].startswith("found" if ru.has_graphviz() else "missing")


def test_has_graphviz_follows_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not ru.has_graphviz()
    dot = tmp_path / "dot"
    dot.write_text("#!/bin/sh\n")
    dot.chmod(0o755)
    assert ru.has_graphviz()


def test_plot_examples_one_row_per_class() -> None:
    x, y = generate_signs(per_class=2, seed=1)
    fig = ru.plot_examples(x, y.reshape(1, -1), per_class=3)
    axes = fig.get_axes()
    assert len(axes) == 6 * 3
    assert [ax.get_title(loc="left") for ax in axes[::3]] == [f"class {k}" for k in range(6)]
    assert sum(bool(ax.images) for ax in axes) == 12  # 2 images per class, third column empty
    ru.plt.close(fig)
