# Parvis — the two commands of the README, and their building blocks.
#   make run    set up everything and serve the demo communes on http://127.0.0.1:$(PORT)/
#   make test   set up everything and run the whole test suite (lint, migrations, pytest, browser)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
PYTEST_ARGS ?=
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install messages makemessages chromium lint migrations-check pytest lock format bench

$(VENV)/.installed: pyproject.toml requirements.lock
	@command -v msgfmt >/dev/null || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q gettext)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

install: $(VENV)/.installed

messages: install
	DJANGO_SETTINGS_MODULE=parvis.settings_test $(BIN)/python manage.py compilemessages \
		--ignore=.venv --ignore=node_modules -v0

# Refresh locale/en/LC_MESSAGES/django.po from the source (French) strings.
makemessages: install
	DJANGO_SETTINGS_MODULE=parvis.settings_test $(BIN)/python manage.py makemessages -l en \
		--ignore=.venv --ignore=node_modules --ignore=staticfiles --no-obsolete --add-location=file

run: messages
	DEBUG=1 $(BIN)/python manage.py migrate --noinput -v0
	DEBUG=1 $(BIN)/python manage.py load_demo --base-url http://127.0.0.1:$(PORT)
	DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Browser journeys drive Debian's Chromium (browsers cannot be downloaded here).
chromium:
	@test -x /usr/bin/chromium || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/djlint parvis --lint
	$(BIN)/djlint parvis --check
	$(BIN)/lint-imports

migrations-check: install
	DJANGO_SETTINGS_MODULE=parvis.settings_test $(BIN)/python manage.py makemigrations --check --dry-run

pytest: install messages chromium
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

test: lint migrations-check pytest

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/djlint parvis --reformat --quiet || true

# The reference workload of ../shared/BENCHMARK.md, in a throwaway database (SQLite in memory,
# or a test database next to DATABASE_URL's). Sizes: make bench FAMILIES=2000; the invoicing
# runs: make bench INVOICING=2000,10000 (0 to skip them).
FAMILIES ?= 200
REQUESTS ?= 30
INVOICING ?= 2000,10000
bench: install
	DJANGO_SETTINGS_MODULE=parvis.settings_test $(BIN)/python manage.py bench \
		--families $(FAMILIES) --requests $(REQUESTS) --invoicing $(INVOICING)

# Re-pin every dependency from pyproject.toml (run after changing it).
lock: install
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links \
		--extra dev -o requirements.lock pyproject.toml
