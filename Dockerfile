# syntax=docker/dockerfile:1
# RiskOps image: the API (`riskops serve`, the default command) and the worker (`riskops worker`)
# run from the same image. Build: docker build -t riskops .

# 1. Console assets from the npm lock file, exactly as `make assets` copies them.
FROM node:20-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error \
    && mkdir vendor \
    && cp node_modules/htmx.org/dist/htmx.min.js node_modules/uplot/dist/uPlot.iife.min.js \
        node_modules/uplot/dist/uPlot.min.css vendor/

# 2. A virtualenv with the runtime dependencies, every file checked against the lock's hashes.
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# g++: hnswlib (the embedded vector graph) is a source-only package on PyPI. Only this stage
# has it; the runtime stage receives the built module. Not pinned, as libgomp1 below.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends g++ \
    && rm -rf /var/lib/apt/lists/* \
    && python -m venv /opt/riskops \
    && /opt/riskops/bin/pip install uv==0.13.8
# The lock alone first: dependency layers stay cached while only the code changes.
COPY requirements-runtime.lock /build/
RUN /opt/riskops/bin/uv pip install --python /opt/riskops/bin/python --require-hashes \
    --no-cache -r /build/requirements-runtime.lock
COPY pyproject.toml README.md /build/
COPY src /build/src
COPY --from=assets /build/vendor /build/src/riskops/web/static/vendor
# The project itself, without dependencies (all of them came from the lock above).
RUN /opt/riskops/bin/uv pip install --python /opt/riskops/bin/python --no-deps --no-cache /build \
    && /opt/riskops/bin/pip uninstall --yes uv

# 3. The runtime: no compilers, no npm, a user without privileges.
FROM python:3.11-slim-bookworm AS runtime
# libgomp1: LightGBM's OpenMP runtime (the wheel links it, the slim image lacks it). Not pinned:
# bookworm's security updates replace the version, and a pinned one would stop building.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 riskops \
    && useradd --system --uid 10001 --gid riskops --home-dir /var/lib/riskops \
        --shell /usr/sbin/nologin riskops \
    && install -d -o riskops -g riskops -m 0750 /var/lib/riskops
COPY --from=build /opt/riskops /opt/riskops
ENV PATH=/opt/riskops/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RISKOPS_DATA_DIR=/var/lib/riskops \
    RISKOPS_HOST=0.0.0.0 \
    RISKOPS_PORT=8000 \
    MLFLOW_DISABLE_TELEMETRY=true
USER 10001:10001
WORKDIR /var/lib/riskops
EXPOSE 8000
# Liveness only (the process answers); orchestrators gate traffic on /ready. No curl in the
# slim image: the interpreter does the request.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('RISKOPS_PORT', '8000'), timeout=2)"]
CMD ["riskops", "serve"]
