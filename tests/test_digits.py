"""Tests for resnet_course.digits (through load_dataset(source="digits")): preparation from a small fake
archive built here, the cache, the split, the download (from a server on 127.0.0.1) and every error."""

from __future__ import annotations

import hashlib
import http.server
import io
import shutil
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from resnet_course import digits
from resnet_course.data import load_dataset
from resnet_course.signs_format import DatasetError

STUDENTS = 40  # 40 photos per digit: 34 for testing, 6 for training
PREFIX = "Sign-Language-Digits-Dataset-master"
DIGIT_FOLDERS = tuple(f"Dataset/{d}/" for d in range(6))


def photo(digit: int, student: int) -> bytes:
    """A tiny JPEG whose colour encodes the digit and the student."""
    image = Image.new("RGB", (10, 10), (digit * 25, student * 6, 128))
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


def fake_files(folders: range | list[str] = range(10)) -> dict[str, bytes]:
    """The fake data set: path below the archive's top folder -> bytes, in the published layout."""
    files = {"README.md": b"# Sign Language Digits Dataset\n", "LICENSE": b"Apache License 2.0\n"}
    for folder in map(str, folders):
        for student in range(STUDENTS):
            number = 1000 + 10 * student + (int(folder) if folder.isdigit() else 0)
            files[f"Dataset/{folder}/IMG_{number}.JPG"] = photo(int(folder) if folder.isdigit() else 0, student)
    return files


def write_zip(path: Path, files: dict[str, bytes], prefix: str = PREFIX) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(f"{prefix}/{name}", data)
    return path


@pytest.fixture
def published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Make the fake data set the "published" one: its manifest and digest replace the real ones."""
    files = fake_files()
    photos = {name[len("Dataset/") :]: data for name, data in files.items() if name.startswith(DIGIT_FOLDERS)}
    manifest = tmp_path / "manifest.txt"
    manifest.write_text("\n".join(digits.manifest_lines(photos)) + "\n")
    monkeypatch.setattr(digits, "MANIFEST", manifest)
    monkeypatch.setattr(digits, "DIGITS_SHA256", digits.photos_digest(photos))
    return files


@pytest.fixture
def archive(tmp_path: Path, published: dict[str, bytes]) -> Path:
    return write_zip(tmp_path / f"{PREFIX}.zip", published)


def entries(folder: Path) -> list[str]:
    """Everything in a folder, hidden entries included."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_prepares_shapes_counts_and_split(tmp_path: Path, archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x_train, y_train, x_test, y_test, classes = load_dataset(tmp_path / "data", source="digits", archive=archive)
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


def test_cache_is_reused_offline_and_archive_untouched(tmp_path: Path, archive: Path) -> None:
    before = (hashlib.sha256(archive.read_bytes()).hexdigest(), archive.stat().st_mtime_ns)
    first = load_dataset(tmp_path / "data", verbose=False, source="digits", archive=archive)
    assert entries(tmp_path / "data") == [digits.DIGITS_CACHE]
    assert entries(tmp_path / "data" / digits.DIGITS_CACHE) == ["test_signs.h5", "train_signs.h5"]
    archive.rename(tmp_path / "moved.zip")  # no archive, no network (the offline guard): the cache alone
    again = load_dataset(tmp_path / "data", verbose=False, source="digits")
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    moved = tmp_path / "moved.zip"
    assert (hashlib.sha256(moved.read_bytes()).hexdigest(), moved.stat().st_mtime_ns) == before


def test_extracted_folder_gives_the_same_data(tmp_path: Path, archive: Path) -> None:
    from_zip = load_dataset(tmp_path / "a", verbose=False, source="digits", archive=archive)
    with zipfile.ZipFile(archive) as z:
        z.extractall(tmp_path / "extracted")
    (tmp_path / "extracted" / PREFIX / "Dataset" / "2" / ".DS_Store").write_bytes(b"Finder")  # skipped
    for folder in (tmp_path / "extracted", tmp_path / "extracted" / PREFIX):
        target = tmp_path / folder.name
        again = load_dataset(target, verbose=False, source="digits", archive=folder)
        for a, b in zip(from_zip, again, strict=True):
            np.testing.assert_array_equal(a, b)


class _Archive(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(archive: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Serve the fake archive on 127.0.0.1 (the offline guard allows loopback) as DIGITS_URL."""
    _Archive.body = archive.read_bytes()
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Archive)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/master.zip"
    monkeypatch.setattr(digits, "DIGITS_URL", url)
    yield url
    httpd.shutdown()


def test_download_with_progress_bar(tmp_path: Path, server: str, capsys: pytest.CaptureFixture[str]) -> None:
    x_train = load_dataset(tmp_path / "data", source="digits")[0]
    assert x_train.shape[1:] == (64, 64, 3)
    out = capsys.readouterr().out
    size = len(_Archive.body) / 1e6
    assert f"downloading {server}" in out and f"[{'#' * 30}] {size:5.1f} of {size:.1f} MB" in out
    assert entries(tmp_path / "data") == [digits.DIGITS_CACHE]  # the download was deleted


def test_no_network_and_no_archive(tmp_path: Path, published: dict[str, bytes]) -> None:
    with pytest.raises(DatasetError) as err:
        load_dataset(tmp_path / "data", source="digits")
    message = str(err.value)
    assert digits.DIGITS_URL in message and "archive=" in message and "source='synthetic'" in message
    assert "offline guard" in message  # the cause, as the network layer said it
    assert entries(tmp_path / "data") == []


def test_not_a_zip_truncated_zip(tmp_path: Path, archive: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"<html>404: Not Found</html>")
    with pytest.raises(DatasetError, match=r"junk\.zip: not a readable zip archive"):
        load_dataset(tmp_path / "data", source="digits", archive=junk)
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(DatasetError, match=r"truncated\.zip: not a readable zip archive"):
        load_dataset(tmp_path / "data", source="digits", archive=truncated)
    assert entries(tmp_path / "data") == []


def test_zip_with_a_damaged_member(tmp_path: Path, archive: Path) -> None:
    data = bytearray(archive.read_bytes())
    member = data.find(b"JFIF", data.find(b"Dataset/3/"))  # inside the first stored photo of digit 3
    data[member : member + 4] = b"XXXX"
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=r"damaged\.zip: not a readable zip archive.*CRC"):
        load_dataset(tmp_path / "data", source="digits", archive=damaged)


def test_zip_of_another_repository(tmp_path: Path, published: dict[str, bytes]) -> None:
    other = write_zip(tmp_path / "other.zip", {"README.md": b"# cats\n", "images/cat.jpg": photo(0, 0)}, "cats-main")
    with pytest.raises(DatasetError, match=r"other\.zip: not the Sign Language Digits archive.*found \['cats-main/'\]"):
        load_dataset(tmp_path / "data", source="digits", archive=other)
    (tmp_path / "folder").mkdir()
    with pytest.raises(DatasetError, match=r"folder: not the Sign Language Digits archive"):
        load_dataset(tmp_path / "data", source="digits", archive=tmp_path / "folder")
    with pytest.raises(DatasetError, match=r"nothing\.zip: no such file or folder"):
        load_dataset(tmp_path / "data", source="digits", archive=tmp_path / "nothing.zip")


@pytest.mark.parametrize(
    ("folders", "message"),
    [
        (["0", "1", "2", "3", "4", "5", "6", "8", "9"], r"missing \['7'\], unexpected \[\]"),
        ([*map(str, range(10)), "10"], r"missing \[\], unexpected \['10'\]"),
        (["0", "1", "2", "3", "4", "6", "7", "8", "9", "five"], r"missing \['5'\], unexpected \['five'\]"),
    ],
)
def test_missing_or_extra_class_folders(
    tmp_path: Path, published: dict[str, bytes], folders: list[str], message: str
) -> None:
    bad = write_zip(tmp_path / "bad.zip", fake_files(folders))
    with pytest.raises(DatasetError, match=r"bad\.zip: Dataset/ should hold the class folders 0 \.\.\. 9.*" + message):
        load_dataset(tmp_path / "data", source="digits", archive=bad)
    assert entries(tmp_path / "data") == []


def _changed(files: dict[str, bytes], change: str) -> dict[str, bytes]:
    files = dict(files)
    if change == "different bytes":
        files["Dataset/3/IMG_1053.JPG"] = photo(4, 5)
    elif change == "missing":
        del files["Dataset/3/IMG_1053.JPG"]
    else:
        files["Dataset/3/IMG_1054.JPG"] = photo(3, 5)
    return files


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("different bytes", r"first difference: Dataset/3/IMG_1053\.JPG has different bytes"),
        ("missing", r"\(239 photos of 0-5 found, 240 expected\); first difference: Dataset/3/IMG_1053\.JPG is missing"),
        ("extra", r"first difference: Dataset/3/IMG_1054\.JPG is not in the published data set"),
    ],
)
def test_digest_mismatch_names_the_first_differing_photo(
    tmp_path: Path, published: dict[str, bytes], change: str, message: str
) -> None:
    bad = write_zip(tmp_path / "bad.zip", _changed(published, change))
    with pytest.raises(DatasetError, match=r"bad\.zip: the photos differ from the published .*" + message):
        load_dataset(tmp_path / "data", source="digits", archive=bad)
    assert entries(tmp_path / "data") == []


def test_overall_digest_is_checked(tmp_path: Path, archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digits, "DIGITS_SHA256", "0" * 64)
    with pytest.raises(DatasetError, match=r"the photos' sha256 differs from the published data set's 0000"):
        load_dataset(tmp_path / "data", source="digits", archive=archive)


def test_nothing_half_written_when_writing_fails(
    tmp_path: Path, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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
        load_dataset(tmp_path / "data", source="digits", archive=archive)
    assert entries(tmp_path / "data") == []
    monkeypatch.undo()


def test_damaged_cache_names_the_file_and_the_remedy(tmp_path: Path, archive: Path) -> None:
    load_dataset(tmp_path / "data", verbose=False, source="digits", archive=archive)
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
