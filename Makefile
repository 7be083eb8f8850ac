# lifemsg — developer entry points. `make help` lists them.
#
#   make run     first trial: SQLite + filesystem broker in var/, web on http://127.0.0.1:8000/
#   make test    PostgreSQL + Redis (DATABASE_URL, REDIS_URL), ruff, pytest
#   make bench   the municipal-scale benchmark (own databases lifemsg_bench*, Redis db 8)
#   make chaos   fault injection against its own PostgreSQL, Redis, gunicorn, worker and beat
#
# Variables: PYTHON (interpreter for the venv, >= 3.11), BENCH_PYTHON (make bench's), HOST/PORT (make run),
# PYTEST_ARGS (e.g. make test PYTEST_ARGS='-k healthz -x'), BENCH_ARGS (e.g. make bench BENCH_ARGS=--reuse).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.lifemsg-deps-installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
BENCH_ARGS ?=
CHAOS_ARGS ?=
# The benchmark drops and recreates lifemsg_bench and lifemsg_bench_small on the server of this URL.
BENCH_DATABASE_URL ?= postgres://root@127.0.0.1:5432/lifemsg_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/8
# The benchmark's interpreter, in its own virtualenv: the distribution's Python where there is one,
# else PYTHON. Production's image (python:3.11-slim) is built with PGO and LTO, as Debian's
# /usr/bin/python3.11 is; pyenv's default build is not, and ran the bench's pages 15-25% slower.
# Another: make bench BENCH_PYTHON=/path/to/python3 (the table names the interpreter).
BENCH_PYTHON ?= $(or $(shell for p in /usr/bin/python3.13 /usr/bin/python3.12 /usr/bin/python3.11; do \
	if [ -x $$p ] && $$p -c 'import ensurepip, venv' 2>/dev/null; then echo $$p; break; fi; done),$(PYTHON))
BENCH_VENV ?= .venv-bench
# make run's state (SQLite, filesystem broker, beat schedule); the settings read LIFEMSG_VAR_DIR too.
VAR_DIR := $(or $(LIFEMSG_VAR_DIR),var)

# The first interpreter on PATH that is Python >= 3.11.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; \
	then echo $$p; break; fi; done)

.PHONY: help venv install run test bench chaos check-services lint fmt messages clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(PY):
	@if [ -z "$(PYTHON)" ]; then \
		echo "Python >= 3.11 is needed; found: $$(python3 --version 2>&1 || echo none)." >&2; \
		echo "Install it (Debian 12: apt-get install python3 python3-venv) or: make PYTHON=/path/to/python3.11" >&2; \
		exit 1; fi
	$(PYTHON) -m venv $(VENV)

venv: $(PY) ## create .venv (Python >= 3.11) if missing

# Reinstalls only when pyproject.toml (or the installer) changed since the last install.
$(STAMP): pyproject.toml scripts/install_deps.py | $(PY)
	$(PY) scripts/install_deps.py --extra dev
	@touch $@

install: $(STAMP) ## install runtime + dev dependencies from pyproject.toml into .venv

run: export DJANGO_SETTINGS_MODULE := lifemsg.settings.local
run: install ## migrate, seed demo data, serve on HOST:PORT with Celery worker + beat (Ctrl-C stops all)
	@mkdir -p $(VAR_DIR)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo | tee $(VAR_DIR)/demo-logins.txt
	@$(PY) scripts/devserver.py --host $(HOST) --port $(PORT) --logins $(VAR_DIR)/demo-logins.txt

check-services: install ## is the test PostgreSQL + Redis reachable? (DATABASE_URL, REDIS_URL)
	@$(PY) scripts/check_services.py

test: install ## check services, ruff, pytest (browser tests use /usr/bin/chromium)
	@$(PY) scripts/check_services.py
	@if [ ! -x "$${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then \
		echo "warning: no Chromium at $${CHROMIUM_PATH:-/usr/bin/chromium}; the browser tests will fail." >&2; \
		echo "         apt-get install chromium, or skip them: make test PYTEST_ARGS='-m \"not browser\"'" >&2; fi
	$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check . >/dev/null 2>&1 || \
		echo "note: \`ruff format\` would reformat some files (make fmt); not a failure."
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: ## seed the reference workload (own DBs), measure pages, ingest, sick call, load; print the table
	@$(MAKE) install VENV=$(BENCH_VENV) PYTHON=$(BENCH_PYTHON)
	@DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) $(BENCH_VENV)/bin/python scripts/check_services.py
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) BENCH_REDIS_URL=$(BENCH_REDIS_URL) \
		$(BENCH_VENV)/bin/python -m bench.run $(BENCH_ARGS)

# Needs root (initdb runs as the postgres user), PostgreSQL's and Redis's server binaries on PATH.
chaos: install ## fault injection (own servers on loopback): lost/duplicated/unrouted per fault; CHAOS_ARGS=--short
	$(PY) -m bench.chaos $(CHAOS_ARGS)

lint: install ## ruff check + format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: install ## ruff format + safe autofixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# scripts/translations.py knows the catalogues: locale/ (templates/, lifemsg/) and <app>/locale for
# every app; English is the source language and its catalogue is filled from the msgids.
messages: install ## update the sv/en catalogues (project + every app), then compile the .mo files
	@command -v msgfmt >/dev/null || { echo "gettext is needed: apt-get install gettext" >&2; exit 1; }
	$(PY) scripts/translations.py make
	$(PY) scripts/translations.py compile
	@$(PY) scripts/translations.py check >/dev/null || \
		echo "note: untranslated strings remain; list them with: $(PY) scripts/translations.py check"

clean: ## remove caches (keeps .venv and var/)
	find . -path ./.venv -prune -o -name __pycache__ -type d -exec rm -rf {} +
	rm -rf .ruff_cache .pytest_cache
