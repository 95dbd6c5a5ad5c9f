"""Maintainer tool for the course notebooks.

    python tools/notebooks.py execute notebooks/00_setup_and_data.ipynb ...
        Re-execute notebooks in place (as nbval will: kernel started in the
        notebook's folder) and store them clean. Run it after changing a
        notebook or the helpers it imports, then commit the outputs.
    python tools/notebooks.py clean [NOTEBOOK ...]
        Strip editor noise (execution timings, widget state, kernel-specific
        metadata, trailing whitespace) without executing. Default: every
        notebook in notebooks/.

`make execute NB=notebooks/00_setup_and_data.ipynb` runs the first through the
course's virtual environment.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}


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
            for output in cell.outputs:
                if "execution_count" in output:
                    output.execution_count = cell.execution_count
    return nb


def execute(path: Path, timeout: int = 1800) -> float:
    """Execute one notebook in place; returns the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    nbformat.write(clean(nb), path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["execute", "clean"])
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((REPO / "notebooks").glob("*.ipynb"))
    for path in paths:
        if args.command == "execute":
            print(f"{path}: executed in {execute(path):.0f} s", flush=True)
        else:
            nbformat.write(clean(nbformat.read(path, as_version=4)), path)
            print(f"{path}: cleaned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
