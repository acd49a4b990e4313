# Gatehouse developer tasks.
#
#   make setup   .venv with the package (editable) and its test extra; node_modules
#   make run     dev server on http://127.0.0.1:5000 (scripts/run-dev.sh)
#   make test    pytest against PostgreSQL + Redis (scripts/test.sh; pytest args: ARGS=...)
#   make lint    ruff
#   make bench   benchmarks beside the peer (scripts/bench.sh; docs/performance.md)
#
# setup only does work when something changed: pip re-runs when pyproject.toml
# is newer than a stamp inside .venv, npm ci when package-lock.json is newer
# than a stamp inside node_modules (or govuk-frontend is missing).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
PIP_STAMP := $(VENV)/.gatehouse-pip-stamp
NPM_STAMP := node_modules/.gatehouse-npm-stamp

# An editable install made while idp/ did not exist yet maps no package (the
# flat layout is installed through an import finder listing the packages found
# at install time), so redo it once, when idp/ appears. The stamp records
# whether idp/ was there.
PIP_FORCE := $(if $(wildcard idp/__init__.py),$(if $(shell grep -qsx with-idp $(PIP_STAMP) && echo y),,FORCE))
# npm ci when govuk-frontend has gone missing, whatever the stamp says.
NPM_FORCE := $(if $(wildcard node_modules/govuk-frontend/package.json),,FORCE)

.PHONY: setup run test lint bench FORCE

setup: $(PIP_STAMP) $(NPM_STAMP)

$(VENV)/bin/python:
	@echo "setup: creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV)

$(PIP_STAMP): pyproject.toml $(PIP_FORCE) | $(VENV)/bin/python
	@echo "setup: pip install -e '.[test]'"
	@$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@if [ -f idp/__init__.py ]; then echo with-idp; else echo without-idp; fi > $@

$(NPM_STAMP): package-lock.json $(NPM_FORCE)
	@command -v npm >/dev/null || { echo "setup: npm is not installed (needs Node.js 20 and npm)" >&2; exit 1; }
	@echo "setup: npm ci"
	@npm ci --no-audit --no-fund --loglevel=error >/dev/null
	@touch $@

run: setup
	@scripts/run-dev.sh

# `make test ARGS='-k foo -x'` passes ARGS on to pytest.
test: setup
	@scripts/test.sh $(ARGS)

# `BENCH_QUICK=1 make bench` is a smoke run of a few minutes.
bench: setup
	@scripts/bench.sh

lint: setup
	@$(VENV)/bin/ruff check idp tests bench
