"""Maintainer tool for the course notebooks.

    python tools/notebooks.py execute notebooks/00_setup_and_data.ipynb ...
        Re-execute notebooks in place (as nbval will: kernel started in the
        notebook's folder, on the shipped photos: SIGNS_SOURCE=digits) and
        store them clean. Run it after changing a notebook or the helpers it
        imports, then commit the outputs.
        Several notebooks run side by side, one process per core, the longest
        first (tools/parallel.py; lesson 04 after lesson 03, whose saved
        model it reads, in one process); each with the TensorFlow threads of
        a `make test` worker (1 on 2 cores), also when one notebook runs, so
        that the stored numbers are the ones `make test` reproduces.
    python tools/notebooks.py clean [NOTEBOOK ...]
        Strip editor noise (execution timings, widget state, kernel-specific
        metadata, trailing whitespace, progress-bar redraws) without
        executing. Default: every notebook in notebooks/. Run it before
        committing a notebook you edited in JupyterLab.
    python tools/notebooks.py check [NOTEBOOK ...]
        Fail (exit 1) when a notebook carries editor noise, an un-executed
        code cell, an error output or a TensorFlow log line, or when a
        relative link or image in README.md or a notebook's markdown points
        to a missing file. `make test` runs it (tests/test_quality.py).

    python tools/notebooks.py colab
        Put the Colab cell (clone the course and install what Colab lacks;
        nothing outside Colab) before the setup cell of every notebook in
        notebooks/, made for the repository named in pyproject.toml's
        [project.urls]. Run it after changing that address (a fork), then
        `student`.

    python tools/notebooks.py student
        Write the student edition: student/NN_topic.ipynb for every
        notebook, with each `### BEGIN SOLUTION` ... `### END SOLUTION`
        region replaced by a stub (in code) or by "YOUR ANSWER HERE" (the
        model answers to the open questions, in markdown) and all outputs
        cleared (`make student`).

`make execute NB=notebooks/00_setup_and_data.ipynb` runs the first through the
course's virtual environment.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import multiprocessing
import os
import re
import sys
import textwrap
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
import parallel  # tools/parallel.py
from nbclient import NotebookClient

from resnet_course.data import SHIPPED_SOURCE

REPO = Path(__file__).resolve().parents[1]
STUDENT_DIR = REPO / "student"
SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION\n?", re.MULTILINE | re.DOTALL)
STUB = "{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError()\n"
# What replaces a solution region in a markdown cell (a model answer of the teacher key), as in nbgrader.
TEXT_STUB = "YOUR ANSWER HERE\n"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}
COLAB_CELL = """\
# Google Colab only (elsewhere this cell does nothing): get the course and what Colab lacks.
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    REPOSITORY, COURSE = "{repository}", "/content/{name}"
    if not os.path.isdir(COURSE):
        subprocess.run(["git", "clone", "--depth=1", REPOSITORY, COURSE], check=True)
    subprocess.run([sys.executable, f"{{COURSE}}/course.py", "colab"], check=True)
    sys.path.insert(0, COURSE)
    os.chdir(f"{{COURSE}}/notebooks")"""


# TensorFlow/absl C++ log lines ("I0000 00:00:1700000000.1 123 file.cc:42] ...") and the notices
# TensorFlow prints before its logger starts.
TF_LOG = re.compile(
    r"^[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\]|oneDNN custom operations|"
    r"All log messages before absl::InitializeLog|Unable to register cu(DNN|FFT|BLAS) factory|tensorflow/core/|"
    r"^(WARNING|ERROR|INFO):tensorflow:",
    re.MULTILINE,
)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|(?:src|href)=\"([^\"]+)\"")


def _collapse_redraws(text: str) -> str:
    """What a terminal shows of text with carriage returns: the last redraw of each line."""
    return "\n".join(
        line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line.rstrip("\r") for line in text.split("\n")
    )


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Keep only what a lesson needs: sources, outputs, nbgrader/nbval tags."""
    nb.metadata = nbformat.NotebookNode(kernelspec=KERNELSPEC, language_info=LANGUAGE_INFO)
    count = 0
    for cell in nb.cells:
        cell.source = "\n".join(line.rstrip() for line in cell.source.strip("\n").splitlines())
        kept = {k: v for k, v in cell.metadata.items() if k in ("tags", "nbgrader")}
        cell.metadata = nbformat.NotebookNode(kept)
        if cell.cell_type == "code":
            count += 1
            if cell.execution_count is not None:
                cell.execution_count = count
            cell.outputs = _merge_streams(cell.outputs)
            for output in cell.outputs:
                if "execution_count" in output:
                    output.execution_count = cell.execution_count
    return nb


def _merge_streams(outputs: list[nbformat.NotebookNode]) -> list[nbformat.NotebookNode]:
    """Join consecutive stream outputs of the same stream, as the notebook shows them, and drop redraws."""
    merged: list[nbformat.NotebookNode] = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if output.output_type == "stream" and previous is not None and previous.get("name") == output.name:
            previous.text += output.text
            continue
        merged.append(output)
    for output in merged:
        if output.output_type == "stream":
            output.text = _collapse_redraws(output.text)
    return merged


def problems(nb: nbformat.NotebookNode, executed: bool = True) -> list[str]:
    """Everything that makes a committed notebook dirty (empty when it is clean).

    ``executed=False`` is for the student edition, whose code cells must have
    no outputs and no execution counts instead.
    """
    found = []
    extra = sorted(set(nb.metadata) - {"kernelspec", "language_info"})
    if extra:
        found.append(f"notebook metadata {extra} (editor or Colab noise)")
    if nb.metadata.get("kernelspec") != KERNELSPEC:
        found.append(f"kernelspec {dict(nb.metadata.get('kernelspec', {}))}, expected {KERNELSPEC}")
    for i, cell in enumerate(nb.cells, start=1):
        where = f"cell {i} ({cell.cell_type})"
        extra = sorted(set(cell.metadata) - {"tags", "nbgrader"})
        if extra:
            found.append(f"{where}: metadata {extra}")
        if any(line != line.rstrip() for line in cell.source.splitlines()):
            found.append(f"{where}: trailing whitespace in the source")
        if cell.cell_type != "code":
            continue
        if executed and cell.execution_count is None:
            found.append(f"{where}: not executed")
        if not executed and (cell.execution_count is not None or cell.outputs):
            found.append(f"{where}: has outputs or an execution count (the student edition has none)")
        for output in cell.outputs:
            if output.output_type == "error":
                found.append(f"{where}: error output {output.ename}: {output.evalue}")
            text = output.get("text", "") + "".join(
                v for k, v in output.get("data", {}).items() if k == "text/plain" and isinstance(v, str)
            )
            log = TF_LOG.search(text)
            if log:
                found.append(f"{where}: TensorFlow log line in the output: {log.group(0)!r}")
            if "\r" in text:
                found.append(f"{where}: progress-bar redraws (carriage returns) in the output")
    return found


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of ``markdown`` (outside fenced code): lower case, each space a
    hyphen, punctuation other than hyphens and underscores dropped ("Speed and the recipe" ->
    "speed-and-the-recipe")."""
    found, fenced = set(), False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


# A lesson or document sending the reader to a section by name: "README's *Speed and the recipe* section",
# 'CONTRIBUTING.md, "Before you commit"'.
SECTION_NAME = re.compile(r"(README|CONTRIBUTING)(?:\.md)?(?:'s \*([^*]+)\* section|, \"([^\"]+)\")")


def broken_links(path: Path, markdown: str) -> list[str]:
    """Relative links and image references in ``markdown`` (read from ``path``) to missing files, links to
    headings that do not exist (``#anchor`` in a Markdown file, ``FILE.md#anchor``), and sections named
    that do not exist (``SECTION_NAME``)."""
    found = []
    where = path.relative_to(REPO)
    for match in LINK.finditer(markdown):
        target = match.group(1) or match.group(2)
        if re.match(r"[a-z]+:", target):
            continue  # web addresses, mailto:
        file, _, anchor = target.partition("#")
        document = path.parent / file if file else path
        if file and not document.exists():
            found.append(f"{where}: broken link {target!r}")
        elif anchor and document.suffix == ".md":
            text = markdown if not file else document.read_text()
            if anchor not in anchors(text):
                found.append(f"{where}: link {target!r} to a heading that does not exist")
    for match in SECTION_NAME.finditer(markdown):
        document, name = REPO / f"{match.group(1)}.md", match.group(2) or match.group(3)
        if re.sub(r"[^\w\- ]", "", name.lower()).replace(" ", "-") not in anchors(document.read_text()):
            found.append(f"{where}: names a section {name!r} that {document.name} does not have")
    return found


def repository() -> str:
    """The course's public repository, from pyproject.toml's [project.urls]."""
    with (REPO / "pyproject.toml").open("rb") as f:
        return str(tomllib.load(f)["project"]["urls"]["Repository"])


def colab_cell(url: str) -> str:
    """The source of the Colab cell for the course at ``url`` (a GitHub repository)."""
    return COLAB_CELL.format(repository=url, name=url.rstrip("/").rsplit("/", 1)[-1])


def with_colab_cell(nb: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    """``nb`` with ``source`` as its first code cell: replaces an older Colab cell, or goes before the setup cell."""
    first = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")
    if nb.cells[first].source.startswith(COLAB_CELL.split("\n", 1)[0]):
        nb.cells[first].source = source
    else:
        # It prints nothing outside Colab, so the executed cell has no outputs; clean() numbers it.
        nb.cells.insert(first, nbformat.v4.new_code_cell(source, execution_count=0))
    return clean(nb)


def to_student(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student edition of a solution notebook: solution regions become stubs (code) or
    "YOUR ANSWER HERE" (the model answers in markdown), outputs are cleared."""
    student = nbformat.from_dict(nb)
    for cell in student.cells:
        if cell.cell_type == "code":
            cell.source = SOLUTION.sub(lambda m: STUB.format(indent=m.group(1)), cell.source).rstrip("\n")
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown":
            cell.source = SOLUTION.sub(TEXT_STUB, cell.source).rstrip("\n")
    return student


def paste_solutions(student: nbformat.NotebookNode, solution: nbformat.NotebookNode) -> list[str]:
    """The cells of ``student`` with the solution regions of ``solution`` pasted back into its stubs."""
    regions = [m.group(0) for c in solution.cells for m in SOLUTION.finditer(c.source)]
    stubs = {
        "code": re.compile(r"^([ \t]*)# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(\)\n?", re.MULTILINE),
        "markdown": re.compile(r"^YOUR ANSWER HERE\n?", re.MULTILINE),
    }
    return [stubs[c.cell_type].sub(lambda _: regions.pop(0), c.source + "\n").rstrip("\n") for c in student.cells]


# A fenced block of Python in markdown (the teacher key's code), possibly indented under a list item.
KEY_CODE = re.compile(r"^([ \t]*)```python\n(.*?)^\1```", re.MULTILINE | re.DOTALL)


def key_snippets(nb: nbformat.NotebookNode) -> list[str]:
    """The code of the teacher key: the ```python blocks inside the markdown cells' solution regions."""
    regions = [m.group(0) for c in nb.cells if c.cell_type == "markdown" for m in SOLUTION.finditer(c.source)]
    return [textwrap.dedent(m.group(2)) for region in regions for m in KEY_CODE.finditer(region)]


def _names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """The names a piece of code binds (assignments, imports, definitions, arguments) and those it reads."""
    bound: set[str] = set()
    read: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound, read


def key_problems(nb: nbformat.NotebookNode) -> list[str]:
    """What keeps the teacher key's code from running after the lesson: a block that does not parse,
    or a name it reads that neither it nor any code cell of the lesson defines (nor Python's builtins)."""
    defined = set(dir(builtins))
    for cell in nb.cells:
        if cell.cell_type == "code":
            code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
            defined |= _names(ast.parse(code))[0]
    found = []
    for snippet in key_snippets(nb):
        first = snippet.splitlines()[0] if snippet.strip() else ""
        try:
            bound, read = _names(ast.parse(snippet))
        except SyntaxError as err:
            found.append(f"the key's block starting {first!r} does not parse: {err.msg} (line {err.lineno})")
            continue
        missing = sorted(read - bound - defined)
        if missing:
            found.append(f"the key's block starting {first!r} reads undefined names: {', '.join(missing)}")
    return found


def with_key_code(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` with the teacher key's code blocks appended as code cells, to run them after the lesson."""
    extended = nbformat.from_dict(nb)
    extended.cells += [nbformat.v4.new_code_cell(snippet.rstrip("\n")) for snippet in key_snippets(nb)]
    return extended


def write_student_edition(target: Path = STUDENT_DIR) -> list[Path]:
    """Write the student edition of every notebook into ``target``; returns the written paths."""
    target.mkdir(exist_ok=True)
    written = []
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        out = target / path.name
        nbformat.write(to_student(nbformat.read(path, as_version=4)), out)
        written.append(out)
    return written


def check(paths: list[Path]) -> list[str]:
    """Cleanliness problems of the notebooks and broken links in them and in the READMEs."""
    found = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        found += [f"{path.relative_to(REPO)}: {p}" for p in problems(nb, executed=path.parent != STUDENT_DIR)]
        found += broken_links(path, "\n".join(c.source for c in nb.cells if c.cell_type == "markdown"))
    for readme in [*sorted(REPO.glob("**/README.md")), REPO / "CONTRIBUTING.md"]:
        if ".venv" not in readme.parts and "node_modules" not in readme.parts:
            found += broken_links(readme, readme.read_text())
    return found


def execute(path: Path, timeout: int = 1800) -> float:
    """Execute one notebook in place; returns the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    seconds = time.perf_counter() - start
    nbformat.write(clean(nb), path)
    return seconds


def _execute_in_order(paths: list[Path], env: dict[str, str]) -> list[tuple[Path, float]]:
    """Execute ``paths`` one after the other in this process, with ``env`` set; each with its seconds."""
    os.environ.update(env)
    return [(path, execute(path)) for path in paths]


def execution_env(available: int) -> dict[str, str]:
    """The TensorFlow threads of every executed notebook on ``available`` cores: those of a `make test`
    worker, however many notebooks run. A lesson's numbers depend on the thread count (the order of
    TensorFlow's sums), so the stored outputs are the ones `make test` reproduces."""
    return parallel.thread_env(parallel.workers(available), available)


def execute_side_by_side(paths: list[Path], available: int) -> Iterator[tuple[Path, float]]:
    """Execute ``paths`` in processes side by side on ``available`` cores (tools/parallel.py): a notebook
    and those that read what it writes in one process, in order; the longest first. Yields each notebook
    with its seconds as it finishes."""
    chains: dict[str, list[Path]] = {}
    for path in sorted(paths):
        name = path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else str(path)
        chains.setdefault(parallel.chain(name), []).append(path)
    processes = max(1, min(available, len(chains)))  # one per core: executing a notebook hardly waits
    env = execution_env(available)
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_execute_in_order, chains[unit], env) for unit in parallel.ordered(chains)]
        for future in as_completed(futures):
            yield from future.result()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["execute", "clean", "check", "colab", "student"])
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or sorted((REPO / "notebooks").glob("*.ipynb"))
    if args.command == "check" and not args.notebooks:
        paths += sorted(STUDENT_DIR.glob("*.ipynb"))
    if args.command == "student":
        for out in write_student_edition():
            print(f"{out.relative_to(REPO)}: written")
        return 0
    if args.command == "check":
        found = check(paths)
        print("\n".join(found) or f"{len(paths)} notebooks clean, links resolve")
        return 1 if found else 0
    if args.command == "colab":
        source = colab_cell(repository())
        for path in paths:
            nbformat.write(with_colab_cell(nbformat.read(path, as_version=4), source), path)
            print(f"{path}: Colab cell for {repository()}")
        return 0
    if args.command == "execute":
        # The stored outputs are the shipped photos' (CI compares them under the same SIGNS_SOURCE).
        os.environ["SIGNS_SOURCE"] = SHIPPED_SOURCE
        start = time.perf_counter()
        for path, seconds in execute_side_by_side(paths, parallel.cores()):
            print(f"{path}: executed in {seconds:.0f} s", flush=True)
        print(f"{len(paths)} notebooks in {time.perf_counter() - start:.0f} s", flush=True)
        return 0
    for path in paths:
        nbformat.write(clean(nbformat.read(path, as_version=4)), path)
        print(f"{path}: cleaned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
