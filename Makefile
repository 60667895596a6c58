# Clientele: `make run` serves the demo retailer, `make test` runs the test suite. See README.md.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_CUSTOMERS ?= 10000
PYTEST_ARGS ?=

.PHONY: run test lint format bench browser install migrate demo messages gettext
# What makemessages leaves out: other people's code, the tests, generated files.
I18N_IGNORE := --ignore ".venv/*" --ignore "tests/*" --ignore "benchmarks/*" --ignore "staticfiles/*" --ignore "var/*"

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

# GNU gettext for `make messages` and the test that checks the catalogue is complete; installed where we can.
gettext:
	@if command -v xgettext >/dev/null && command -v msgfmt >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing GNU gettext for the translation catalogue's test"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null) \
			|| echo "gettext could not be installed: the catalogue's extraction test will skip"; \
	else echo "gettext is not installed: the catalogue's extraction test will skip"; fi

# The French catalogue of the product's own pages and messages: extract what the code marks for translation into
# locale/fr/LC_MESSAGES/django.po (translate what is new there), then compile django.mo, which is committed: running
# the product and its tests needs no gettext tool.
messages: install gettext
	$(PY) manage.py makemessages -l fr --no-obsolete --no-location $(I18N_IGNORE)
	$(PY) manage.py compilemessages -l fr $(I18N_IGNORE)

test: install browser gettext
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
