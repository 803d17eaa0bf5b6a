# One entry point. `make run` brings everything up locally; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The web app (frontend/): npm ci when the lock changes, a build when a source does
WEB := frontend
NODE_STAMP := $(WEB)/node_modules/.installed
WEB_BUILD := $(WEB)/dist/index.html
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/e2e -type f 2>/dev/null) \
	$(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/tsconfig.json
NODE_MIN := 20.19

.PHONY: run test unit contract integration lint format bench system-deps clean node web web-test \
	openapi openapi-check table

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

system-deps: node
	@command -v redis-server >/dev/null || { echo "installing redis-server (apt-get)"; \
		(apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
	@command -v chromium >/dev/null || { echo "installing chromium (apt-get), for the web app's e2e tests"; \
		(apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Node.js for the web app: Debian's when there is none (too old a Node is refused, with what to do)
node:
	@command -v npm >/dev/null || { echo "installing nodejs and npm (apt-get)"; \
		(apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	@v=$$(node -p process.versions.node) && printf '%s\n%s\n' $(NODE_MIN) "$$v" | sort -V -C || \
		{ echo "Node $$v is too old for the web app: install Node $(NODE_MIN)+ (nodejs.org)"; exit 1; }

$(NODE_STAMP): $(WEB)/package.json $(WEB)/package-lock.json | node
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

$(WEB_BUILD): $(NODE_STAMP) $(WEB_SOURCES)
	cd $(WEB) && npm run --silent build
	@touch $(WEB_BUILD)

web: node $(WEB_BUILD)

web-test: $(NODE_STAMP)
	cd $(WEB) && npm test --silent

# The web app's API types, from the OpenAPI document (made without Ray or any store)
openapi: $(STAMP) $(NODE_STAMP)
	$(PY) -m serve.openapi > $(WEB)/src/api/openapi.json
	cd $(WEB) && npx openapi-typescript src/api/openapi.json -o src/api/schema.d.ts >/dev/null

# Fails when the committed document or types are not those of the code: run `make openapi`
openapi-check: $(STAMP) $(NODE_STAMP)
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	$(PY) -m serve.openapi > $$tmp/openapi.json && \
	(cd $(WEB) && npx openapi-typescript $$tmp/openapi.json -o $$tmp/schema.d.ts >/dev/null) && \
	diff -u $(WEB)/src/api/openapi.json $$tmp/openapi.json && \
	diff -u $(WEB)/src/api/schema.d.ts $$tmp/schema.d.ts || \
	{ echo "the web app's API types are stale: run make openapi"; exit 1; }

run: $(STAMP) system-deps web
	$(PY) -m cluster.local

test: $(STAMP) system-deps web web-test
	$(PY) -m pytest --cov --cov-report=term --cov-fail-under=90 tests

unit: $(STAMP)
	$(PY) -m pytest tests/unit

contract: $(STAMP)
	$(PY) -m pytest tests/contract

integration: $(STAMP) system-deps web
	$(PY) -m pytest tests/integration

lint: $(STAMP) $(NODE_STAMP) openapi-check
	$(VENV)/bin/ruff check actors serve cluster tests bench
	$(VENV)/bin/ruff format --check actors serve cluster tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	cd $(WEB) && npx tsc --noEmit

format: $(STAMP)
	$(VENV)/bin/ruff format actors serve cluster tests bench
	$(VENV)/bin/ruff check --fix actors serve cluster tests bench

bench: $(STAMP) system-deps
	@command -v wrk >/dev/null || { (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(PY) -m bench.run
	$(PY) -m bench.openloop_run
	$(PY) -m bench.matching
	$(PY) -m bench.live
	$(PY) -m bench.faults
	$(PY) -m bench.scale
	$(PY) -m bench.placement

# The table on AWS (or wherever OP_DYNAMODB_ENDPOINT_URL points): create, TTL, PITR, catalogue
table: $(STAMP)
	$(PY) -m cluster.table

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage $(WEB)/node_modules $(WEB)/dist
