# Comanda, locally: PostgreSQL, Kafka and RabbitMQ as private processes (stack/), the app under
# supervisord. No Docker needed. `make run` for the foreground dev loop, `make up`/`make down`.

SHELL := /bin/bash
PY    := .venv/bin/python
STACK := $(PY) -m stack
STAMP := .venv/.installed
STATE := $(or $(COMANDA_STATE_DIR),.run)
# Export the running stack's connection settings into a recipe line's shell.
WITH_ENV := set -a && eval "$$($(STACK) env)" && set +a &&

.PHONY: help venv .venv up run down reset test fuzz env lint bench bench-storm bench-soak \
	logs status services urls \
	test-browser trace screenshots

help:
	@echo "make run     services + migrations + seeds, then the app in the foreground (Ctrl-C stops the app)"
	@echo "make up      the same, app in the background under supervisord"
	@echo "make down    stop the app and the services (data kept); make reset also wipes the data"
	@echo "make test    make lint, make up, then every suite but the long chaos run (CI=true: make down afterwards)"
	@echo "make bench   make up, then load it through the API and print figures (BENCH_ARGS=...)"
	@echo "make bench-storm  5,000 acceptance deadlines within a minute, new orders meanwhile"
	@echo "make bench-soak   ORDERS=N (default 100,000) at a rate the pipeline holds: RSS, pruning"
	@echo "make trace ORDER=<id>  one order's path through every process's log, in time order"
	@echo "make demo    list the concept demos; make demo-<concept> runs one (docs/DEMOS.md)"
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

# The public URLs (nginx, HTTPS: console, API, Swagger), the plain-HTTP one that redirects,
# the CA to trust, the API processes behind nginx (COMANDA_API_PROCESSES), and where to
# watch it (Prometheus, Flower, the RabbitMQ UI).
urls: .venv
	@$(STACK) urls
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

# Every suite, named (the short chaos run included; the long one is make chaos). Recovery,
# chaos and demo tests run last (tests/conftest.py). pytest's exit code is the target's;
# with CI=true everything is stopped afterwards.
TEST_MARKERS := (unit or integration or e2e or security or recovery or chaos) and not long
# make lint runs beside make up (which mostly waits for the services to start); its output is
# shown once it is done, and a failure stops the target before pytest, as before.
test: .venv
	@rc=0; lint_log=$$(mktemp); \
	$(MAKE) --no-print-directory lint > "$$lint_log" 2>&1 & lint_pid=$$!; \
	$(MAKE) --no-print-directory up || rc=$$?; \
	lint_rc=0; wait $$lint_pid || lint_rc=$$?; cat "$$lint_log"; rm -f "$$lint_log"; \
	if [ $$lint_rc -ne 0 ]; then echo "make test: make lint failed" >&2; rc=$$lint_rc; fi; \
	if [ $$rc -eq 0 ]; then $(STACK) browser || rc=$$?; fi; \
	if [ $$rc -eq 0 ]; then \
		$(WITH_ENV) .venv/bin/pytest -m "$(TEST_MARKERS)" --durations=25 tests || rc=$$?; \
	fi; \
	if [ "$${CI:-}" = "true" ]; then $(MAKE) --no-print-directory down || true; fi; \
	exit $$rc

# A long fuzz run (tests/security/fuzz.py); make test runs a short one (tests/security).
# FUZZ_EXAMPLES per operation and phase; FUZZ_SECONDS, if set, is the time each caller's run
# keeps fuzzing for (schemathesis repeats fuzzing and stateful phases until it is spent).
fuzz: .venv
	$(MAKE) --no-print-directory up
	$(WITH_ENV) $(PY) -m tests.security.fuzz --examples $(or $(FUZZ_EXAMPLES),200) \
		--max-time $(or $(FUZZ_SECONDS),0)

# The console in headless Chromium (tests/browser); screenshots in $(STATE)/screenshots/.
test-browser: .venv
	$(MAKE) --no-print-directory up
	$(STACK) browser
	$(WITH_ENV) .venv/bin/pytest -m browser tests/browser

env:
	@.venv/bin/python -m stack env

# Style (ruff) and the layer order (import-linter contracts in .importlinter).
lint: .venv
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports

# Figures, not assertions: throughput, latency and memory of the running stack.
bench: up
	$(WITH_ENV) $(PY) -m tests.bench $(BENCH_ARGS)

bench-storm: up
	$(WITH_ENV) $(PY) -m tests.bench.storm $(BENCH_ARGS)

bench-soak: up
	$(WITH_ENV) ORDERS=$(ORDERS) $(PY) -m tests.bench.soak $(BENCH_ARGS)

# One order's log lines from every process, merged in time order (by its correlation ids).
trace: .venv
	@test -n "$(ORDER)" || { echo "usage: make trace ORDER=<order id>" >&2; exit 2; }
	@$(STACK) trace $(ORDER)

# The README's pictures of Flower and Prometheus, from the running stack (headless Chromium).
screenshots: .venv
	$(STACK) screenshots

logs:
	tail -n 20 -F $(STATE)/logs/*.log $(STATE)/logs/rabbitmq/*.log

status: .venv
	@$(STACK) status
	@$(STACK) procs-status

# Chaos runs (tests/chaos): each on a stack of its own, apart from the default one (state dir
# and ports), so the three-broker layout never meets one-broker data. The stack is brought up
# the `make up` way, the harness prints its table, the stack is stopped (data and logs kept
# under the state dir; CHAOS_KEEP=1 leaves it running). CHAOS_ARGS adds harness options,
# e.g. CHAOS_ARGS="--seed 7". The exit status is the harness's: non-zero on any violation.
CHAOS_1_ENV := COMANDA_STATE_DIR=$(CURDIR)/.run/chaos-1 COMANDA_KAFKA_BROKERS=1 \
	COMANDA_API_PORT=18080 COMANDA_HTTP_PORT=18088 COMANDA_HTTPS_PORT=18443 COMANDA_PG_PORT=18432 COMANDA_KAFKA_PORT=18092 \
	COMANDA_KAFKA_CONTROLLER_PORT=18093 COMANDA_RABBITMQ_PORT=18672 \
	COMANDA_RABBITMQ_DIST_PORT=18673 COMANDA_EPMD_PORT=18369 \
	COMANDA_METRICS_PORT=18100 \
	COMANDA_PROMETHEUS_PORT=18190 COMANDA_FLOWER_PORT=18155 COMANDA_RABBITMQ_MANAGEMENT_PORT=18156
CHAOS_3_ENV := COMANDA_STATE_DIR=$(CURDIR)/.run/chaos-3 COMANDA_KAFKA_BROKERS=3 \
	COMANDA_API_PORT=38080 COMANDA_HTTP_PORT=38088 COMANDA_HTTPS_PORT=38443 COMANDA_PG_PORT=38432 COMANDA_KAFKA_PORT=38092 \
	COMANDA_KAFKA_CONTROLLER_PORT=38093 COMANDA_RABBITMQ_PORT=38672 \
	COMANDA_RABBITMQ_DIST_PORT=38673 COMANDA_EPMD_PORT=38369 \
	COMANDA_METRICS_PORT=38100 \
	COMANDA_PROMETHEUS_PORT=38190 COMANDA_FLOWER_PORT=38155 COMANDA_RABBITMQ_MANAGEMENT_PORT=38156
# Each run starts from wiped data (a clean, repeatable start; the harness itself only ever
# reads the topics from the offsets they had when it began). One chaos run per stack at a
# time: two harnesses on one stack kill each other's processes, find each other's poison, and
# the second one's reset/down would pull the stack from under the first.
CHAOS_RUN = rc=0; export $(1); mkdir -p "$$COMANDA_STATE_DIR"; \
	exec 9>"$$COMANDA_STATE_DIR/chaos-make.lock"; \
	flock -n 9 || { echo "chaos: another chaos run is using $$COMANDA_STATE_DIR" >&2; exit 1; }; \
	$(MAKE) --no-print-directory reset || exit $$?; \
	$(MAKE) --no-print-directory up || exit $$?; \
	$(WITH_ENV) $(PY) -m tests.chaos --minutes 10 --orders 5000 --brokers $(2) $(CHAOS_ARGS) \
		|| rc=$$?; \
	if [ -z "$${CHAOS_KEEP:-}" ]; then $(MAKE) --no-print-directory down || true; fi; \
	exit $$rc

# One demo per distributed-systems concept (demos/, docs/DEMOS.md): `make demo` lists them,
# `make demo-<concept>` brings the stack up (unless it is up and ready) and runs one
# (DEMO_ARGS=--short for a quick one).
DEMOS := async event-driven concurrency scaling fault-tolerance security separation
.PHONY: demo $(addprefix demo-,$(DEMOS))

demo: .venv
	@$(PY) -m demos

$(addprefix demo-,$(DEMOS)): demo-%: .venv
	@$(WITH_ENV) $(PY) -m demos --ready || $(MAKE) --no-print-directory up
	@$(WITH_ENV) $(PY) -m demos $* $(DEMO_ARGS)

.PHONY: chaos chaos-3

# >= 10 minutes and >= 5,000 orders on one Kafka broker.
chaos: .venv
	@$(call CHAOS_RUN,$(CHAOS_1_ENV),1)

# The same on three brokers (replication 3, min.insync.replicas 2), a broker killed mid-run.
chaos-3: .venv
	@$(call CHAOS_RUN,$(CHAOS_3_ENV),3)
