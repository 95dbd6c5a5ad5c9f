# The course's two commands (see README.md):
#   make lab    open the course in JupyterLab
#   make test   run every test: tests/ and every notebook under nbval
# Both run course.py (the same steps without make, e.g. on Windows:
# `py -3.11 course.py lab`). It creates .venv with $(PYTHON) when it is missing,
# installs requirements.txt and the course (`pip install -e .`), refreshes both
# when requirements.txt or pyproject.toml changed, and looks for Graphviz.
# Supported: Python 3.11, 3.12 and 3.13 (CI runs 3.11); another version gets a clear message.

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
PY := .venv/bin/python

.PHONY: lab test check setup execute student

lab:
	$(PYTHON) course.py lab

test:
	$(PYTHON) course.py test

# For maintainers, the quick loop while you work: tests/ and the quality gates, no notebook executed
# (make test runs those too: every notebook under nbval, the nbgrader round trip, the student edition).
check:
	$(PYTHON) course.py check

setup:
	$(PYTHON) course.py setup

# For maintainers: re-execute notebooks in place and store them clean, side by side on the cores,
# e.g. make execute NB="notebooks/00_setup_and_data.ipynb notebooks/02_residual_blocks.ipynb" (default: all).
execute: setup
	$(PY) tools/notebooks.py execute $(NB)

# For teachers and maintainers: regenerate the student edition (student/) from
# the solution notebooks; CI fails when it is out of date (tests/test_student.py).
student: setup
	$(PY) tools/notebooks.py student
