"""Quality gates run by `make test`: lint, formatting, types, clean notebooks,
links, and the offline guard. Each gate also has a test proving that it fails
on the kind of mistake it exists for."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import run_on_source  # noqa: E402  (tools/run_on_source.py)

import notebooks as nbtool  # noqa: E402  (tools/notebooks.py)


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_ruff_lint() -> None:
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = run("ruff", "format", "--check", ".")
    assert result.returncode == 0, "run `.venv/bin/ruff format .`\n" + result.stdout + result.stderr


def test_mypy() -> None:
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_catches_a_lint_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\n\ndef f(x):\n    return undefined_name\n")
    result = run("ruff", "check", "--config", str(REPO / "pyproject.toml"), str(bad))
    assert result.returncode == 1 and "F401" in result.stdout and "F821" in result.stdout


def test_mypy_catches_a_type_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f(x: int) -> str:\n    return x\n")
    result = run("mypy", "--config-file", str(REPO / "pyproject.toml"), str(bad))
    assert result.returncode == 1 and "Incompatible return value" in result.stdout


def test_notebooks_are_clean_and_links_resolve() -> None:
    found = nbtool.check(sorted((REPO / "notebooks").glob("*.ipynb")) + sorted((REPO / "student").glob("*.ipynb")))
    assert not found, "run `.venv/bin/python tools/notebooks.py clean`, or fix:\n" + "\n".join(found)


def clean_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("print(1)", execution_count=1)]
    )
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nb.metadata = {"kernelspec": nbtool.KERNELSPEC, "language_info": nbtool.LANGUAGE_INFO}
    return nb


def test_notebooks_execute_with_the_threads_of_a_test_worker() -> None:
    """One notebook or all: the stored outputs come from the thread count `make test` runs them with."""
    assert nbtool.execution_env(2) == {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    assert nbtool.execution_env(16) == nbtool.parallel.thread_env(nbtool.parallel.workers(16), 16)


def test_the_clean_fixture_is_clean() -> None:
    assert nbtool.problems(clean_notebook()) == []


@pytest.mark.parametrize(
    ("dirt", "message"),
    [
        ("widgets", "notebook metadata ['widgets']"),
        ("colab", "notebook metadata ['colab']"),
        ("kernel", "kernelspec"),
        ("cell_metadata", "metadata ['execution']"),
        ("whitespace", "trailing whitespace"),
        ("unexecuted", "not executed"),
        ("error", "error output ValueError"),
        ("tf_log", "TensorFlow log line"),
        ("progress", "progress-bar redraws"),
    ],
)
def test_dirty_notebooks_are_caught(dirt: str, message: str) -> None:
    nb = clean_notebook()
    code = nb.cells[1]
    if dirt == "widgets":
        nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    elif dirt == "colab":
        nb.metadata["colab"] = {"provenance": []}
    elif dirt == "kernel":
        nb.metadata["kernelspec"] = {"name": "my-env", "display_name": "my env", "language": "python"}
    elif dirt == "cell_metadata":
        code.metadata["execution"] = {"iopub.status.busy": "2026-01-01"}
    elif dirt == "whitespace":
        code.source = "print(1)  \nprint(2)"
    elif dirt == "unexecuted":
        code.execution_count = None
    elif dirt == "error":
        code.outputs.append(nbformat.v4.new_output("error", ename="ValueError", evalue="bad", traceback=[]))
    elif dirt == "tf_log":
        line = "I0000 00:00:1764000000.123456   4242 cpu_feature_guard.cc:210] This TensorFlow binary is optimized\n"
        code.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=line))
    elif dirt == "progress":
        code.outputs[0].text = "1/34 [....]\r34/34 [====]\n"
    found = nbtool.problems(nbformat.reads(json.dumps(nb), as_version=4))
    assert len(found) == 1 and message in found[0], found


def test_clean_fixes_what_it_can() -> None:
    nb = clean_notebook()
    nb.metadata["widgets"] = {}
    nb.cells[1].metadata["execution"] = {}
    nb.cells[1].source = "print(1)   "
    nb.cells[1].outputs[0].text = "1/34 [....]\r34/34 [====]\n"
    cleaned = nbtool.clean(nb)
    assert nbtool.problems(cleaned) == []
    assert cleaned.cells[1].outputs[0].text == "34/34 [====]\n"


def test_broken_links_are_caught(tmp_path: Path) -> None:
    readme = REPO / "README.md"
    text = 'See [the data](datasets/README.md), ![fig](images/missing.png), <img src="nope.png">, [web](https://x.org).'
    found = nbtool.broken_links(readme, text)
    assert found == ["README.md: broken link 'images/missing.png'", "README.md: broken link 'nope.png'"]


def test_links_to_missing_headings_and_sections_named_that_do_not_exist_are_caught() -> None:
    """A document that loses a section must not leave links and references to it (issue #31)."""
    readme = REPO / "README.md"
    text = (
        "# Top\n\n## The recipe: 95 % in 9 epochs (issue #18)\n\n```\n## not a heading\n```\n"
        "[ok](#the-recipe-95--in-9-epochs-issue-18), [gone](#the-synthetic-set-next-to-nothing), "
        "[code](#not-a-heading), [other](CONTRIBUTING.md#no-such-heading)\n"
        "See the README's *Speed and the recipe* section, the README's *No such thing* section, and "
        'CONTRIBUTING.md, "Nowhere".'
    )
    assert nbtool.anchors(text) == {"top", "the-recipe-95--in-9-epochs-issue-18"}
    found = nbtool.broken_links(readme, text)
    assert found == [
        "README.md: link '#the-synthetic-set-next-to-nothing' to a heading that does not exist",
        "README.md: link '#not-a-heading' to a heading that does not exist",
        "README.md: link 'CONTRIBUTING.md#no-such-heading' to a heading that does not exist",
        "README.md: names a section 'No such thing' that README.md does not have",
        "README.md: names a section 'Nowhere' that CONTRIBUTING.md does not have",
    ], found


def test_offline_guard_refuses_outside_connections() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with sock, pytest.raises(OSError, match="offline guard"):
        sock.connect(("93.184.215.14", 80))
    with pytest.raises(OSError, match="offline guard"):
        socket.create_connection(("example.com", 443), timeout=5)


def test_offline_guard_allows_loopback() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass


def test_offline_guard_reaches_subprocesses_and_kernels() -> None:
    """Kernels and subprocesses get the guard through PYTHONPATH (see conftest.py)."""
    code = (
        "import urllib.request\ntry:\n    urllib.request.urlopen('https://example.com', timeout=5)\n"
        "except OSError as e:\n    print(e)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "offline guard: name lookup of 'example.com' refused" in result.stdout, result.stdout + result.stderr


def test_keras_download_fails_loudly() -> None:
    """The kind of hidden download the guard exists for: pretrained weights."""
    code = (
        "import keras\ntry:\n    keras.applications.ResNet50(weights='imagenet')\n"
        "except Exception as e:\n    print(type(e).__name__, e)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert "offline guard" in result.stdout, result.stdout + result.stderr[-2000:]


# The lesson whose teacher key's code runs in a test (test_a_fast_notebook_reexecutes_identically).
FAST_LESSON = "02_residual_blocks.ipynb"


def test_the_teacher_keys_code_reads_only_what_its_lesson_defines() -> None:
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        assert nbtool.key_problems(nbformat.read(path, as_version=4)) == [], path.name


def test_key_problems_names_an_undefined_name_and_a_syntax_error() -> None:
    answers = (
        "### BEGIN SOLUTION\n1. Like this:\n\n   ```python\n   model.layers[-1].kernel\n   print(lineal)\n   ```\n"
        "2. Or:\n\n   ```python\n   for x in\n   ```\n### END SOLUTION"
    )
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("%matplotlib inline\nimport keras\nmodel = keras.Sequential()"),
            nbformat.v4.new_markdown_cell(answers),
        ]
    )
    assert nbtool.key_snippets(nb) == ["model.layers[-1].kernel\nprint(lineal)\n", "for x in\n"]
    found = nbtool.key_problems(nb)
    assert len(found) == 2 and "reads undefined names: lineal" in found[0] and "does not parse" in found[1], found
    assert [c.source for c in nbtool.with_key_code(nb).cells[2:]] == [
        "model.layers[-1].kernel\nprint(lineal)",
        "for x in",
    ]


def test_the_teacher_keys_code_is_only_where_a_test_runs_it() -> None:
    """A lesson too slow to re-execute in a test keeps its key's code out of ```python blocks (or a
    test gets added that runs it)."""
    with_code = [
        p.name
        for p in sorted((REPO / "notebooks").glob("*.ipynb"))
        if nbtool.key_snippets(nbformat.read(p, as_version=4))
    ]
    assert set(with_code) <= {FAST_LESSON}, with_code


@pytest.mark.executes_notebooks
def test_a_fast_notebook_reexecutes_identically(tmp_path: Path) -> None:
    """Reproducibility: execute notebook 02 afresh, with its teacher key's code appended as cells (which
    must run without error), then nbval that copy: every compared output repeats."""
    copy = tmp_path / FAST_LESSON
    nbformat.write(nbtool.with_key_code(nbformat.read(REPO / "notebooks" / FAST_LESSON, as_version=4)), copy)
    nbtool.execute(copy)
    result = run(
        "pytest",
        "-p",
        "no:cacheprovider",
        "--nbval",
        "--nbval-current-env",
        "--nbval-sanitize-with",
        str(REPO / "tests" / "nbval_sanitize.cfg"),
        str(copy),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_run_on_source_reports_every_checking_cell() -> None:
    """tools/run_on_source.py's verdicts: ok, the error of a failing assert, a cell never reached."""
    cells = [
        nbformat.v4.new_code_cell("x = 1", execution_count=1),
        nbformat.v4.new_code_cell("assert x == 1", execution_count=2),
        nbformat.v4.new_code_cell("assert x == 2, x", execution_count=3),
        nbformat.v4.new_code_cell("np.testing.assert_allclose(x, 1)"),
        nbformat.v4.new_markdown_cell("We assert that x is 1."),
    ]
    cells[2].outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="1", traceback=[])]
    found = run_on_source.verdicts(nbformat.v4.new_notebook(cells=cells))
    assert found == [
        (1, "assert x == 1", "ok"),
        (2, "assert x == 2, x", "AssertionError: 1"),
        (3, "np.testing.assert_allclose(x, 1)", "not executed"),
    ]
