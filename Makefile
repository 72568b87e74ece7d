# Two commands for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint typecheck migrations-check format worker beat voice-worker migrate install \
	manage createsuperuser shell setup-livekit-sip end-stale-calls purge-expired-tokens rebuild-call-counters check-services \
	seed-demo rotate-encryption-keys bench

# Operator commands run on the same defaults as `make run` (DEBUG unless set).
MANAGE := DEBUG=$${DEBUG:-true} $(BIN)/python manage.py

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# The API on embedded defaults (SQLite, local-memory cache, eager Celery, console mail).
run: $(STAMP)
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py runserver 0.0.0.0:8000

# The whole suite; SQLite with nothing running, or PostgreSQL/Redis via DATABASE_URL/REDIS_URL.
# -rs prints why each skipped test was skipped.
test: $(STAMP)
	$(BIN)/python -m pytest -rs $(PYTEST_ARGS)

# The suite without the `slow` tests (those that start processes: servers, workers, browsers).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -rs -m "not slow" $(PYTEST_ARGS)

# Every benchmark script (docs/performance.md), each in its own process, alphabetically:
# benchmarks/*.py except harness.py and _*.py. PostgreSQL only (the data sets are built with
# generate_series/COPY); BENCH_QUICK=1 shrinks them for a smoke run.
bench: $(STAMP)
	@case "$${DATABASE_URL:-}" in postgres*) ;; *) \
		echo "make bench needs PostgreSQL: export DATABASE_URL=postgres://user@host:5432/db (and REDIS_URL=redis://host:6379/n)" >&2; \
		exit 2;; esac
	@failed=""; for script in $$(LC_ALL=C ls benchmarks/*.py); do \
		name=$$(basename $$script); \
		case $$name in harness.py|_*) continue;; esac; \
		echo "### $$name"; \
		$(BIN)/python $$script || failed="$$failed $$name"; \
	done; \
	if [ -n "$$failed" ]; then echo "failed:$$failed" >&2; exit 1; fi

lint: $(STAMP) typecheck migrations-check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy (django-stubs, djangorestframework-stubs) over morpheus/api and every app's
# services.py/selectors.py, strictly; mypy.ini's globs pick up new apps by themselves.
typecheck: $(STAMP)
	$(BIN)/mypy

# Models and migrations agree (a model change without its migration fails CI).
migrations-check: $(STAMP)
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput

worker: $(STAMP)
	$(BIN)/celery -A morpheus worker --loglevel=info

beat: $(STAMP)
	$(BIN)/celery -A morpheus beat --loglevel=info

voice-worker: $(STAMP)
	$(BIN)/python manage.py run_voice_worker

# Operator commands (README.md, Operations), e.g. `make seed-demo ARGS="--email me@example.com"`,
# or any other: `make manage ARGS="check --deploy"`.
manage: $(STAMP)
	$(MANAGE) $(ARGS)

createsuperuser: $(STAMP)
	$(MANAGE) createsuperuser $(ARGS)

shell: $(STAMP)
	$(MANAGE) shell $(ARGS)

setup-livekit-sip: $(STAMP)
	$(MANAGE) setup_livekit_sip $(ARGS)

end-stale-calls: $(STAMP)
	$(MANAGE) end_stale_calls $(ARGS)

purge-expired-tokens: $(STAMP)
	$(MANAGE) purge_expired_tokens $(ARGS)

rebuild-call-counters: $(STAMP)
	$(MANAGE) rebuild_call_counters $(ARGS)

check-services: $(STAMP)
	$(MANAGE) check_services $(ARGS)

seed-demo: $(STAMP)
	$(MANAGE) seed_demo $(ARGS)

rotate-encryption-keys: $(STAMP)
	$(MANAGE) rotate_encryption_keys $(ARGS)
