"""Tests for resnet_course.digits (through load_dataset(source="digits")): the shipped photos and their
manifest, and, on a small fake folder of photos built here, the preparation, the cache, the split and every
error."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from resnet_course import digits
from resnet_course.data import load_dataset
from resnet_course.signs_format import DatasetError

STUDENTS = 40  # 40 photos per digit: 34 for testing, 6 for training


def photo(digit: int, student: int) -> bytes:
    """A tiny JPEG whose colour encodes the digit and the student."""
    image = Image.new("RGB", (10, 10), (digit * 25, student * 6, 128))
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


def fake_photos(folders: range | list[str] = range(6)) -> dict[str, bytes]:
    """The fake data set: path below the photos' folder -> bytes, in the shipped layout (0/ ... 5/)."""
    files = {}
    for folder in map(str, folders):
        for student in range(STUDENTS):
            number = 1000 + 10 * student + (int(folder) if folder.isdigit() else 0)
            files[f"{folder}/IMG_{number}.JPG"] = photo(int(folder) if folder.isdigit() else 0, student)
    return files


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def photos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fake photos as the shipped ones: their folder, manifest and digest replace the real ones."""
    files = fake_photos()
    manifest = tmp_path / "manifest.txt"
    manifest.write_text("\n".join(digits.manifest_lines(files)) + "\n")
    folder = write_folder(tmp_path / "photos", files | {"LICENSE": b"Apache License 2.0\n"})
    monkeypatch.setattr(digits, "MANIFEST", manifest)
    monkeypatch.setattr(digits, "DIGITS_SHA256", digits.photos_digest(files))
    monkeypatch.setattr(digits, "PHOTOS_DIR", folder)
    return folder


def entries(folder: Path) -> list[str]:
    """Everything in a folder, hidden entries included."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def fingerprint(folder: Path) -> list[tuple[str, str, int]]:
    """Path, sha256 and modification time of every file below a folder."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return [
        (p.relative_to(folder).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in files
    ]


def test_prepares_shapes_counts_and_split(tmp_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x_train, y_train, x_test, y_test, classes = load_dataset(tmp_path / "data", source="digits")
    assert [a.shape for a in (x_train, y_train, x_test, y_test, classes)] == [
        (6 * (STUDENTS - 34), 64, 64, 3),
        (1, 6 * (STUDENTS - 34)),
        (6 * 34, 64, 64, 3),
        (1, 6 * 34),
        (6,),
    ]
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int64
    assert np.bincount(y_test[0]).tolist() == [34] * 6 and np.bincount(y_train[0]).tolist() == [6] * 6
    # Box resampling of a flat colour keeps it (up to JPEG's rounding): digit 3 is red 75.
    assert abs(int(np.median(x_train[y_train[0] == 3][..., 0])) - 75) <= 2
    # A student's photos stay on one side: the green channel encodes the student.
    students_train = {round(v / 6) for v in np.median(x_train[..., 1], axis=(1, 2))}
    students_test = {round(v / 6) for v in np.median(x_test[..., 1], axis=(1, 2))}
    assert not students_train & students_test and len(students_train | students_test) == STUDENTS
    assert len(set(y_train[0, :6].tolist())) > 1  # shuffled, not sorted by class
    out = capsys.readouterr().out
    assert "source 'digits'" in out and "per class [34, 34, 34, 34, 34, 34]" in out


def test_cache_is_reused_and_the_photos_untouched(tmp_path: Path, photos: Path) -> None:
    before = fingerprint(photos)
    first = load_dataset(tmp_path / "data", verbose=False, source="digits")
    assert entries(tmp_path / "data") == [digits.DIGITS_CACHE]
    assert entries(tmp_path / "data" / digits.DIGITS_CACHE) == ["test_signs.h5", "train_signs.h5"]
    assert fingerprint(photos) == before
    photos.rename(tmp_path / "moved")  # no photos: the cache alone
    again = load_dataset(tmp_path / "data", verbose=False, source="digits")
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_upstream_layout_gives_the_same_data(tmp_path: Path, photos: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Upstream's Dataset/ folder (digits 0-9, a README, Finder's files) as the photos' folder: 0-5 only are read."""
    shipped = load_dataset(tmp_path / "a", verbose=False, source="digits")
    upstream = write_folder(tmp_path / "Dataset", fake_photos(range(10)) | {"README.md": b"# Sign Language Digits\n"})
    (upstream / "2" / ".DS_Store").write_bytes(b"Finder")
    (upstream / ".DS_Store").write_bytes(b"Finder")
    monkeypatch.setattr(digits, "PHOTOS_DIR", upstream)
    again = load_dataset(tmp_path / "b", verbose=False, source="digits")
    for a, b in zip(shipped, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_second_preparation_keeps_the_first_cache(tmp_path: Path, photos: Path) -> None:
    """Two processes (two notebooks, two test workers) preparing at once: the second to finish keeps the first's."""
    cache = tmp_path / "data" / digits.DIGITS_CACHE
    digits.prepare_digits(cache)
    before = fingerprint(cache)
    digits.prepare_digits(cache)  # as if it had started before the first one finished
    assert fingerprint(cache) == before and entries(tmp_path / "data") == [digits.DIGITS_CACHE]


def test_missing_photos_folder_or_class_folder(tmp_path: Path, photos: Path) -> None:
    shutil.rmtree(photos / "4")
    with pytest.raises(DatasetError, match=r"photos: expected the class folders 0 \.\.\. 5 .*missing \['4'\]"):
        load_dataset(tmp_path / "data", source="digits")
    shutil.rmtree(photos)
    with pytest.raises(DatasetError, match=r"photos: no such folder"):
        load_dataset(tmp_path / "data", source="digits")
    assert entries(tmp_path / "data") == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("different bytes", r"first difference: 3/IMG_1053\.JPG has different bytes"),
        ("missing", r"\(239 photos of 0-5 found, 240 expected\); first difference: 3/IMG_1053\.JPG is missing"),
        ("extra", r"first difference: 3/IMG_1054\.JPG is not in the published data set"),
    ],
)
def test_digest_mismatch_names_the_first_differing_photo(
    tmp_path: Path, photos: Path, change: str, message: str
) -> None:
    if change == "different bytes":
        (photos / "3" / "IMG_1053.JPG").write_bytes(photo(4, 5))
    elif change == "missing":
        (photos / "3" / "IMG_1053.JPG").unlink()
    else:
        (photos / "3" / "IMG_1054.JPG").write_bytes(photo(3, 5))
    with pytest.raises(DatasetError, match=r"photos: the photos differ from the published .*" + message):
        load_dataset(tmp_path / "data", source="digits")
    assert entries(tmp_path / "data") == []


def test_overall_digest_is_checked(tmp_path: Path, photos: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digits, "DIGITS_SHA256", "0" * 64)
    with pytest.raises(DatasetError, match=r"the photos' sha256 differs from the published data set's 0000"):
        load_dataset(tmp_path / "data", source="digits")


def test_nothing_half_written_when_writing_fails(tmp_path: Path, photos: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from resnet_course import signs_format

    calls = []
    real_file = signs_format.h5py.File

    def failing_file(path: Path, mode: str) -> object:
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_file(path, mode)

    monkeypatch.setattr(signs_format.h5py, "File", failing_file)
    with pytest.raises(OSError, match="No space left"):
        load_dataset(tmp_path / "data", source="digits")
    assert entries(tmp_path / "data") == []
    monkeypatch.undo()


def test_damaged_cache_names_the_file_and_the_remedy(tmp_path: Path, photos: Path) -> None:
    load_dataset(tmp_path / "data", verbose=False, source="digits")
    cache = tmp_path / "data" / digits.DIGITS_CACHE
    (cache / "test_signs.h5").unlink()
    with pytest.raises(
        DatasetError,
        match=r"found train_signs\.h5 but not test_signs\.h5: delete the folder .*to prepare the digits again",
    ):
        load_dataset(tmp_path / "data", source="digits")
    (cache / "test_signs.h5").write_bytes(b"junk")
    with pytest.raises(DatasetError, match=r"test_signs\.h5: not a readable HDF5 file"):
        load_dataset(tmp_path / "data", source="digits")


def test_the_shipped_photos_are_the_published_ones() -> None:
    """Every committed photo against the manifest and the digest; upstream's licence beside them."""
    photos = digits.read_photos(digits.PHOTOS_DIR)
    digits.verify_photos(digits.PHOTOS_DIR, photos, digits.MANIFEST.read_text().split(), digits.DIGITS_SHA256)
    assert len(photos) == 1237
    licence = (digits.PHOTOS_DIR / "LICENSE").read_text()
    assert licence.lstrip().startswith("Apache License") and "Copyright 2017 Arda Mavi" in licence
    assert {p.name for p in digits.PHOTOS_DIR.iterdir()} == {"0", "1", "2", "3", "4", "5", "LICENSE", "README.md"}


def test_a_fresh_clone_loads_the_shipped_photos_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """load_dataset() with no argument and no SIGNS_SOURCE: the photos, prepared from the repository alone."""
    monkeypatch.delenv("SIGNS_SOURCE", raising=False)
    x_train, y_train, x_test, y_test, classes = load_dataset(tmp_path)
    assert x_train.shape == (1033, 64, 64, 3) and x_test.shape == (204, 64, 64, 3)
    assert y_train.shape == (1, 1033) and y_test.shape == (1, 204) and classes.tolist() == list(range(6))
    assert np.bincount(y_test[0]).tolist() == [34] * 6
    assert np.bincount(y_train[0]).tolist() == [171, 172, 172, 172, 173, 173]
    assert "source 'digits', the Sign Language Digits photos 0-5" in capsys.readouterr().out
    assert entries(tmp_path) == [digits.DIGITS_CACHE]


def test_published_manifest_matches_the_documented_counts() -> None:
    tokens = digits.MANIFEST.read_text().split()
    paths = tokens[::2]
    assert paths == sorted(paths) and all(len(h) == 16 for h in tokens[1::2])
    counts = [sum(p.startswith(f"{d}/") for p in paths) for d in range(6)]
    assert counts == [205, 206, 206, 206, 207, 207] and len(paths) == 1237
    # Training and test sizes documented in load_dataset: 34 per digit for testing.
    assert sum(counts) - 6 * digits.TEST_PER_CLASS == 1033


def test_real_split_is_deterministic_and_keeps_students_together() -> None:
    labels = np.repeat(np.arange(6), 50)
    keys = np.tile(np.arange(50), 6)  # 50 students, each showing every digit
    train, test = digits.split(labels, keys)
    again = digits.split(labels, keys)
    np.testing.assert_array_equal(train, again[0])
    np.testing.assert_array_equal(test, again[1])
    assert np.bincount(labels[test]).tolist() == [34] * 6
    assert not set(keys[train]) & set(keys[test])
    assert sorted([*train, *test]) == list(range(300))
    with pytest.raises(DatasetError, match="digit 0: 30 photos, need more than 34"):
        digits.split(np.repeat(np.arange(6), 30), np.zeros(180, int))


def test_write_signs_files_refuses_an_existing_folder(tmp_path: Path) -> None:
    from resnet_course.signs_format import write_signs_files

    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "mine.txt").write_text("a user's file")
    x, y = np.zeros((2, 64, 64, 3), np.uint8), np.zeros(2, np.int64)
    with pytest.raises(OSError):
        write_signs_files(tmp_path / "cache", (x, y), (x, y), {})
    assert entries(tmp_path / "cache") == ["mine.txt"] and entries(tmp_path) == ["cache"]
    shutil.rmtree(tmp_path / "cache")
