# Clientele: `make run` serves the demo retailer, `make test` runs the test suite. See README.md.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_CUSTOMERS ?= 10000
PYTEST_ARGS ?=

.PHONY: run test lint format bench browser install migrate demo

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --no-input

# Builds the demo retailer (again: an existing demo is imported over, idempotently).
demo: migrate
	$(PY) manage.py demo --customers $(DEMO_CUSTOMERS)

# Serves the demo; builds it only when the database holds no customer yet (`make demo` builds it again).
run: migrate
	$(PY) manage.py demo --customers $(DEMO_CUSTOMERS) --keep-existing
	$(PY) manage.py create_demo_users
	@echo "Serving on http://$(HOST):$(PORT)/ (Ctrl-C stops)"
	$(PY) manage.py runserver $(HOST):$(PORT)

# Debian's chromium and its driver for the page tests; installed where we can (root with apt), else those tests skip.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium and chromium-driver for the page tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
			|| echo "chromium could not be installed: page tests will skip (or fail under CI=true)"; \
	else echo "chromium is not installed and apt is not available: page tests will skip"; fi

test: install browser
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	$(PY) benchmarks/run.py
