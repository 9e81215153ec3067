# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: demo test lint chromium

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# Debian's Chromium: the browser tests drive it; nothing is downloaded by the test tools.
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
		$(SUDO) apt-get install -y -qq chromium; }

demo: $(VENV)/.runtime
	$(BIN)/flask --app app db upgrade
	@echo "Closeloop demo: open http://$(HOST):$(PORT)/demo/"
	$(BIN)/flask --app app run --debug --host $(HOST) --port $(PORT)

test: $(VENV)/.dev chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
