# Tocsin — run `make help` for the list of targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8080
# The demo's local SMTP port: mail sent to it is kept in the console's outbox (nothing is relayed).
MAIL_PORT ?= 1025
export TOCSIN_DATABASE_URL ?= sqlite:///./tocsin.db

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install Tocsin with its development tools

run: export TOCSIN_OUTBOX_SMTP_LISTEN ?= 127.0.0.1:$(MAIL_PORT)
run: $(STAMP) ## Set up, load demo data and serve Tocsin on http://127.0.0.1:8080 (SQLite; PORT=, MAIL_PORT= to move)
	$(BIN)/tocsin db upgrade
	$(BIN)/tocsin demo --host $(HOST) --port $(PORT)
	$(BIN)/tocsin serve --host $(HOST) --port $(PORT)

test: $(STAMP) ## Set up, lint (ruff, mypy, import contracts) and run the whole test suite (SQLite and PostgreSQL)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q -n auto --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP) ## ruff, mypy (strict) and import-linter layer contracts
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(STAMP) ## Format the code
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

screenshots: $(STAMP) ## Refresh docs/screenshots/ from the browser tests (tests themselves write to build/)
	TOCSIN_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q -p no:cacheprovider tests/e2e

chaos: $(STAMP) ## Long reliability drills: 1,000 incidents under SIGKILL, 500 ack races, frozen workers (PostgreSQL needed)
	TOCSIN_CHAOS=1 $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/reliability $(PYTEST_ARGS)

bench: $(STAMP) ## Run the benchmarks (BENCH_ARGS="--quick", "--only NAME", "--profile"); results go to bench/results/
	@need=(); \
	command -v wrk >/dev/null 2>&1 || need+=(wrk); \
	command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager); \
	if [ $${#need[@]} -gt 0 ]; then apt-get update -qq && apt-get install -y -qq "$${need[@]}" >/dev/null; fi
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean: ## Remove the virtualenv and local databases
	rm -rf $(VENV) tocsin.db tocsin.db-wal tocsin.db-shm tocsin.db-writer.lock tocsin.db-writer.queue

.PHONY: help install run test lint format screenshots bench chaos clean
