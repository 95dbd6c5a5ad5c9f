"""Sign Language Digits: real photos of hands, prepared once as a SIGNS source.

Lessons: every lesson, through ``load_dataset(source="digits")``
(``resnet_course/data.py``).

The photos: the Sign Language Digits data set by students of Ayrancı Anadolu
High School, Ankara (218 students, 100x100 RGB JPEGs of hands showing the
digits 0-9, Apache-2.0), published at ``DIGITS_REPOSITORY``. The digits 0-5
make a six-class task like SIGNS. ``prepare_digits`` takes GitHub's archive of
the repository (downloaded only when asked, or a local copy: the zip or its
extracted folder), checks every 0-5 image against the manifest committed
beside this file, converts them to 64x64 RGB uint8 by box (area) resampling,
splits them and caches them in the original course's HDF5 format, so that
every later call reads two small files and never touches the network.

The split: ``TEST_PER_CLASS`` photos of each digit for testing, the rest
(171-173 per digit) for training. The photos are numbered as they were taken,
one student after another, each showing 0, 1, 2, ... in turn; the split keeps
each student's photos together as far as the numbering shows (key: photo number
minus digit), so the test set mostly holds hands the network never saw.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import sys
import tempfile
import urllib.request
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from resnet_course.constants import IMAGE_SHAPE, NUM_CLASSES
from resnet_course.signs_format import DatasetError, write_signs_files

DIGITS_REPOSITORY = "https://github.com/ardamavi/Sign-Language-Digits-Dataset"


DIGITS_URL = f"{DIGITS_REPOSITORY}/archive/refs/heads/master.zip"


# The size in bytes of `git archive --format=zip` of the repository's master; GitHub builds its
# zip on request, so the download's size may differ a little (it is shown while downloading).
DIGITS_ARCHIVE_BYTES = 17_231_669


# The cache folder in datasets/; a new split or conversion gets a new version.
DIGITS_CACHE = "sign_language_digits_v1"


TEST_PER_CLASS = 34


# sha256 over the 1,237 photos of digits 0-5, sorted by path ("0/IMG_1118.JPG", ...):
# for each, the path in UTF-8, a zero byte, the length as 8 bytes big-endian, the bytes.
DIGITS_SHA256 = "854d58a64f2304c3024ee7493bf06343466fc7089f4763682cbad11fe2c3b0d5"


# One line per photo: its path below Dataset/ and the first 16 hex digits of its sha256
# (written by tools/digits_manifest.py); it names the first photo that differs.
MANIFEST = Path(__file__).with_name("digits_manifest.txt")


ALL_DIGITS = tuple(str(d) for d in range(10))


_PHOTO = re.compile(r"IMG_(\d+)\.JPG")


def read_photos(archive: Path) -> dict[str, bytes]:
    """The photos of digits 0-5 in ``archive`` (GitHub's zip or its extracted folder), by path below ``Dataset/``.

    Hidden files (``.DS_Store``, ``__MACOSX/``) are skipped. Raises
    ``DatasetError`` for an unreadable zip, a zip or folder without the data
    set's ``Dataset/0`` ... ``Dataset/9`` layout, and missing or extra class folders.
    """
    if archive.is_dir():
        folders, photos = _folder_photos(archive)
    elif archive.is_file():
        folders, photos = _zip_photos(archive)
    else:
        raise DatasetError(f"{archive}: no such file or folder (expected GitHub's zip of {DIGITS_REPOSITORY})")
    missing, extra = sorted(set(ALL_DIGITS) - folders), sorted(folders - set(ALL_DIGITS))
    if missing or extra:
        raise DatasetError(
            f"{archive}: Dataset/ should hold the class folders 0 ... 9, "
            f"found {sorted(folders)} (missing {missing}, unexpected {extra})"
        )
    return photos


def _wanted(path: str) -> bool:
    """A photo of digits 0-5 (``"3/IMG_1121.JPG"``), not a hidden file."""
    parts = path.split("/")
    return len(parts) == 2 and parts[0] in ALL_DIGITS[:NUM_CLASSES] and not parts[1].startswith(".")


def _not_the_data_set(archive: Path, found: list[str]) -> DatasetError:
    return DatasetError(
        f"{archive}: not the Sign Language Digits archive: expected <folder>/Dataset/0 ... 9/*.JPG "
        f"(as in {DIGITS_URL}), found {found[:5]}"
    )


def _zip_photos(archive: Path) -> tuple[set[str], dict[str, bytes]]:
    try:
        with zipfile.ZipFile(archive) as z:
            names = [n for n in z.namelist() if not n.endswith("/") and "__MACOSX" not in n]
            prefixes = {n.split("/Dataset/")[0] for n in names if re.fullmatch(r"[^/]+/Dataset/[^/]+/[^/]+", n)}
            if len(prefixes) != 1:
                raise _not_the_data_set(archive, sorted({n.split("/")[0] + "/" for n in names}))
            start = f"{prefixes.pop()}/Dataset/"
            paths = [n[len(start) :] for n in names if n.startswith(start)]
            photos = {path: z.read(start + path) for path in sorted(paths) if _wanted(path)}
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
        raise DatasetError(f"{archive}: not a readable zip archive (truncated or corrupt?): {err}") from err
    return {path.split("/")[0] for path in paths if "/" in path}, photos


def _folder_photos(folder: Path) -> tuple[set[str], dict[str, bytes]]:
    roots = [folder / "Dataset", *(child / "Dataset" for child in sorted(folder.iterdir()) if child.is_dir())]
    root = next((r for r in roots if r.is_dir()), None)
    if root is None:
        raise _not_the_data_set(folder, sorted(p.name for p in folder.iterdir()))
    paths = [p.relative_to(root).as_posix() for p in root.glob("*/*") if p.is_file()]
    folders = {d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")}
    return folders, {path: (root / path).read_bytes() for path in sorted(paths) if _wanted(path)}


def manifest_lines(photos: dict[str, bytes]) -> list[str]:
    """One ``path short-sha256`` line per photo, sorted by path: the format of ``MANIFEST``."""
    return [f"{path} {hashlib.sha256(data).hexdigest()[:16]}" for path, data in sorted(photos.items())]


def photos_digest(photos: dict[str, bytes]) -> str:
    """sha256 over the sorted paths and bytes of the photos (the definition above ``DIGITS_SHA256``)."""
    digest = hashlib.sha256()
    for path, data in sorted(photos.items()):
        digest.update(path.encode() + b"\0" + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def verify_photos(archive: Path, photos: dict[str, bytes], manifest: list[str], sha256: str) -> None:
    """Raise ``DatasetError`` naming the first photo that is missing, extra or different; then check ``sha256``.

    ``manifest`` is the manifest's whitespace-separated tokens: path, short hash, path, short hash, ...
    """
    expected = dict(zip(manifest[::2], manifest[1::2], strict=True))
    found = dict(line.split() for line in manifest_lines(photos))
    for path in sorted(expected.keys() | found.keys()):
        if expected.get(path) != found.get(path):
            what = (
                "is missing"
                if path not in found
                else "is not in the published data set"
                if path not in expected
                else "has different bytes"
            )
            raise DatasetError(
                f"{archive}: the photos differ from the published Sign Language Digits data set "
                f"({len(found)} photos of 0-5 found, {len(expected)} expected); first difference: Dataset/{path} {what}"
            )
    if photos_digest(photos) != sha256:
        raise DatasetError(f"{archive}: the photos' sha256 differs from the published data set's {sha256}")


def convert(photos: dict[str, bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode every photo, resize it to 64x64 RGB uint8 by box resampling; return images, labels, split keys."""
    images, labels, keys = [], [], []
    for path, data in sorted(photos.items()):
        digit, name = path.split("/")
        try:
            with Image.open(io.BytesIO(data)) as image:
                small = image.convert("RGB").resize(IMAGE_SHAPE[:2], Image.Resampling.BOX)
        except (OSError, ValueError) as err:
            raise DatasetError(f"Dataset/{path}: not a readable image: {err}") from err
        images.append(np.asarray(small, dtype=np.uint8))
        labels.append(int(digit))
        number = _PHOTO.fullmatch(name)
        keys.append(int(number.group(1)) - int(digit) if number else -1)
    return np.stack(images), np.array(labels, dtype=np.int64), np.array(keys)


def split(labels: np.ndarray, keys: np.ndarray, test_per_class: int = TEST_PER_CLASS) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and test photos: stratified, deterministic, a student's photos kept together.

    The students (split keys) are put in a random order with a fixed seed;
    each digit's first ``test_per_class`` photos in that order go to the test
    set. Both index arrays come in a fixed shuffled order, so that the
    first images of a set show mixed digits.
    """
    students = np.unique(keys)
    rank = dict(zip(students.tolist(), np.random.RandomState(0).permutation(len(students)).tolist(), strict=True))
    test = []
    for c in range(NUM_CLASSES):
        members = np.flatnonzero(labels == c)
        if len(members) <= test_per_class:
            raise DatasetError(f"digit {c}: {len(members)} photos, need more than {test_per_class} to split")
        ordered = sorted(members.tolist(), key=lambda i: (rank[int(keys[i])], i))
        test += ordered[:test_per_class]
    train = np.setdiff1d(np.arange(len(labels)), test)
    rng = np.random.RandomState(1)
    return rng.permutation(train), rng.permutation(np.array(sorted(test)))


def download(url: str, destination: Path) -> None:
    """Download ``url`` to ``destination`` with a progress bar; ``DatasetError`` with the ways out if it fails."""
    print(f"downloading {url} (about {DIGITS_ARCHIVE_BYTES / 1e6:.0f} MB)")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, destination.open("wb") as out:
            total, done = int(response.headers.get("Content-Length") or 0), 0
            while chunk := response.read(1 << 16):
                out.write(chunk)
                done += len(chunk)
                share = done / total if total else 0.0
                bar = "#" * int(30 * share) + "." * (30 - int(30 * share))
                size = f"{done / 1e6:5.1f} of {total / 1e6:.1f} MB" if total else f"{done / 1e6:5.1f} MB"
                print(f"\r[{bar}] {size}", end="", file=sys.stdout, flush=True)
        print()
    except OSError as err:
        raise DatasetError(
            f"could not download the Sign Language Digits photos from {url}: {err}. Without internet, download "
            "that zip on another machine and pass it: load_dataset(source='digits', archive='path/to/the.zip') "
            "(or its extracted folder); or use the course's own photos-free set: load_dataset(source='synthetic')."
        ) from err


def prepare_digits(cache: Path, archive: Path | None = None) -> None:
    """Build the cache folder ``cache`` (``train_signs.h5``, ``test_signs.h5``) from ``archive``, or from a download.

    ``archive`` is only read. A download of ``DIGITS_URL`` goes to a
    temporary folder in ``cache``'s parent, deleted afterwards; the photos
    must match ``MANIFEST`` and ``DIGITS_SHA256``.
    """
    cache.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".digits-download.", dir=cache.parent))
    try:
        if archive is None:
            archive = scratch / "Sign-Language-Digits-Dataset-master.zip"
            download(DIGITS_URL, archive)
        photos = read_photos(archive)
        verify_photos(archive, photos, MANIFEST.read_text().split(), DIGITS_SHA256)
        images, labels, keys = convert(photos)
    finally:
        shutil.rmtree(scratch)
    train, test = split(labels, keys)
    attrs = {"source": DIGITS_REPOSITORY, "licence": "Apache-2.0", "sha256_of_photos": DIGITS_SHA256}
    write_signs_files(cache, (images[train], labels[train]), (images[test], labels[test]), attrs)
