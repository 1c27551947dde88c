# Pulse: `make demo` runs the whole platform on embedded defaults; `make test` passes the tests.
# Everything installs from committed lock files, so a fresh clone repeats the same environment.
SHELL := /bin/bash
PYTHON ?= python3.11
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
SUPERSET_VENV := .venv-superset
BENCH_VENV := .venv-bench
# Debian packages Pulse needs beyond Python: PDF text/PNG tools, fonts with Cyrillic, WeasyPrint's
# Pango, PostgreSQL (tests start their own server), Chromium for browser tests, a C compiler for the
# SQLite page reader.
APT_PACKAGES := poppler-utils fonts-dejavu-core fonts-dejavu-extra fonts-liberation2 libpango-1.0-0 \
	libpangoft2-1.0-0 postgresql chromium chromium-driver gcc libc6-dev
# The extract-load's SQLite page reader (extractors/sqlite_pages.c), found next to the venv's Python.
PAGE_READER := $(VENV)/bin/pulse-sqlite-pages
PAGE_READER_CFLAGS := -O2 -std=c11 -Wall -Wextra -Wvla -Werror

.PHONY: install system-deps demo test lint lock clean bench-env

install: system-deps $(VENV)/.installed $(PAGE_READER) $(SUPERSET_VENV)/.installed $(TOOLS)/.compose

system-deps: $(TOOLS)/.apt-$(shell echo $(APT_PACKAGES) | md5sum | cut -c1-8)

$(TOOLS)/.apt-%:
	@mkdir -p $(TOOLS)
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing system packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@touch $@

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q uv==$(UV_VERSION)

# Docker Compose (the official binary, from docker/compose.lock) validates docker-compose.yml in the tests.
$(TOOLS)/.compose: docker/compose.lock | $(UV)
	$(UV) pip install -q --python $(TOOLS)/bin/python --require-hashes --no-deps -r docker/compose.lock
	@touch $@

$(VENV)/.installed: requirements/main.lock pyproject.toml | $(UV)
	@[ -x $(VENV)/bin/python ] || $(UV) venv -q --python $(PYTHON) $(VENV)
	$(UV) pip sync -q --python $(VENV)/bin/python requirements/main.lock
	$(UV) pip install -q --python $(VENV)/bin/python --no-deps --no-build-isolation -e .
	@touch $@

$(PAGE_READER): extractors/sqlite_pages.c | $(VENV)/.installed
	cc $(PAGE_READER_CFLAGS) -o $@ $<

$(SUPERSET_VENV)/.installed: requirements/superset.lock | $(UV)
	@[ -x $(SUPERSET_VENV)/bin/python ] || $(UV) venv -q --python $(PYTHON) $(SUPERSET_VENV)
	$(UV) pip sync -q --python $(SUPERSET_VENV)/bin/python requirements/superset.lock
	@touch $@

# The extract-load benchmark's peer (dlt) lives apart: benchmarks/elt_bench.py runs it in this venv.
bench-env: $(BENCH_VENV)/.installed

$(BENCH_VENV)/.installed: requirements/bench.lock | $(UV)
	@[ -x $(BENCH_VENV)/bin/python ] || $(UV) venv -q --python $(PYTHON) $(BENCH_VENV)
	$(UV) pip sync -q --python $(BENCH_VENV)/bin/python requirements/bench.lock
	@touch $@

demo: install
	$(VENV)/bin/pulse demo

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest -n 2 --dist loadgroup

lint:
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Re-resolve the lock files after editing requirements/*.in (needs PyPI).
lock: | $(UV)
	$(UV) pip compile -q requirements/main.in --python-version 3.11 --generate-hashes -o requirements/main.lock
	$(UV) pip compile -q requirements/superset.in --python-version 3.11 --generate-hashes -o requirements/superset.lock

clean:
	rm -rf $(VENV) $(SUPERSET_VENV) $(TOOLS) .pulse
