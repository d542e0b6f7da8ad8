# Comanda, locally: PostgreSQL, Kafka and RabbitMQ as private processes (stack/), the app under
# supervisord. No Docker needed. `make run` for the foreground dev loop, `make up`/`make down`.

SHELL := /bin/bash
PY    := .venv/bin/python
STACK := $(PY) -m stack
STAMP := .venv/.installed
STATE := $(or $(COMANDA_STATE_DIR),.run)
API   := http://127.0.0.1:$(or $(COMANDA_API_PORT),8000)
# Export the running stack's connection settings into a recipe line's shell.
WITH_ENV := set -a && eval "$$($(STACK) env)" && set +a &&

.PHONY: help venv .venv up run down reset test env lint bench logs status services urls

help:
	@echo "make run     services + migrations + seeds, then the app in the foreground (Ctrl-C stops the app)"
	@echo "make up      the same, app in the background under supervisord"
	@echo "make down    stop the app and the services (data kept); make reset also wipes the data"
	@echo "make test    make up, then pytest -m 'not chaos' (CI=true: make down afterwards)"
	@echo "make bench   make up, then load it through the API and print figures (BENCH_ARGS=...)"
	@echo "make status | logs | env | lint"

# The venv is rebuilt when pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv .venv
	.venv/bin/pip install -q -e '.[dev]'
	@touch $@

venv .venv: $(STAMP)

# Services up, schema migrated, demo data in place.
services: .venv
	$(STACK) up
	$(WITH_ENV) .venv/bin/alembic upgrade head
	$(WITH_ENV) $(PY) -m seeds

urls:
	@echo
	@echo "  API      $(API)"
	@echo "  Swagger  $(API)/api/v1/docs"
	@echo "  Ready    $(API)/readyz"
	@echo

up: services
	$(STACK) procs-up
	@$(MAKE) --no-print-directory urls

run: services
	@$(MAKE) --no-print-directory urls
	@echo "Ctrl-C stops the app processes; PostgreSQL, Kafka and RabbitMQ stay up (make down stops everything)."
	$(STACK) run

down: .venv
	$(STACK) procs-down
	$(STACK) down

reset: down
	$(STACK) reset

# pytest's exit code is the target's; with CI=true everything is stopped afterwards.
test: .venv
	@rc=0; \
	$(MAKE) --no-print-directory up || rc=$$?; \
	if [ $$rc -eq 0 ]; then \
		$(WITH_ENV) .venv/bin/pytest -m "not chaos" tests || rc=$$?; \
	fi; \
	if [ "$${CI:-}" = "true" ]; then $(MAKE) --no-print-directory down || true; fi; \
	exit $$rc

env:
	@.venv/bin/python -m stack env

lint: .venv
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

# Figures, not assertions: throughput, latency and memory of the running stack.
bench: up
	$(WITH_ENV) $(PY) -m tests.bench $(BENCH_ARGS)

logs:
	tail -n 20 -F $(STATE)/logs/*.log $(STATE)/logs/rabbitmq/*.log

status: .venv
	@$(STACK) status
	@$(STACK) procs-status
