# The course's two commands (see README.md):
#   make lab    open the course in JupyterLab
#   make test   run every test: tests/ and every notebook under nbval
# Both create .venv from requirements.txt when it is missing, and refresh it
# when requirements.txt changed since the last install.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-requirements
export TF_CPP_MIN_LOG_LEVEL := 3
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: lab test graphviz execute student

# Opens the repository: notebooks/ holds the worked lessons, student/ the coursework edition.
lab: $(STAMP) graphviz
	$(PY) -m jupyter lab --notebook-dir=. $(if $(filter 0,$(shell id -u)),--allow-root)

test: $(STAMP) graphviz
	$(PY) -m pytest

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; v == (3, 11) or print(f"note: the course is tested on Python 3.11, this is {v[0]}.{v[1]}; set PYTHON=python3.11 to choose one")'
	@[ -x $(PY) ] && $(PY) -c '' 2>/dev/null || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --requirement requirements.txt
	@# Let notebooks in notebooks/ import resnet_utils from the repository root.
	$(PY) -c 'import sysconfig, pathlib; pathlib.Path(sysconfig.get_paths()["purelib"], "resnet_course.pth").write_text("$(CURDIR)\n")'
	@touch $@

# keras.utils.plot_model needs Graphviz's `dot` program, a system package.
graphviz:
	@if command -v dot >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing graphviz (for model diagrams) with apt-get ..."; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz; } >/dev/null 2>&1 \
		|| echo "graphviz: apt-get install failed; notebooks run, model diagrams are skipped"; \
	else \
		echo "graphviz not found: notebooks run, model diagrams are skipped. Install it: sudo apt-get install graphviz (Debian/Ubuntu), brew install graphviz (macOS), conda install graphviz."; \
	fi

# For maintainers: re-execute notebooks in place and store them clean,
# e.g. make execute NB=notebooks/00_setup_and_data.ipynb (default: all).
execute: $(STAMP)
	$(PY) tools/notebooks.py execute $(NB)

# For teachers and maintainers: regenerate the student edition (student/) from
# the solution notebooks; CI fails when it is out of date (tests/test_student.py).
student: $(STAMP)
	$(PY) tools/notebooks.py student
