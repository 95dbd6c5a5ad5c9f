"""Execute the lessons on another SIGNS source and print every assert's verdict.

    .venv/bin/python tools/run_on_source.py synthetic [--notebooks 00 03] [--out /tmp/course-synthetic]

Copies the notebooks into a scratch folder (default: a new temporary folder;
the committed notebooks are never touched), executes them in order with
``SIGNS_SOURCE`` set (``synthetic``, ``signs`` or ``digits``), keeps going
past failing cells, and prints, per notebook, each cell that asserts or
compares (``assert``, ``np.testing``) with ``ok`` or its error, then the
key numbers the notebooks print. Exits 1 when any of them failed. The
committed outputs are those of ``digits`` (the shipped photos); ``synthetic``
shows every assert on the drawn hands, ``signs`` on the original course's
files in datasets/. The executed copies stay in the scratch folder to read,
and what the lessons write (``output_path``) goes to its ``outputs/``. The
kernels get the TensorFlow threads of a `make test` worker, as the committed
runs do (tools/notebooks.py, ``execution_env``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import parallel  # tools/parallel.py
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("synthetic", "signs", "digits")
CHECKS = ("assert", "np.testing.assert")


def verdicts(nb: nbformat.NotebookNode) -> list[tuple[int, str, str]]:
    """(cell number, first checking line, "ok" or the error) for every executed cell that checks something."""
    found = []
    for number, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not any(c in cell.source for c in CHECKS):
            continue
        line = next(line.strip() for line in cell.source.splitlines() if any(c in line for c in CHECKS))
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if cell.get("execution_count") is None:
            verdict = "not executed"
        elif errors:
            verdict = f"{errors[0].ename}: {errors[0].evalue}"[:300]
        else:
            verdict = "ok"
        found.append((number, line[:100], verdict))
    return found


def run(notebook: Path, folder: Path, source: str, timeout: int) -> tuple[nbformat.NotebookNode, float]:
    """Execute a copy of ``notebook`` in ``folder`` with ``SIGNS_SOURCE=source``; return it and the seconds taken."""
    copy = folder / notebook.name
    shutil.copy(notebook, copy)
    nb = nbformat.read(copy, as_version=4)
    os.environ["SIGNS_SOURCE"] = source  # inherited by the kernel
    os.environ["COURSE_OUTPUTS"] = str(folder / "outputs")  # what the lessons write stays in the scratch folder
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True)
    client.execute(cwd=str(folder))
    nbformat.write(nb, copy)
    return nb, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", choices=SOURCES)
    parser.add_argument("--notebooks", nargs="*", default=[], help="number prefixes, e.g. 00 03 (default: all)")
    parser.add_argument("--out", type=Path, help="scratch folder (default: a new temporary folder)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args(argv)
    # A make-test worker's TensorFlow threads, as `make execute` gives the committed runs: a lesson's
    # numbers depend on the thread count.
    os.environ.update(parallel.thread_env(parallel.workers(parallel.cores()), parallel.cores()))
    folder = args.out or Path(tempfile.mkdtemp(prefix=f"course-{args.source}-"))
    folder.mkdir(parents=True, exist_ok=True)
    notebooks = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.notebooks:
        notebooks = [nb for nb in notebooks if nb.name[:2] in args.notebooks]
    failed = 0
    for notebook in notebooks:
        nb, seconds = run(notebook, folder, args.source, args.timeout)
        print(f"\n{notebook.name} on {args.source!r}: {seconds:.0f} s ({folder / notebook.name})")
        for number, line, verdict in verdicts(nb):
            failed += verdict != "ok"
            print(f"  cell {number:2d} {'ok  ' if verdict == 'ok' else 'FAIL'} {line}")
            if verdict != "ok":
                print(f"          {verdict}")
        sys.stdout.flush()
    print(f"\n{'all asserts hold' if not failed else f'{failed} failing'} on {args.source!r}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
