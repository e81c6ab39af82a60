# Two commands do all set-up on a fresh Debian machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint unit bench services venv deps dev-deps migrate lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Both requirement files are locks with hashes (pip then checks every download against them);
# the dev file is installed together with the runtime one, never alone.
$(VENV)/.deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.txt -r requirements-dev.txt
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

## make lock: requirements.in -> requirements.txt and requirements-dev.in -> requirements-dev.txt,
## pinned with hashes. Add a dependency: one line in the .in file, then `make lock`. Pins already
## in the lock are kept; `make lock LOCK_ARGS=--upgrade` (or --upgrade-package NAME) moves them.
## Resolved against PyPI alone (local pip configuration ignored), so the hashes are the ones
## Heroku and Docker download.
LOCK_ARGS ?=
PIP_COMPILE = env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL PIP_CONFIG_FILE=/dev/null \
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)
lock: dev-deps
	$(PIP_COMPILE) --output-file requirements.txt requirements.in
	$(PIP_COMPILE) --output-file requirements-dev.txt requirements-dev.in

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
