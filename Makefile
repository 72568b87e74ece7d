# Two commands for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint format worker beat voice-worker migrate install

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
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Everything but the real-time audio calls (voice_worker/tests/test_audio_calls.py); CI runs `test`.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not audio" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

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
