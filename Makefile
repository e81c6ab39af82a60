# Two commands do all set-up on a fresh Debian machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint unit bench services venv deps dev-deps migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.deps

venv: $(BIN)/python
deps: $(VENV)/.deps
dev-deps: $(VENV)/.dev-deps

migrate: deps
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput

## make run: the gateway on embedded defaults (SQLite, in-memory layer, web on :8000,
## plus every adapter whose broker, token or TNC is configured).
run: migrate
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runadapter all

## make test: dependencies, services (started when none answers), lint, then pytest.
test: dev-deps services lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

services:
	bash scripts/services.sh

lint: dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check gateway adapters consumers project examples tests bench
	DEBUG=1 $(BIN)/mypy

unit: dev-deps
	$(BIN)/python -m pytest -m "not integration" $(PYTEST_ARGS)

## make bench: benchmarks side by side with the reference systems (see docs/performance.md).
bench: dev-deps services
	bash bench/run.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
