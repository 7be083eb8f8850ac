# lifemsg — developer entry points. `make help` lists them.
#
#   make run     first trial: SQLite + filesystem broker in var/, web on http://127.0.0.1:8000/
#   make test    PostgreSQL + Redis (DATABASE_URL, REDIS_URL), ruff, pytest
#   make bench   the municipal-scale benchmark (own databases lifemsg_bench*, Redis db 8)
#   make chaos   fault injection against its own PostgreSQL, Redis, gunicorn, worker and beat
#   make upgrade newest releases within pyproject.toml's ranges into requirements/, then make test
#
# Every venv installs from requirements/lock*.txt (pinned, hashed; scripts/install_deps.py), never
# from the ranges: `make lock` after editing pyproject.toml, `make upgrade` to take new releases.
#
# Variables: PYTHON (interpreter for the venv, >= 3.11), BENCH_PYTHON (make bench's), HOST/PORT (make run),
# PYTEST_ARGS (e.g. make test PYTEST_ARGS='-k healthz -x'), PYTEST_WORKERS (xdist processes; 0: one), BENCH_ARGS (e.g. make bench BENCH_ARGS=--reuse).

SHELL := /bin/bash
# Python may write bytecode: pytest keeps the assertion-rewritten modules (the tests and the plugins'
# packages) only as .pyc files, and without them every pytest process compiles them all again.
unexport PYTHONDONTWRITEBYTECODE
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.lifemsg-deps-installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# pytest-xdist workers for make test, test-nofast and test-django6: one per core, at most 4 (each
# takes a Redis database below REDIS_URL's; lifemsg/settings/test.py). PYTEST_WORKERS=0: one process.
PYTEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n < 4 ? n : 4 )))
XDIST := $(if $(filter-out 0 1,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS))
# Which tests the variants run (test-nofast, test-sqlite; test-django6 in test-matrix, DJ6_MARKS);
# make test: all.
PYTEST_MARKS ?= not browser
DJ6_MARKS ?=
BENCH_ARGS ?=
CHAOS_ARGS ?=
LOCK := requirements/lock.txt
LOCK_DEV := requirements/lock-dev.txt
LOCK_DJ6 := requirements/lock-django6.txt
# uv resolves from the package index alone (--no-config: no machine or user configuration), for
# Python >= 3.11 on every platform (--universal), and writes each file's hash.
UV_COMPILE := $(VENV)/bin/uv pip compile --no-config --quiet --universal --generate-hashes \
	--custom-compile-command "make lock" pyproject.toml
LOCK_ARGS ?=
DJ6_VENV ?= .venv-dj6
# Django 6 needs Python >= 3.12: the first found on PATH or under pyenv.
DJ6_PYTHON ?= $(shell for p in python3.13 python3.12 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[23]*/bin/python3 2>/dev/null); do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; \
	then echo $$p; break; fi; done)
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

.PHONY: help venv install system-deps run test test-nofast test-sqlite test-django6 test-matrix lock upgrade bench chaos check-services lint fmt \
	messages clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(PY):
	@if [ -z "$(PYTHON)" ]; then \
		echo "Python >= 3.11 is needed; found: $$(python3 --version 2>&1 || echo none)." >&2; \
		echo "Install it (Debian 12: apt-get install python3 python3-venv) or: make PYTHON=/path/to/python3.11" >&2; \
		exit 1; fi
	$(PYTHON) -m venv $(VENV)

venv: $(PY) ## create .venv (Python >= 3.11) if missing

# Reinstalls only when the lock (or the installer) changed since the last install.
$(STAMP): $(LOCK_DEV) scripts/install_deps.py | $(PY)
	$(PY) scripts/install_deps.py --dev
	@touch $@

install: $(STAMP) ## install runtime + dev dependencies from requirements/lock-dev.txt into .venv

system-deps: ## what the suite needs from Debian (Chromium, gettext, redis-server): installs it as root
	@bash scripts/system_deps.sh $(PYTHON)

run: export DJANGO_SETTINGS_MODULE := lifemsg.settings.local
run: install ## migrate, seed demo data, serve on HOST:PORT with Celery worker + beat (Ctrl-C stops all)
	@mkdir -p $(VAR_DIR)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo | tee $(VAR_DIR)/demo-logins.txt
	@$(PY) scripts/devserver.py --host $(HOST) --port $(PORT) --logins $(VAR_DIR)/demo-logins.txt

check-services: install ## is the test PostgreSQL + Redis reachable? (DATABASE_URL, REDIS_URL)
	@$(PY) scripts/check_services.py

test: system-deps install ## check services, ruff, pytest (browser tests use /usr/bin/chromium)
	@$(PY) scripts/check_services.py
	$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check . >/dev/null 2>&1 || \
		echo "note: \`ruff format\` would reformat some files (make fmt); not a failure."
	$(VENV)/bin/lint-imports --no-cache  # the layering (pyproject.toml [tool.importlinter]; README)
	$(VENV)/bin/pytest $(XDIST) $(PYTEST_ARGS)

# The suite with the fast path (lifemsg/perf) off: every caller on Django's own ORM paths.
test-nofast: install ## the suite with LIFEMSG_FAST_PATH=false (PYTEST_MARKS: which tests; CI: not browser)
	@$(PY) scripts/check_services.py
	LIFEMSG_FAST_PATH=false $(VENV)/bin/pytest $(XDIST) -m "$(PYTEST_MARKS)" $(PYTEST_ARGS)

# make run's database: SQLite in a file, var/test_lifemsg.sqlite3, which the worker tests' Celery
# workers open too (Redis still for cache and broker); postgres_only and fast_path ones skip.
test-sqlite: install ## the suite on SQLite, as make run uses it (PYTEST_MARKS; postgres_only skips)
	@mkdir -p $(VAR_DIR)
	DATABASE_URL=sqlite:///$(VAR_DIR)/lifemsg.sqlite3 $(VENV)/bin/pytest \
		-m "$(PYTEST_MARKS)" $(PYTEST_ARGS)

# CI's matrix after make test: fast path off, SQLite, Django 6 (each without the browser tests).
test-matrix: ## make test-nofast, test-sqlite and test-django6, browser tests left out
	$(MAKE) test-nofast
	$(MAKE) test-sqlite
	$(MAKE) test-django6 DJ6_MARKS="$(PYTEST_MARKS)"

# The suite on Django 6 (Python >= 3.12), from its own lock; Django 5.2 stays what runs in production.
test-django6: system-deps ## the suite on Django 6.x in .venv-dj6 (requirements/lock-django6.txt)
	@if [ -z "$(DJ6_PYTHON)" ]; then echo "Django 6 needs Python >= 3.12: make test-django6 DJ6_PYTHON=/path/to/python3.12" >&2; exit 1; fi
	@[ -x $(DJ6_VENV)/bin/python ] || $(DJ6_PYTHON) -m venv $(DJ6_VENV)
	@# --no-deps: uv resolved it with Django 6 in place of the "Django<6" some packages still declare.
	$(DJ6_VENV)/bin/python scripts/install_deps.py --no-deps --lock $(LOCK_DJ6)
	@$(DJ6_VENV)/bin/python scripts/check_services.py
	$(DJ6_VENV)/bin/python -m django --version
	$(DJ6_VENV)/bin/pytest $(XDIST) $(if $(DJ6_MARKS),-m "$(DJ6_MARKS)") $(PYTEST_ARGS)

# Needs only uv (as locked), so it works while the lock lacks what pyproject.toml just gained.
lock: | $(PY) ## rewrite requirements/lock*.txt from pyproject.toml, keeping every pin that still fits
	@[ -x $(VENV)/bin/uv ] || $(PY) scripts/install_deps.py --dev --only uv
	$(UV_COMPILE) --python-version 3.11 --extra dev $(LOCK_ARGS) -o $(LOCK_DEV)
	$(UV_COMPILE) --python-version 3.11 -c $(LOCK_DEV) $(LOCK_ARGS) -o $(LOCK)
	$(UV_COMPILE) --python-version 3.12 --extra dev --override requirements/django6.in $(LOCK_ARGS) -o $(LOCK_DJ6)

# The suite decides: a lock it fails with is not to be committed (the message says how to go back).
upgrade: ## take the newest releases pyproject.toml allows into requirements/, install them, make test
	@$(MAKE) lock LOCK_ARGS=--upgrade
	@git diff --unified=0 -- $(LOCK_DEV) | grep -E '^[-+][a-z0-9]' | sed -E 's/ \\$$//' || echo "no new releases"
	@$(MAKE) test || { echo "make upgrade: the suite fails with the new lock; keep the old one:" >&2; \
		echo "  git checkout -- requirements/ && make install" >&2; exit 1; }
	@echo "make upgrade: the suite passes with the new lock; commit requirements/."

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
	$(VENV)/bin/lint-imports --no-cache

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

clean: ## remove caches (keeps the venvs and var/)
	find . -path ./.venv -prune -o -name __pycache__ -type d -exec rm -rf {} +
	rm -rf .ruff_cache .pytest_cache
