# Parvis — the two commands of the README, and their building blocks.
#   make run    set up everything and serve the demo communes on http://127.0.0.1:$(PORT)/
#   make test   set up everything and run the whole test suite (lint, migrations, pytest, browser)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
API_PARTICULIER_PORT ?= 8766
FRANCECONNECT_PORT ?= 8765
PYTEST_ARGS ?=
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install install-prod messages makemessages chromium nginx pg-client lint migrations-check pytest lock format bench bench-load bench-scale mutation cluster

# Two locks: requirements.lock holds what runs in production (and gunicorn), requirements-dev.lock
# the same pins plus the tools (tests, linters, browser). `make install` takes both.
$(VENV)/.installed: pyproject.toml requirements.lock requirements-dev.lock
	@command -v msgfmt >/dev/null || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q gettext)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.lock -r requirements-dev.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

install: $(VENV)/.installed

# A production server: the runtime lock only, and the compiled translations (without settings:
# compilemessages reads ./locale). README « Deploying Parvis ».
install-prod:
	@command -v msgfmt >/dev/null || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q gettext)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	env -u DJANGO_SETTINGS_MODULE $(BIN)/django-admin compilemessages --ignore=.venv \
		--ignore=node_modules -v0

messages: install
	DJANGO_SETTINGS_MODULE=parvis.settings_test $(BIN)/python manage.py compilemessages \
		--ignore=.venv --ignore=node_modules -v0

# Refresh locale/en/LC_MESSAGES/django.po from the source (French) strings.
makemessages: install
	DJANGO_SETTINGS_MODULE=parvis.settings_test $(BIN)/python manage.py makemessages -l en \
		--ignore=.venv --ignore=node_modules --ignore=staticfiles --no-obsolete --add-location=file

# PARVIS_DEVELOPMENT: the development key, the payment simulator, /_dev/outbox/, plain-HTTP
# cookies (refused unless every allowed host is loopback). Beside the server, the local API
# Particulier (parvis/families/api_particulier_local.py, port API_PARTICULIER_PORT) and the demo
# FranceConnect provider (parvis/accounts/franceconnect_provider.py, port FRANCECONNECT_PORT),
# stopped with it.
run: messages
	PARVIS_DEVELOPMENT=1 DEBUG=1 $(BIN)/python manage.py migrate --noinput -v0
	PARVIS_DEVELOPMENT=1 DEBUG=1 $(BIN)/python manage.py load_demo --base-url http://127.0.0.1:$(PORT)
	PARVIS_DEVELOPMENT=1 $(BIN)/python -m parvis.families.api_particulier_local --port $(API_PARTICULIER_PORT) & \
	api=$$!; \
	PARVIS_DEVELOPMENT=1 $(BIN)/python -m parvis.accounts.franceconnect_provider --port $(FRANCECONNECT_PORT) & \
	fc=$$!; trap 'kill $$api $$fc 2>/dev/null' EXIT INT TERM; \
	PARVIS_DEVELOPMENT=1 DEBUG=1 PARVIS_API_PARTICULIER_URL=http://127.0.0.1:$(API_PARTICULIER_PORT) \
	PARVIS_FRANCECONNECT_DEMO_URL=http://127.0.0.1:$(FRANCECONNECT_PORT)/api/v2 \
		$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Browser journeys drive Debian's Chromium (browsers cannot be downloaded here).
chromium:
	@test -x /usr/bin/chromium || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium)

# The restore drill dumps and restores PostgreSQL (manage.py backup / restore).
pg-client:
	@command -v pg_dump >/dev/null || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q postgresql-client)

# The shipped reverse-proxy configuration is checked with Debian's nginx (`nginx -t`).
nginx:
	@test -x /usr/sbin/nginx || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q nginx)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/djlint parvis --lint
	$(BIN)/djlint parvis --check
	$(BIN)/lint-imports

migrations-check: install
	DJANGO_SETTINGS_MODULE=parvis.settings_test $(BIN)/python manage.py makemigrations --check --dry-run

pytest: install messages chromium nginx pg-client
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

test: lint migrations-check pytest

# Issue 17 §8 (README « Deploying Parvis »): on this machine's loopback, nginx in front of two
# gunicorn nodes, two task workers, a fresh PostgreSQL database on CLUSTER_PG's server (dropped
# at the end), the S3 server (moto_server) and an SMTP sink; the journeys across them print their
# figures and any failure makes it fail. 3–4 minutes, at most CLUSTER_TIMEOUT seconds.
CLUSTER_PG ?= postgres://postgres@127.0.0.1:5432/postgres
CLUSTER_TIMEOUT ?= 280
cluster: install messages nginx
	CLUSTER_PG=$(CLUSTER_PG) CLUSTER_TIMEOUT=$(CLUSTER_TIMEOUT) $(BIN)/python deploy/cluster/run.py

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

# The registration rush of issue 23 (README « Benchmark »): FAMILIES families log in and book
# two months within ARRIVAL seconds against gunicorn with each of WORKERS sync workers,
# production settings, on PostgreSQL (a throwaway database next to DATABASE_URL's); the journeys
# stop at DURATION seconds. Not in make test: several minutes.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/parvis_bench_load
WORKERS ?= 2,4
ARRIVAL ?= 10
DURATION ?= 300
BENCH_LOAD_ENV = DJANGO_SETTINGS_MODULE=parvis.settings DATABASE_URL=$(BENCH_DATABASE_URL) \
	DEBUG=0 PARVIS_DEVELOPMENT=0 PARVIS_TASKS=database PARVIS_EMAIL_DISABLED=1 \
	PARVIS_DB_CONN_MAX_AGE=3600 SECRET_KEY=bench-load-throwaway-key-0123456789-abcdefghijklmnopqrstuvwxyz \
	ALLOWED_HOSTS=127.0.0.1 PARVIS_TRUSTED_PROXIES=127.0.0.1 LOG_LEVEL=WARNING \
	STATIC_ROOT=$(CURDIR)/var/bench-load-static
bench-load: install
	$(BENCH_LOAD_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BENCH_LOAD_ENV) $(BIN)/python manage.py bench_load --families $(FAMILIES) \
		--workers $(WORKERS) --arrival $(ARRIVAL) --duration $(DURATION)

# A thousand communes in one PostgreSQL (issue 18 §1, README « Benchmark »): the reference
# commune of make bench alone in <name>_alone, then among COMMUNES communes, FAMILIES_TOTAL
# families and UNIT_DAYS booked unit-days in <name>_big (both dropped and made anew, cloned in
# SQL); prints each page's p50/p95 and queries in both and their ratio. Several minutes at full
# size; a quick run: make bench-scale COMMUNES=20 FAMILIES_TOTAL=2000 UNIT_DAYS=300000.
BENCH_SCALE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/parvis_bench_scale
COMMUNES ?= 1000
FAMILIES_TOTAL ?= 100000
UNIT_DAYS ?= 30000000
bench-scale: install
	DJANGO_SETTINGS_MODULE=parvis.settings_test DATABASE_URL=$(BENCH_SCALE_DATABASE_URL) \
		$(BIN)/python manage.py bench_scale --communes $(COMMUNES) \
		--families-total $(FAMILIES_TOTAL) --unit-days $(UNIT_DAYS) --requests $(REQUESTS)

# Mutation testing (mutmut) of the money and booking-rule modules, each against its own app's
# tests, one module and one worker at a time; prints a score per module (README « Mutation
# testing »). Not in CI: about an hour. Some modules: make mutation MODULES="billing/pricing.py".
MODULES ?=
mutation: install
	$(BIN)/python -m parvis.testing.mutation $(MODULES)

# Re-pin every dependency from pyproject.toml (run after changing it): the runtime lock first,
# then the development lock constrained by it, so both hold the same versions.
PIP_COMPILE = $(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links
lock: install
	$(PIP_COMPILE) --extra sentry -o requirements.lock pyproject.toml
	$(PIP_COMPILE) --all-extras -c requirements.lock -o requirements-dev.lock pyproject.toml
