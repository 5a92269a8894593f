# One Makefile for the whole product; the README names its targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed
# Console assets come from npm (package-lock.json) and are copied next to the templates.
VENDOR := src/riskops/web/static/vendor
ASSETS := $(VENDOR)/.installed

.PHONY: run test lint format bench bench-fdh bench-tools install clean assets chromium deploy-tools k8s pgvector

install: $(STAMP)

# The environment is rebuilt whenever the lock file or the project metadata changes. Bytecode
# is compiled here, once: with PYTHONDONTWRITEBYTECODE set (as on CI machines) every command
# would otherwise recompile its imports on each start (1 s for `keys create`, 30 s for pandas).
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m compileall -q src
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

# Deployment checks (tests/deploy) run promtool and docker-compose from Debian (Debian 12 has
# no helm, kubeconform or actionlint package: those come from PyPI with the dev dependencies).
# CI runs as root and installs them when missing (only promtool is wanted from `prometheus`: the
# server the package enables is stopped); elsewhere the tests say how.
deploy-tools:
	@{ test -x /usr/bin/promtool && test -x /usr/bin/docker-compose; } || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			prometheus docker-compose && \
			{ test ! -d /run/systemd/system || systemctl disable --now prometheus; }; \
		else echo "promtool or docker-compose missing: deploy tests skip here (CI=true fails" \
			"them). Install: sudo apt-get install -y --no-install-recommends prometheus docker-compose"; fi; }

# Plain Kubernetes manifests for clusters without Helm: the chart rendered with its defaults.
k8s: $(STAMP)
	$(BIN)/python -m tests.deploy.render

# pgvector for the production engine's tests: built from Debian's source package when missing;
# CI runs as root and installs it, elsewhere the PostgreSQL tests say how (CI=true fails them).
pgvector:
	@if [ "$$(id -u)" = 0 ]; then bash scripts/install-pgvector.sh; \
	else bash scripts/install-pgvector.sh || echo "pgvector missing: sudo make pgvector"; fi

run: $(STAMP) $(ASSETS)
	$(BIN)/riskops serve

test: $(STAMP) $(ASSETS) chromium deploy-tools pgvector
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

# The decision path as shipped and on the production stack next to a reference echo, feature
# memory and (when present) the per-stage profile: one table, benchmarks/results/decisions.json.
# Then events, rules, backtest, cases and similar-case search at 1,000,000 records (~30 min).
bench: $(STAMP) bench-tools
	$(BIN)/python benchmarks/decisions.py
	$(BIN)/python benchmarks/events.py
	$(BIN)/python benchmarks/rules.py
	$(BIN)/python benchmarks/backtest.py
	$(BIN)/python -m benchmarks.cases
	$(BIN)/python benchmarks/similarity.py
	$(BIN)/python -m benchmarks.investigations
	$(BIN)/python benchmarks/backfill_records.py

# The Fraud Detection Handbook's chapter 3 protocol (data: RISKOPS_FDH_DIR or ../shared/benchmarks).
# Then the prequential weeks against baselines (~35 min) and the scan's usefulness (~20 min).
bench-fdh: $(STAMP)
	$(BIN)/python benchmarks/fdh.py $(FDH_ARGS)
	$(BIN)/python benchmarks/fdh.py --prequential
	$(BIN)/python benchmarks/recommendations_fdh.py

# The decision benchmark drives the servers with wrk (Debian's package); installed when root.
bench-tools:
	@test -x /usr/bin/wrk || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk; \
		else echo "wrk missing: sudo apt-get install -y wrk"; exit 1; fi; }

# Regenerate the lock file after editing dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev -o requirements.lock --python-version 3.11 --generate-hashes
	# The image's lock: the runtime dependencies only, at the versions of requirements.lock.
	$(BIN)/uv pip compile pyproject.toml -c requirements.lock -o requirements-runtime.lock \
		--python-version 3.11 --generate-hashes

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
