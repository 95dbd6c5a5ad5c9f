"""Fixtures shared by the test files (the root conftest.py switches the offline guard on)."""

from __future__ import annotations

from pathlib import Path

import pytest

from resnet_course.data import load_dataset


@pytest.fixture(scope="module")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding the generated synthetic cache."""
    directory = tmp_path_factory.mktemp("synthetic")
    load_dataset(directory, verbose=False)
    return directory
