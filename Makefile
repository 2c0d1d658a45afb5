# Parley: one command surface. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help venv run stack-run stack stack-down stack-status test test-unit bench check lint format lock clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## create .venv with the pinned dependencies

run: $(STAMP) ## Parley in one process on :8000, nothing but Python (SQLite; data in .parley/embedded); ARGS=--empty skips the example
	@PARLEY_LOG_FORMAT=$${PARLEY_LOG_FORMAT:-text} $(PY) -m services.embedded $(ARGS)

stack-run: $(STAMP) ## the real system (Kafka, PostgreSQL and the four services) in the foreground; Ctrl-C stops it
	@bash deploy/local/stack.sh run

stack: $(STAMP) ## start the whole system in the background and wait until it is ready
	@bash deploy/local/stack.sh up

stack-down: ## stop everything `make stack` started (data kept in .parley/stack)
	@bash deploy/local/stack.sh down

stack-status: ## what is running
	@bash deploy/local/stack.sh status

test: $(STAMP) ## lint, then every test on a real Kafka and PostgreSQL (started and stopped for you)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest

test-unit: $(STAMP) ## only the unit tests (no Kafka, no PostgreSQL)
	$(VENV)/bin/pytest -m unit

bench: $(STAMP) ## run the benchmarks at full size (minutes) and write docs/benchmarks.md
	$(PY) -m bench --output docs/benchmarks.md

check: $(STAMP) ## ruff lint and format check, mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy shared services bench faults

format: $(STAMP) ## format the code
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

lock: ## re-pin constraints.txt from a fresh resolve of pyproject.toml
	rm -rf /tmp/parley-lock && $(PYTHON) -m venv /tmp/parley-lock
	/tmp/parley-lock/bin/pip install --quiet -e '.[dev]'
	/tmp/parley-lock/bin/pip freeze --exclude-editable | grep -v '^parley' > constraints.txt

clean: ## remove the virtual environment and all local data (.parley)
	-bash deploy/local/stack.sh down
	rm -rf $(VENV) .parley

# Fault scenarios (faults/): each starts its own Kafka and PostgreSQL on free ports, injects
# its fault, prints a tally and stops everything. EVENTS=N changes the load's size.
.PHONY: fault-all fault-kill-projector fault-kafka-down fault-postgres-down
FAULT_EVENTS = $(if $(EVENTS),--events $(EVENTS))

fault-kill-projector: $(STAMP) ## kill -9 the projector 3 times amid 50,000 events; tally
	$(PY) -m faults kill-projector $(FAULT_EVENTS)

fault-kafka-down: $(STAMP) ## stop Kafka for 10 s under load: 503s, no lost 202s; tally
	$(PY) -m faults kafka-down $(FAULT_EVENTS)

fault-postgres-down: $(STAMP) ## stop PostgreSQL for 10 s mid-projection; tally
	$(PY) -m faults postgres-down $(FAULT_EVENTS)

fault-all: $(STAMP) ## the three fault scenarios, each run even if an earlier one failed
	@rc=0; for scenario in kill-projector kafka-down postgres-down; do \
	  $(PY) -m faults $$scenario $(FAULT_EVENTS) || rc=1; done; exit $$rc
