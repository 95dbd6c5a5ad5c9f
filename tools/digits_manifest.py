"""Write resnet_course/digits_manifest.txt and print DIGITS_SHA256 from a Sign Language Digits archive.

Only needed if the published data set changes (then bump DIGITS_CACHE too):

    .venv/bin/python tools/digits_manifest.py path/to/Sign-Language-Digits-Dataset-master.zip

To check a download against the committed manifest instead, load it:
``load_dataset(source="digits", archive=...)`` verifies every photo.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from resnet_course.digits import MANIFEST, manifest_lines, photos_digest, read_photos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", type=Path, help="GitHub's zip of the repository, or its extracted folder")
    photos = read_photos(parser.parse_args().archive)
    MANIFEST.write_text("\n".join(manifest_lines(photos)) + "\n")
    print(f"{MANIFEST}: {len(photos)} photos")
    print(f'DIGITS_SHA256 = "{photos_digest(photos)}"')


if __name__ == "__main__":
    main()
