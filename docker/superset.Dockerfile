# syntax=docker/dockerfile:1
# Superset 6.1 in its own virtual environment, from requirements/superset.lock exactly as `make install` builds
# .venv-superset (Superset pins SQLAlchemy 1.4; Pulse's environment needs 2.x, so they never share one).
# Build from the repository root: docker build -f docker/superset.Dockerfile .  (docker-compose.yml does this.)

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# -- Build: the virtual environment from the lock. The wheel ships Superset's built frontend: no npm. --------
FROM base AS build
# The same uv as the Makefile's UV_VERSION (tests/test_compose.py keeps them equal).
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
COPY requirements/superset.lock /tmp/superset.lock
RUN uv venv --quiet --python /usr/local/bin/python3.11 /opt/superset/.venv \
    && uv pip sync --quiet --no-cache --python /opt/superset/.venv/bin/python /tmp/superset.lock \
    && /opt/superset/.venv/bin/python -m compileall -q /opt/superset/.venv/lib

# -- Runtime: a non-root user; the environment owned by root. -----------------------------------------------
FROM base AS runtime
RUN useradd --system --uid 10002 --gid 0 --create-home --home-dir /home/superset --shell /usr/sbin/nologin superset \
    && install -d -o superset -g 0 -m 0770 /var/lib/superset
COPY --from=build /opt/superset/.venv /opt/superset/.venv
# Pulse's Superset configuration and metadata bootstrap (the same files `pulse superset` runs on embedded
# defaults; standard library only).
COPY docker/superset/superset_config.py /etc/superset/superset_config.py
COPY docker/superset/superset_bootstrap.py /etc/superset/superset_bootstrap.py
COPY docker/http_check.py /usr/local/bin/pulse-http-check
RUN chmod 0755 /usr/local/bin/pulse-http-check
ENV VIRTUAL_ENV=/opt/superset/.venv \
    PATH=/opt/superset/.venv/bin:$PATH \
    SUPERSET_CONFIG_PATH=/etc/superset/superset_config.py \
    SUPERSET_HOME=/var/lib/superset \
    FLASK_APP="superset.app:create_app()"
WORKDIR /var/lib/superset
USER superset
EXPOSE 8088
# gthread workers (as `pulse superset serve`): a dashboard fires one chart request per chart at once, each mostly
# waiting on the warehouse. docker-compose.yml passes the worker count from its settings.
CMD ["gunicorn", "--bind", "0.0.0.0:8088", "--workers", "2", "--worker-class", "gthread", "--threads", "8", \
     "--timeout", "120", "--limit-request-line", "0", "--limit-request-field_size", "0", \
     "superset.app:create_app()"]
