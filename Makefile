# The two commands of the README, `make demo` and `make test`; and `make bench`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: demo test lint bench tools

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# Debian's packages the tests drive: Chromium (the browser tests; nothing is downloaded by
# the test tools), nginx, systemd-analyze, sqlite3 and pg_dump (the operators' guide),
# redis-server (the Redis fault tests).
TOOLS := chromium:chromium nginx:nginx-light systemd-analyze:systemd sqlite3:sqlite3 \
	pg_dump:postgresql-client openssl:openssl redis-server:redis-server
tools:
	@missing="$$(for tool in $(TOOLS); do PATH="$$PATH:/usr/sbin" command -v $${tool%%:*} \
		>/dev/null || echo $${tool#*:}; done)"; [ -z "$$missing" ] || { \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing; }

DEMO_ADMIN ?= demo@closeloop.test
DEMO_PASSWORD ?= demo-password-123

demo: $(VENV)/.runtime
	$(BIN)/flask --app app db upgrade
	@$(BIN)/flask --app app staff add $(DEMO_ADMIN) --role admin --password $(DEMO_PASSWORD) \
		>/dev/null 2>&1 || true
	$(BIN)/flask --app app demo seed
	@echo "Closeloop demo: open http://$(HOST):$(PORT)/demo/"
	@echo "Staff workspace: http://$(HOST):$(PORT)/staff/ ($(DEMO_ADMIN) / $(DEMO_PASSWORD))"
	$(BIN)/flask --app app run --debug --host $(HOST) --port $(PORT)

test: $(VENV)/.dev tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Every benchmark (about 10 minutes on 2 cores), then one table of their figures. Needs the
# PostgreSQL of `make test`; BENCH_ARGS=--quick shortens each run for a smoke test.
bench: $(VENV)/.runtime
	$(BIN)/python -m bench.all $(BENCH_ARGS)
