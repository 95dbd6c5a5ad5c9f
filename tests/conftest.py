"""Fixtures shared by the test files (the root conftest.py switches the offline guard on)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from resnet_course.data import load_dataset


@pytest.fixture(scope="module")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding the generated synthetic cache."""
    directory = tmp_path_factory.mktemp("synthetic")
    load_dataset(directory, verbose=False, source="synthetic")
    return directory


MutantRun = Callable[[Callable[[Any], str], dict[str, tuple[str, Any]]], str]


@pytest.fixture
def run_mutants(capsys: pytest.CaptureFixture[str]) -> MutantRun:
    """Feed a check its mutants ``{label: (expected hint key, wrong implementation)}``; each must get its
    own hint and none a traceback. Prints "N/N mutants caught with the right hint"; returns the hints printed."""

    def run(check: Callable[[Any], str], mutants: dict[str, tuple[str, Any]]) -> str:
        got = {label: check(mutant) for label, (_, mutant) in mutants.items()}
        out = capsys.readouterr().out
        wrong = {
            label: f"expected {mutants[label][0]}, got {key}" for label, key in got.items() if key != mutants[label][0]
        }
        with capsys.disabled():
            print(f"\n{check.__name__}: {len(mutants) - len(wrong)}/{len(mutants)} mutants caught with the right hint")
        assert not wrong, f"mutants given the wrong hint: {wrong}\n{out}"
        assert "Traceback" not in out
        return out

    return run


SecondConfiguration = Callable[[Callable[[Any], str], Any, str, str], None]


@pytest.fixture
def caught_later(capsys: pytest.CaptureFixture[str]) -> SecondConfiguration:
    """Feed a check a wrong answer that is right on its first configuration: the check must return ``key``
    and its hint must name ``later_call``, the later call that caught it."""

    def run(check: Callable[[Any], str], mutant: Any, key: str, later_call: str) -> None:
        assert check(mutant) == key
        out = capsys.readouterr().out
        assert later_call in out, out

    return run
