# One entry point. `make run` brings everything up locally; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test unit contract integration lint format bench system-deps clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

system-deps:
	@command -v redis-server >/dev/null || { echo "installing redis-server (apt-get)"; \
		(apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

run: $(STAMP) system-deps
	$(PY) -m cluster.local

test: $(STAMP) system-deps
	$(PY) -m pytest --cov --cov-report=term --cov-fail-under=90 tests

unit: $(STAMP)
	$(PY) -m pytest tests/unit

contract: $(STAMP)
	$(PY) -m pytest tests/contract

integration: $(STAMP) system-deps
	$(PY) -m pytest tests/integration

lint: $(STAMP)
	$(VENV)/bin/ruff check actors serve cluster tests bench
	$(VENV)/bin/ruff format --check actors serve cluster tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff format actors serve cluster tests bench
	$(VENV)/bin/ruff check --fix actors serve cluster tests bench

bench: $(STAMP) system-deps
	@command -v wrk >/dev/null || { (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(PY) -m bench.run
	$(PY) -m bench.matching
	$(PY) -m bench.live

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
