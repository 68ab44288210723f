# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint venv bench fuzz docs clean

# (Re)create the virtual environment when pyproject.toml or this file changes. Besides the
# dev extras it installs PyTorch's CPU build, torch==2.13.0, the oracle of the autograd
# parity tests, so that `make test` runs them (pip finds that build on this kind of machine;
# a bare "torch" or a newer release would pull a CUDA build of several GB).
TORCH := torch==2.13.0
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	touch $(STAMP)

venv: $(STAMP)

# Train on the bundled 8x8 handwritten digits and report held-out accuracy; then the same
# data as CSV files through the ffbp command (train, evaluate, predict).
demo: $(STAMP)
	$(BIN)/python examples/digits_demo.py
	@echo
	@BIN=$(BIN) sh examples/digits_cli.sh

test: $(STAMP)
	$(BIN)/ruff check ffbp tests examples benchmarks
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check ffbp tests examples benchmarks

# Speed and memory against PyTorch, scikit-learn and the GEMM bound, the small-table and
# time-to-accuracy rows, start-up and the playground (benchmarks/run.py; a few minutes;
# BENCH_ARGS="--quick" for a smoke run, "--only ffbp,torch", "--no-small",
# "--no-playground", "--json FILE").
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE slow a current numpy where the machine sets them: they
# are unset for the benchmark processes only (the output says so), never for tests or CI.
BENCH_ARGS ?=
env_was = $(if $($(1)),$(1) was $($(1)),$(1) was not set)
BENCH_UNSET_NOTE = $(call env_was,OPENBLAS_CORETYPE), $(call env_was,OPENBLAS_L2_SIZE)
bench: $(STAMP)
	$(BIN)/python -c "import sklearn, threadpoolctl, onnx, onnxruntime" 2>/dev/null \
		|| $(BIN)/python -m pip install --quiet -e ".[bench]"
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
		FFBP_BENCH_UNSET="$(BENCH_UNSET_NOTE)" \
		$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# Mutate valid model files and checkpoints with hypothesis: 13 strategies x FUZZ_EXAMPLES
# cases (26,000 by default); every edit without a recomputed digest is refused and only
# ffbp's errors may escape load / checkpoint reading. make test runs 100 per strategy.
FUZZ_EXAMPLES ?= 2000
fuzz: $(STAMP)
	FFBP_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -p no:randomly \
		tests/files/test_fuzz_model_files.py

# The documentation site (mkdocs.yml: the tutorials, the architecture, the CLI reference from
# `ffbp --help`, the API reference from the docstrings) into site/, with every warning an
# error; open site/index.html. (NO_MKDOCS_2_WARNING quiets mkdocs-material's banner.)
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
