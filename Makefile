# Quick start: `make demo` (install + run on the bundled samples) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
# The CPU build by default; see README "GPU install" for the CUDA build.
TORCH  ?= torch==2.13.0
BIN     = $(VENV)/bin

.PHONY: demo test install clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

demo: install
	$(BIN)/newsevents run --input samples --output out/demo --device auto
	$(BIN)/newsevents report out/demo

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) out build *.egg-info
