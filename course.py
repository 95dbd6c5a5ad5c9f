"""Set up and run the course on any machine, with or without `make`.

    python course.py lab      open the course in JupyterLab  (= make lab)
    python course.py test     run every test                 (= make test; extra arguments go to pytest;
                              installs requirements-teacher.txt first: nbgrader, for the round-trip test)
    python course.py check    the tests that execute no notebook (= make check: tests/ and the quality gates)
    python course.py setup    only create or refresh the environment
    python course.py colab    inside Google Colab: install only what Colab lacks (the notebooks' Colab cell runs it)

On Windows, where there is no `make`, use the Python launcher: `py -3.11 course.py lab`.
`make lab` and `make test` call this script, so every platform runs the same steps.

`setup` (part of `lab` and `test`) creates the virtual environment .venv/ with the
Python that runs this script, installs requirements.txt into it and the course
itself (`pip install -e .`, which makes `resnet_utils` importable from any
kernel), and reinstalls whenever requirements.txt or pyproject.toml change. The
installs are done by uv (which pip puts into .venv first), with pip as the
fallback where uv fails. It also looks for Graphviz's `dot` program (model
diagrams), installs it with apt-get when run as root on Debian/Ubuntu (while the
packages install), and otherwise says how to install it.

Only the standard library is used: this script runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP_NAME = ".installed-requirements"
TEACHER_STAMP_NAME = ".installed-teacher-requirements"
# Python versions every pinned package publishes wheels for (checked by tests/test_install.py).
SUPPORTED_PYTHONS = ((3, 11), (3, 12), (3, 13))
# TensorFlow with Keras 3 as tf.keras; older Colab images get the course's pinned version.
MIN_TENSORFLOW = (2, 16)
# uv installs the environment in a quarter of pip's time: requirements-teacher.txt into a new venv with cold
# caches took pip 120 s and uv 33 s (3.5 s to pip-install uv, 30 s with bytecode compiled as pip does) on a
# 2-core AMD EPYC (family 25, model 1), 2026-12-02. The same pin as requirements.txt (tests/test_install.py).
UV = "uv==0.13.8"
GRAPHVIZ_HINTS = {
    "win32": "winget install graphviz (or: choco install graphviz, conda install graphviz); "
    r"then make sure C:\Program Files\Graphviz\bin is on PATH and open a new terminal",
    "darwin": "brew install graphviz (or: conda install graphviz)",
    "linux": "sudo apt-get install graphviz (Debian/Ubuntu), sudo dnf install graphviz (Fedora), "
    "or conda install graphviz",
}


def venv_python(venv: Path = VENV, windows: bool = os.name == "nt") -> Path:
    """The interpreter of a virtual environment: Scripts\\python.exe on Windows, bin/python elsewhere."""
    return venv / "Scripts" / "python.exe" if windows else venv / "bin" / "python"


def unsupported_python(version: tuple[int, int]) -> str | None:
    """None for a supported Python, else the message that says what to use instead."""
    if version in SUPPORTED_PYTHONS:
        return None
    names = ", ".join(f"{major}.{minor}" for major, minor in SUPPORTED_PYTHONS)
    return (
        f"The course needs Python {names}; this is {version[0]}.{version[1]} ({sys.executable}). "
        "Run this script with one of those, e.g. `py -3.11 course.py lab` on Windows, "
        "`python3.11 course.py lab` (or `make lab PYTHON=python3.11`) elsewhere."
    )


def requirements_digest(root: Path = ROOT, names: tuple[str, ...] = ("requirements.txt", "pyproject.toml")) -> str:
    """What the environment was installed from: a hash of requirements.txt and pyproject.toml (or ``names``)."""
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    return digest.hexdigest()


def run(*command: str | Path) -> None:
    print("+", " ".join(str(part) for part in command), flush=True)
    subprocess.run([str(part) for part in command], check=True)


def ensure_venv(venv: Path = VENV, root: Path = ROOT) -> Path:
    """Create .venv when it is missing or broken, (re)install when the requirements changed; its python."""
    python = venv_python(venv)
    works = python.exists() and subprocess.run([str(python), "-c", ""], check=False).returncode == 0
    if not works:
        problem = unsupported_python(sys.version_info[:2])
        if problem:
            sys.exit(problem)
        if venv.exists():
            if not (venv / "pyvenv.cfg").exists():
                sys.exit(f"{venv} exists but is not a virtual environment; move it away and run again.")
            print(f"{venv.name}: broken, recreating it")
            shutil.rmtree(venv)
        run(sys.executable, "-m", "venv", venv)
    stamp = venv / STAMP_NAME
    wanted = requirements_digest(root)
    if stamp.exists() and stamp.read_text().strip() == wanted:
        print(f"{venv.name}: up to date with requirements.txt and pyproject.toml")
        return python
    install(python, "--requirement", root / "requirements.txt")
    # The course itself, editable: resnet_utils becomes importable from notebooks/, student/ and any kernel.
    install(python, "--no-deps", "--editable", root)
    _write_stamp(stamp, wanted)
    return python


def has_uv(python: Path) -> bool:
    """Whether uv runs in the environment of ``python`` (0.1 s; pip takes 3 s to say it is there)."""
    try:
        done = subprocess.run([str(python), "-m", "uv", "--version"], capture_output=True, check=False)
    except OSError:  # no such interpreter
        return False
    return done.returncode == 0


def install(python: Path, *arguments: str | Path) -> None:
    """`pip install ARGUMENTS` into the environment of ``python``, done by uv (pip installs UV there first
    when it is missing).
    Where uv fails, pip does it: uv does not read pip's configuration (a private index in pip.conf, say;
    UV_INDEX_URL tells uv)."""
    try:
        if not has_uv(python):
            run(python, "-m", "pip", "install", "--quiet", UV)
        run(python, "-m", "uv", "pip", "install", "--quiet", "--compile-bytecode", "--python", python, *arguments)
    except subprocess.CalledProcessError:
        print("uv failed (above); installing with pip instead", flush=True)
        run(python, "-m", "pip", "install", "--quiet", *arguments)


def _write_stamp(stamp: Path, digest: str) -> None:
    partial = stamp.with_suffix(".partial")
    partial.write_text(digest + "\n")
    partial.replace(stamp)


def ensure_teacher_tools(python: Path, venv: Path = VENV, root: Path = ROOT) -> None:
    """Install requirements-teacher.txt (nbgrader) into the environment when it changed: `test` needs it
    for the nbgrader round trip (tests/test_nbgrader.py); the learner's `lab` does not."""
    stamp = venv / TEACHER_STAMP_NAME
    wanted = requirements_digest(root, ("requirements.txt", "requirements-teacher.txt", "pyproject.toml"))
    if stamp.exists() and stamp.read_text().strip() == wanted:
        return
    install(python, "--requirement", root / "requirements-teacher.txt")
    _write_stamp(stamp, wanted)


def graphviz_hint(platform: str = sys.platform) -> str:
    """How to install Graphviz's `dot` program on this platform."""
    return GRAPHVIZ_HINTS.get(platform, GRAPHVIZ_HINTS["linux"])


def start_graphviz() -> subprocess.Popen[bytes] | None:
    """keras.utils.plot_model needs the `dot` program; without it notebooks run and skip the diagrams.
    As root on Debian/Ubuntu, start installing it with apt-get (its process, for ``finish_graphviz``);
    elsewhere say how to install it."""
    if shutil.which("dot"):
        return None
    if sys.platform == "linux" and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print("Installing graphviz (for model diagrams) with apt-get, in the background ...", flush=True)
        script = "apt-get update -qq && apt-get install -y -qq graphviz"
        return subprocess.Popen(
            ["sh", "-c", script],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    print(f"graphviz not found: notebooks run, model diagrams are skipped. Install it: {graphviz_hint()}.")
    return None


def finish_graphviz(apt: subprocess.Popen[bytes] | None) -> None:
    """Wait for ``start_graphviz``'s apt-get, and say when it failed."""
    if apt is not None and apt.wait() != 0:
        print("graphviz: apt-get install failed; notebooks run, model diagrams are skipped")


def major_minor(version: str) -> tuple[int, int]:
    """'2.19.0rc1' -> (2, 19)."""
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:
        raise ValueError(f"not a version: {version!r}")
    return int(match.group(1)), int(match.group(2))


def pinned_tensorflow(root: Path = ROOT) -> str:
    """`tensorflow==<the course's version>`: the full build, which uses Colab's GPU when there is one."""
    text = (root / "requirements.txt").read_text()
    match = re.search(r"^tensorflow(?:-cpu)?==([\w.]+)", text, re.MULTILINE)
    if match is None:
        raise ValueError(f"{root / 'requirements.txt'}: no `tensorflow==` or `tensorflow-cpu==` pin found")
    return f"tensorflow=={match.group(1)}"


def colab_install_command(installed_tensorflow: str | None, root: Path = ROOT) -> list[str]:
    """The pip command that adds to Colab only what it lacks.

    Colab's own TensorFlow is kept when it has Keras 3 (2.16 or newer); the
    course's other dependencies are [project] dependencies with lower bounds,
    so pip installs only those Colab has not got, or has too old.
    """
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--editable", str(root)]
    if installed_tensorflow is None or major_minor(installed_tensorflow) < MIN_TENSORFLOW:
        command.append(pinned_tensorflow(root))
    return command


def installed_version(distribution: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def colab() -> None:
    tensorflow = installed_version("tensorflow")
    print(f"Colab's TensorFlow: {tensorflow or 'none'}; installing what the course needs on top")
    run(*colab_install_command(tensorflow))


def _parallel() -> ModuleType:
    """tools/parallel.py (standard library only): how the tests share the cores. Imported when the tests run,
    so that `setup`, `lab` and `colab` need nothing but this file."""
    sys.path.insert(0, str(ROOT / "tools"))
    import parallel

    return parallel


def pytest_command(python: Path, command: str, extra: list[str], available: int) -> list[str]:
    """The pytest run of `test` (everything) or `check` (tests/ without the tests marked executes_notebooks),
    on pytest-xdist workers sharing ``available`` cores (tools/parallel.py); ``extra`` comes last, so that
    e.g. `-n 0` runs in one process."""
    selection = ["tests", "-m", "not executes_notebooks"] if command == "check" else []
    workers = _parallel().workers(available)
    distribute = ["-n", str(workers), "--dist", "loadscope"] if workers > 1 else []
    return [str(python), "-m", "pytest", *distribute, *selection, *extra]


def main(argv: list[str]) -> int:
    commands = ("lab", "test", "check", "setup", "colab")
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    command, extra = argv[0], argv[1:]
    if command == "colab":
        colab()
        return 0
    os.chdir(ROOT)
    os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    apt = start_graphviz()
    python = ensure_venv()
    finish_graphviz(apt)
    if command == "lab":
        root_flag = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        return subprocess.run([str(python), "-m", "jupyter", "lab", "--notebook-dir=.", *root_flag, *extra]).returncode
    if command in ("test", "check"):
        ensure_teacher_tools(python)
        return subprocess.run(pytest_command(python, command, extra, _parallel().cores())).returncode
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
