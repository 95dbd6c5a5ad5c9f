"""Sign Language Digits: real photos of hands, shipped with the course and prepared once as a SIGNS source.

Lessons: every lesson, through ``load_dataset()`` (``resnet_course/data.py``):
the photos are the default source.

The photos: the Sign Language Digits data set by students of Ayrancı Anadolu
High School, Ankara (218 students, 100x100 RGB JPEGs of hands showing the
digits 0-9, Apache-2.0), published at ``DIGITS_REPOSITORY``. The digits 0-5
make a six-class task like SIGNS; their 1,237 photos are committed,
byte-identical to upstream, in ``PHOTOS_DIR`` (``datasets/sign-language-digits/``,
with the licence). ``prepare_digits`` checks every photo against the manifest
committed beside this file, converts them to 64x64 RGB uint8 by box (area)
resampling, splits them and caches them in the original course's HDF5 format,
so that every later call reads two small files.

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
from pathlib import Path

import numpy as np
from PIL import Image

from resnet_course.constants import DATASETS_DIR, IMAGE_SHAPE, NUM_CLASSES
from resnet_course.signs_format import DatasetError, write_signs_files

DIGITS_REPOSITORY = "https://github.com/ardamavi/Sign-Language-Digits-Dataset"


# The upstream commit the shipped photos were copied from (git archive of Dataset/0 ... Dataset/5).
DIGITS_COMMIT = "4b09433ef9d5c60602e8805bb54b8aa2428527f8"


# The shipped photos: one folder per digit, 0/ ... 5/, the files as published, and upstream's LICENSE.
PHOTOS_DIR = DATASETS_DIR / "sign-language-digits"


# The cache folder in datasets/; a new split or conversion gets a new version.
DIGITS_CACHE = "sign_language_digits_v1"


TEST_PER_CLASS = 34


# sha256 over the 1,237 photos of digits 0-5, sorted by path ("0/IMG_1118.JPG", ...):
# for each, the path in UTF-8, a zero byte, the length as 8 bytes big-endian, the bytes.
DIGITS_SHA256 = "854d58a64f2304c3024ee7493bf06343466fc7089f4763682cbad11fe2c3b0d5"


# One line per photo: its path below PHOTOS_DIR (upstream: below Dataset/) and the first 16 hex digits of its sha256
# (written by tools/digits_manifest.py); it names the first photo that differs.
MANIFEST = Path(__file__).with_name("digits_manifest.txt")


DIGITS = tuple(str(d) for d in range(NUM_CLASSES))


_PHOTO = re.compile(r"IMG_(\d+)\.JPG")


def read_photos(folder: Path) -> dict[str, bytes]:
    """The photos of digits 0-5 in ``folder`` (its subfolders ``0`` ... ``5``), by path (``"3/IMG_1121.JPG"``).

    Hidden files (``.DS_Store``) are skipped, and so is anything outside the six
    digit folders (upstream's ``6`` ... ``9``, a licence, a README). Raises
    ``DatasetError`` naming the folder when it or one of the digit folders is missing.
    """
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such folder (expected the Sign Language Digits photos, 0/ ... 5/)")
    missing = [d for d in DIGITS if not (folder / d).is_dir()]
    if missing:
        found = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
        raise DatasetError(
            f"{folder}: expected the class folders 0 ... 5 of the Sign Language Digits photos, "
            f"found {found} (missing {missing})"
        )
    paths = [f"{d}/{p.name}" for d in DIGITS for p in (folder / d).iterdir() if p.is_file()]
    return {path: (folder / path).read_bytes() for path in sorted(paths) if not path.split("/")[1].startswith(".")}


def manifest_lines(photos: dict[str, bytes]) -> list[str]:
    """One ``path short-sha256`` line per photo, sorted by path: the format of ``MANIFEST``."""
    return [f"{path} {hashlib.sha256(data).hexdigest()[:16]}" for path, data in sorted(photos.items())]


def photos_digest(photos: dict[str, bytes]) -> str:
    """sha256 over the sorted paths and bytes of the photos (the definition above ``DIGITS_SHA256``)."""
    digest = hashlib.sha256()
    for path, data in sorted(photos.items()):
        digest.update(path.encode() + b"\0" + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def verify_photos(folder: Path, photos: dict[str, bytes], manifest: list[str], sha256: str) -> None:
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
                f"{folder}: the photos differ from the published Sign Language Digits data set "
                f"({len(found)} photos of 0-5 found, {len(expected)} expected); first difference: {path} {what}"
            )
    if photos_digest(photos) != sha256:
        raise DatasetError(f"{folder}: the photos' sha256 differs from the published data set's {sha256}")


def convert(photos: dict[str, bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode every photo, resize it to 64x64 RGB uint8 by box resampling; return images, labels, split keys."""
    images, labels, keys = [], [], []
    for path, data in sorted(photos.items()):
        digit, name = path.split("/")
        try:
            with Image.open(io.BytesIO(data)) as image:
                small = image.convert("RGB").resize(IMAGE_SHAPE[:2], Image.Resampling.BOX)
        except (OSError, ValueError) as err:
            raise DatasetError(f"photo {path}: not a readable image: {err}") from err
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


def prepare_digits(cache: Path, photos_dir: Path | None = None) -> None:
    """Build the cache folder ``cache`` (``train_signs.h5``, ``test_signs.h5``) from the photos in ``photos_dir``.

    ``photos_dir`` (default ``PHOTOS_DIR``) is only read; its photos must
    match ``MANIFEST`` and ``DIGITS_SHA256``. The cache appears whole or not
    at all; when another process (a second notebook, a test worker) wrote it
    meanwhile, that one is kept.
    """
    folder = PHOTOS_DIR if photos_dir is None else photos_dir
    photos = read_photos(folder)
    verify_photos(folder, photos, MANIFEST.read_text().split(), DIGITS_SHA256)
    images, labels, keys = convert(photos)
    train, test = split(labels, keys)
    attrs = {
        "source": DIGITS_REPOSITORY,
        "upstream_commit": DIGITS_COMMIT,
        "licence": "Apache-2.0",
        "sha256_of_photos": DIGITS_SHA256,
    }
    try:
        write_signs_files(cache, (images[train], labels[train]), (images[test], labels[test]), attrs)
    except OSError:
        if not cache.is_dir():
            raise
