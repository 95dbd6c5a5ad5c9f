"""Write resnet_course/digits_manifest.txt and print DIGITS_SHA256 from a folder of Sign Language Digits photos.

Only needed if the shipped photos change (then bump DIGITS_CACHE and DIGITS_COMMIT too):

    .venv/bin/python tools/digits_manifest.py datasets/sign-language-digits

The folder holds one subfolder per digit, 0/ ... 5/ (upstream's Dataset/ folder
works too: its 6/ ... 9/ are skipped). ``load_dataset(source="digits")`` checks
the shipped photos against the committed manifest whenever it builds its cache.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from resnet_course.digits import MANIFEST, manifest_lines, photos_digest, read_photos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the photos: 0/ ... 5/ below it")
    photos = read_photos(parser.parse_args().folder)
    MANIFEST.write_text("\n".join(manifest_lines(photos)) + "\n")
    print(f"{MANIFEST}: {len(photos)} photos")
    print(f'DIGITS_SHA256 = "{photos_digest(photos)}"')


if __name__ == "__main__":
    main()
