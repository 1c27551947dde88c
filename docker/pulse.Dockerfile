# syntax=docker/dockerfile:1
# Pulse's image: the operational API, every Airflow component (DAGs, dbt, extract-load) and the
# PDF report renderer, installed from requirements/main.lock exactly as `make install` builds .venv.
# Build from the repository root: docker build -f docker/pulse.Dockerfile .  (docker-compose.yml does this.)

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- What both stages share: the Debian libraries Pulse loads at run time. -----------------------------------
FROM ${PYTHON_IMAGE} AS base
# WeasyPrint renders statements through Pango (HarfBuzz subsetting keeps embedded fonts small); DejaVu and
# Liberation carry the Cyrillic glyphs. The same packages as the Makefile's APT_PACKAGES, minus test-only tools.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
        fonts-dejavu-core fonts-dejavu-extra fonts-liberation2 \
    && rm -rf /var/lib/apt/lists/*
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# -- Build: the virtual environment from the lock, then the project (editable, as in development). -----------
FROM base AS build
# The same uv as the Makefile's UV_VERSION (tests/test_compose.py keeps them equal).
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}" \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/pulse
# The lock alone first, so that code changes reuse the (large) dependency layer.
COPY requirements/main.lock requirements/main.lock
RUN uv venv --quiet --python /usr/local/bin/python3.11 .venv \
    && uv pip sync --quiet --no-cache --python .venv/bin/python requirements/main.lock
COPY . .
# Editable, like `make install`: pulse/dbt/runner.py and pulse/airflow/elt_tasks.py find dbt_project/ and dags/ next to
# the packages, so the source tree stays where it is. Bytecode is compiled now: the tree is read-only at run time.
RUN uv pip install --quiet --no-cache --python .venv/bin/python --no-deps --no-build-isolation -e . \
    && .venv/bin/python -m compileall -q pulse warehouse operational_api extractors reports simulator dags \
    && cc -O2 -std=c11 -Wall -Wextra -Wvla -Werror -o .venv/bin/pulse-sqlite-pages extractors/sqlite_pages.c

# -- Runtime: no compilers, no uv, a non-root user; code owned by root and read-only for that user. -----------
FROM base AS runtime
RUN useradd --system --uid 10001 --gid 0 --create-home --home-dir /home/pulse --shell /usr/sbin/nologin pulse \
    && install -d -o pulse -g 0 -m 0770 /var/lib/pulse
COPY --from=build /opt/pulse /opt/pulse
COPY docker/http_check.py /usr/local/bin/pulse-http-check
RUN chmod 0755 /usr/local/bin/pulse-http-check
ENV VIRTUAL_ENV=/opt/pulse/.venv \
    PATH=/opt/pulse/.venv/bin:$PATH \
    PULSE_HOME=/var/lib/pulse \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false
WORKDIR /opt/pulse
USER pulse
# PULSE_HOME (/var/lib/pulse) holds what a service keeps between restarts (Airflow's logs and passwords file,
# the dbt manifest): docker-compose.yml mounts a named volume there.
EXPOSE 8000 8080
CMD ["pulse", "api", "serve", "--host", "0.0.0.0"]
