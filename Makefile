# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint venv clean

# (Re)create the virtual environment when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

# Train on the bundled 8x8 handwritten digits and report held-out accuracy.
demo: $(STAMP)
	$(BIN)/python examples/digits_demo.py

test: $(STAMP)
	$(BIN)/ruff check ffbp tests examples
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check ffbp tests examples

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
