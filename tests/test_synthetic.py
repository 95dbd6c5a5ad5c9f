"""Tests for resnet_course.synthetic: the NumPy-only renderer, byte-identical on every machine."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from resnet_course.data import SYNTHETIC_SHA256
from resnet_course.synthetic import generate_signs, render_sign


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


def test_synthetic_set_is_byte_identical_in_fresh_processes() -> None:
    code = (
        "import hashlib\nfrom resnet_course.synthetic import generate_signs\n"
        "a = generate_signs(180, 0, 0); b = generate_signs(20, 0, 1)\n"
        "print(hashlib.sha256(b''.join(x.tobytes() for x in (*a, *b))).hexdigest())\n"
    )
    digests = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        for _ in range(2)
    }
    assert digests == {SYNTHETIC_SHA256}


def test_render_sign_is_deterministic_and_validates() -> None:
    a, b = render_sign(3, seed=1, size=96), render_sign(3, seed=1, size=96)
    assert a.shape == (96, 96, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    with pytest.raises(ValueError, match="found 6"):
        render_sign(6, seed=1)
