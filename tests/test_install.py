"""The course installs on every learner's machine (course.py, requirements.txt, pyproject.toml).

Most tests run offline. Two need the package registry (marked below): resolving
requirements.txt for every supported platform and Python, and `pip install -e .`
in a fresh virtual environment. Without a reachable registry they are skipped,
except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

import course

REPO = Path(__file__).resolve().parents[1]
GUARD_DIR = REPO / "tests" / "offline"
# The platforms the README promises, as uv names them, and the TensorFlow distribution each gets.
PLATFORMS = {
    "Linux x86_64": ("x86_64-unknown-linux-gnu", "tensorflow-cpu"),
    "Linux aarch64": ("aarch64-unknown-linux-gnu", "tensorflow"),
    "macOS arm64": ("aarch64-apple-darwin", "tensorflow"),
    "Windows amd64": ("x86_64-pc-windows-msvc", "tensorflow-cpu"),
}
PYTHONS = [f"{major}.{minor}" for major, minor in course.SUPPORTED_PYTHONS]


def online_env() -> dict[str, str]:
    """The environment without the offline guard, for the registry tests' subprocesses."""
    env = {k: v for k, v in os.environ.items() if k != "COURSE_OFFLINE"}
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and Path(p) != GUARD_DIR]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def index_url() -> str:
    return os.environ.get("UV_INDEX_URL") or os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple/"


@pytest.fixture(scope="module")
def registry() -> None:
    """Skip (or, under CI=true, fail) when the package registry can't be reached."""
    probe = f"import urllib.request; urllib.request.urlopen({index_url()!r}, timeout=15).close()"
    done = subprocess.run([sys.executable, "-c", probe], env=online_env(), capture_output=True, text=True)
    if done.returncode != 0:
        reason = f"package registry {index_url()} not reachable: {done.stderr.strip().splitlines()[-1:]}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: this check must run, but the {reason}")
        pytest.skip(reason)


def test_online_env_drops_the_guard() -> None:
    env = online_env()
    assert "COURSE_OFFLINE" not in env and str(GUARD_DIR) not in env["PYTHONPATH"].split(os.pathsep)
    assert os.environ["COURSE_OFFLINE"] == "1", "the test process itself stays offline"
    with pytest.raises(OSError, match="offline guard"):
        urllib.request.urlopen(index_url(), timeout=5)


# --- Python versions ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", [(3, 10), (3, 11), (3, 12), (3, 13), (3, 14)])
def test_python_versions_agree_everywhere(version: tuple[int, int]) -> None:
    """course.py, pyproject's requires-python, the Makefile and the README name the same versions."""
    supported = version in course.SUPPORTED_PYTHONS
    with (REPO / "pyproject.toml").open("rb") as f:
        requires = SpecifierSet(tomllib.load(f)["project"]["requires-python"])
    assert (f"{version[0]}.{version[1]}" in requires) == supported
    message = course.unsupported_python(version)
    assert (message is None) == supported
    if message:
        assert "3.11, 3.12, 3.13" in message and f"this is {version[0]}.{version[1]}" in message
    assert "Supported: Python 3.11, 3.12 and 3.13" in (REPO / "Makefile").read_text()
    assert "Python 3.11, 3.12 or 3.13" in (REPO / "README.md").read_text()


# --- course.py: the path without make ----------------------------------------------------------


def test_venv_python_per_os(tmp_path: Path) -> None:
    assert course.venv_python(tmp_path, windows=True) == tmp_path / "Scripts" / "python.exe"
    assert course.venv_python(tmp_path, windows=False) == tmp_path / "bin" / "python"


def test_requirements_digest_follows_both_files(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("numpy==2.4.6\n")
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    before = course.requirements_digest(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    after_pyproject = course.requirements_digest(tmp_path)
    (tmp_path / "requirements.txt").write_text("numpy==2.4.5\n")
    assert len({before, after_pyproject, course.requirements_digest(tmp_path)}) == 3


def test_graphviz_hints_per_platform() -> None:
    assert "winget install graphviz" in course.graphviz_hint("win32")
    assert r"C:\Program Files\Graphviz\bin" in course.graphviz_hint("win32")
    assert "brew install graphviz" in course.graphviz_hint("darwin")
    assert "apt-get install graphviz" in course.graphviz_hint("linux")


def test_uv_is_pinned_as_in_requirements() -> None:
    assert course.UV in (REPO / "requirements.txt").read_text().splitlines()


def test_install_uses_uv_and_falls_back_to_pip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """uv installs; where it fails (a registry it can't reach, an index only pip.conf names), pip does."""
    python = tmp_path / "python"
    commands: list[list[str]] = []

    def run(*command: str | Path, uv_fails: bool) -> None:
        commands.append([str(part) for part in command])
        if uv_fails and "uv" in commands[-1]:
            raise subprocess.CalledProcessError(2, command)

    monkeypatch.setattr(course, "has_uv", lambda python: False)
    monkeypatch.setattr(course, "run", lambda *command: run(*command, uv_fails=False))
    course.install(python, "--requirement", "r.txt")
    uv_install = [str(python), "-m", "uv", "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python)]
    assert commands == [
        [str(python), "-m", "pip", "install", "--quiet", course.UV],
        [*uv_install, "--requirement", "r.txt"],
    ]
    commands.clear()
    monkeypatch.setattr(course, "run", lambda *command: run(*command, uv_fails=True))
    course.install(python, "--requirement", "r.txt")
    assert commands[-1] == [str(python), "-m", "pip", "install", "--quiet", "--requirement", "r.txt"], commands
    commands.clear()
    monkeypatch.setattr(course, "has_uv", lambda python: True)
    monkeypatch.setattr(course, "run", lambda *command: run(*command, uv_fails=False))
    course.install(python, "--no-deps", "--editable", ".")
    assert commands == [[*uv_install, "--no-deps", "--editable", "."]], "uv is there: no pip install of uv"


def test_has_uv(tmp_path: Path) -> None:
    assert course.has_uv(Path(sys.executable)), "make test's environment has uv (requirements.txt)"
    assert not course.has_uv(tmp_path / "missing" / "python")


def test_course_py_without_arguments_prints_its_usage() -> None:
    done = subprocess.run([sys.executable, str(REPO / "course.py")], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 2 and "py -3.11 course.py lab" in done.stdout


def test_course_py_setup_keeps_an_up_to_date_environment() -> None:
    """`make test` got here through course.py, so .venv is current: `setup` installs nothing, offline."""
    done = subprocess.run(
        [sys.executable, str(REPO / "course.py"), "setup"], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert ".venv: up to date with requirements.txt and pyproject.toml" in done.stdout, done.stdout


def test_make_only_calls_course_py() -> None:
    """Windows has no make: every step lives in course.py, which the Makefile calls."""
    recipes = [line.strip() for line in (REPO / "Makefile").read_text().splitlines() if line.startswith("\t")]
    assert {"$(PYTHON) course.py lab", "$(PYTHON) course.py test", "$(PYTHON) course.py check"} <= set(recipes)
    assert not any("pip" in line or "venv" in line for line in recipes), recipes


def test_make_test_uses_every_core_and_make_check_leaves_out_the_notebooks() -> None:
    python = Path("python")
    assert course.pytest_command(python, "test", [], 2) == ["python", "-m", "pytest", "-n", "2", "--dist", "loadscope"]
    check = course.pytest_command(python, "check", ["-x"], 2)
    assert check[3:] == ["-n", "2", "--dist", "loadscope", "tests", "-m", "not executes_notebooks", "-x"]
    assert course.pytest_command(python, "test", ["-n", "0"], 1) == ["python", "-m", "pytest", "-n", "0"]


def test_kernels_import_resnet_utils_from_the_editable_install() -> None:
    """No .pth written by hand and no PYTHONPATH: the editable install puts resnet_utils on every kernel's path."""
    code = "import importlib.util; print(importlib.util.find_spec('resnet_utils').origin)"
    env = {**os.environ, "PYTHONPATH": str(GUARD_DIR)}
    for folder in ("notebooks", "student"):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO / folder, env=env)
        assert done.stdout.strip() == str(REPO / "resnet_utils.py"), done.stdout + done.stderr


@pytest.mark.usefixtures("registry")
def test_fresh_venv_without_make(tmp_path: Path) -> None:
    """course.py's setup in a fresh folder: venv, requirements, `pip install -e .`, then a kernel in notebooks/.

    A copy of the project with the real pyproject.toml and an empty requirements.txt,
    so that the test exercises every step without downloading TensorFlow.
    """
    root = tmp_path / "course"
    (root / "notebooks").mkdir(parents=True)
    for name in ("pyproject.toml", "resnet_utils.py", "README.md", "LICENSE", "LICENSE-CONTENT", "course.py"):
        (root / name).write_bytes((REPO / name).read_bytes())
    shutil.copytree(REPO / "resnet_course", root / "resnet_course", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "requirements.txt").write_text("# nothing: the packages are not what this test is about\n")
    setup = [sys.executable, str(root / "course.py"), "setup"]
    # The first `setup` may install Graphviz (as root on Debian); stdin closed, no prompt.
    first = subprocess.run(setup, capture_output=True, text=True, env=online_env(), timeout=600, cwd=root)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "--editable" in first.stdout, first.stdout
    python = course.venv_python(root / ".venv")
    code = "import importlib.util as u; print(u.find_spec('resnet_utils').origin, u.find_spec('resnet_course').origin)"
    kernel = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=root / "notebooks")
    expected = f"{root / 'resnet_utils.py'} {root / 'resnet_course' / '__init__.py'}"
    assert kernel.stdout.strip() == expected, kernel.stdout + kernel.stderr
    again = subprocess.run(setup, capture_output=True, text=True, env=online_env(), timeout=600, cwd=root)
    assert "up to date" in again.stdout and "pip install" not in again.stdout, again.stdout


# --- every platform's wheels ---------------------------------------------------------------------


def missing_wheel(uv_error: str) -> str:
    """The package uv's resolver names as having no wheel for the target, or uv's first error line.
    uv wraps its message to the terminal's width (narrower in a pytest-xdist worker): read it unwrapped."""
    match = re.search(
        r"Because (\S+?)(?:\{[^}]*\})?==\S+ has no wheels with a matching (Python ABI|platform) tag",
        re.sub(r"\s+", " ", uv_error),
    )
    if match:
        return f"{match.group(1)} has no wheel with a matching {match.group(2)} tag"
    return next((line for line in uv_error.splitlines() if line.strip()), "uv failed without a message")


def resolve(target: str, python: str) -> subprocess.CompletedProcess[str]:
    """requirements.txt resolved by uv for a platform and Python version, with this interpreter: uv would
    otherwise look for, and try to download, an interpreter of that version (7-12 s each, failing offline;
    13 resolutions side by side took 71 s that way, 18 s this way, cold caches, 2-core AMD EPYC, 2026-12-02)."""
    command = ["pip", "compile", "--quiet", "--python-platform", target, "--python-version", python]
    command += ["--python", sys.executable, "--no-python-downloads"]
    command += ["--only-binary", ":all:", "--no-header", str(REPO / "requirements.txt")]
    return subprocess.run(
        [sys.executable, "-m", "uv", *command], capture_output=True, text=True, env=online_env(), timeout=300
    )


INTEL_MAC = ("x86_64-apple-darwin", "3.11")


@pytest.fixture(scope="module")
def resolutions(registry: None) -> dict[tuple[str, str], subprocess.CompletedProcess[str]]:
    """requirements.txt resolved for every (uv target, Python) the tests ask about, all at once: each
    resolution mostly waits for the registry, so they run side by side (one uv process each)."""
    targets = [(uv_target, python) for uv_target, _ in PLATFORMS.values() for python in PYTHONS] + [INTEL_MAC]
    with ThreadPoolExecutor(len(targets)) as pool:
        done = dict(zip(targets, pool.map(lambda target: resolve(*target), targets), strict=True))
    return done


def test_missing_wheel_names_the_package() -> None:
    error = (
        "  x No solution found when resolving dependencies:\n  cause: Because tensorflow-cpu{sys_platform == 'win32'}"
        "==2.21.0 has no wheels with a matching Python ABI tag (e.g., `cp314`) and you require ..."
    )
    assert missing_wheel(error) == "tensorflow-cpu has no wheel with a matching Python ABI tag"
    assert missing_wheel("error: Couldn't parse requirement\n") == "error: Couldn't parse requirement"
    wrapped = (
        "  cause: Because tensorflow{(platform_machine != 'x86_64' and sys_platform ==\n         'linux') or "
        "sys_platform == 'darwin'}==2.21.0 has no wheels with a\n         matching platform tag (e.g., `x86_64`)"
    )
    assert missing_wheel(wrapped) == "tensorflow has no wheel with a matching platform tag"


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("platform", list(PLATFORMS))
def test_requirements_resolve_for(
    platform: str, python: str, resolutions: dict[tuple[str, str], subprocess.CompletedProcess[str]]
) -> None:
    target, tensorflow = PLATFORMS[platform]
    done = resolutions[target, python]
    assert done.returncode == 0, f"{platform}, Python {python}: {missing_wheel(done.stderr)}\n{done.stderr}"
    version = course.pinned_tensorflow().removeprefix("tensorflow==")
    assert re.search(rf"^{tensorflow}=={re.escape(version)}$", done.stdout, re.MULTILINE), done.stdout


def test_intel_macs_are_unsupported_as_the_readme_says(
    resolutions: dict[tuple[str, str], subprocess.CompletedProcess[str]],
) -> None:
    done = resolutions[INTEL_MAC]
    assert done.returncode != 0
    assert missing_wheel(done.stderr) == "tensorflow has no wheel with a matching platform tag", done.stderr
