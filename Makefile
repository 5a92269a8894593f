# One Makefile for the whole product; the README names its targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed
# Console assets come from npm (package-lock.json) and are copied next to the templates.
VENDOR := src/riskops/web/static/vendor
ASSETS := $(VENDOR)/.installed

.PHONY: run test lint format bench bench-fdh install clean assets chromium pgvector

install: $(STAMP)

# The environment is rebuilt whenever the lock file or the project metadata changes.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

assets: $(ASSETS)

$(ASSETS): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/uplot/dist/uPlot.iife.min.js \
		node_modules/uplot/dist/uPlot.min.css $(VENDOR)/
	touch $(ASSETS)

# Browser tests drive Debian's Chromium; CI runs as root and installs it when missing.
chromium:
	@test -x /usr/bin/chromium || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
		else echo "Chromium missing: browser tests skip here (CI=true fails them)." \
			"Install it with: sudo apt-get install -y chromium"; fi; }

# pgvector for the production engine's tests: built from Debian's source package when missing;
# CI runs as root and installs it, elsewhere the PostgreSQL tests say how (CI=true fails them).
pgvector:
	@if [ "$$(id -u)" = 0 ]; then bash scripts/install-pgvector.sh; \
	else bash scripts/install-pgvector.sh || echo "pgvector missing: sudo make pgvector"; fi

run: $(STAMP) $(ASSETS)
	$(BIN)/riskops serve

test: $(STAMP) $(ASSETS) chromium pgvector
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/decisions.py
	$(BIN)/python benchmarks/decisions.py --no-workers
	$(BIN)/python benchmarks/events.py

# The Fraud Detection Handbook's chapter 3 protocol (data: RISKOPS_FDH_DIR or ../shared/benchmarks).
bench-fdh: $(STAMP)
	$(BIN)/python benchmarks/fdh.py $(FDH_ARGS)

# Regenerate the lock file after editing dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev -o requirements.lock --python-version 3.11 --generate-hashes

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
