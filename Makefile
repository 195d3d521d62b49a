# LeadMaster — the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
VENV := .venv
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.8
PYTHON ?= python3
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: install run test test-unit test-e2e lint format bench system-deps clean

# The virtualenv is rebuilt only when the dependency files change.
$(VENV)/.installed: pyproject.toml uv.lock
	@test -x $(UV) || { $(PYTHON) -m venv $(VENV) && $(VENV)/bin/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION); }
	$(UV) sync --frozen --quiet
	@touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/leadmaster run --demo

system-deps:
	@bash scripts/system-deps.sh

# Unit tests on both cores (pytest-xdist); the e2e tests one at a time: each drives a real server and Chromium,
# and two of those at once on a 2-core machine only make each other's timings flaky.
test: install system-deps
	$(VENV)/bin/pytest -n 2 --durations=15 tests/unit
	$(VENV)/bin/pytest --durations=25 tests/e2e

test-unit: install
	$(VENV)/bin/pytest -n 2 tests/unit

test-e2e: install system-deps
	$(VENV)/bin/pytest tests/e2e

# Lint = the linter, the formatter's check and the type checker (configured in pyproject.toml); CI runs it too.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .

bench: install
	@bash scripts/system-deps.sh --bench
	@shopt -s nullglob; for bench in bench/*.py; do echo "== $$bench"; $(VENV)/bin/python $$bench || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
