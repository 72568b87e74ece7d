# syntax=docker/dockerfile:1
#
# One image for every Morpheus process: the API (default command, gunicorn), the
# Celery worker and beat, the voice worker and the one-shot release step. Which one
# runs is the container's command (see docker-compose.yml). Configuration and
# secrets come from the environment at run time; none is baked in.
#
#   docker build -t morpheus .

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=morpheus.settings

# An unprivileged user owns nothing but its home (model caches of the voice
# plugins land in ~/.cache); the code and static files stay read-only to it.
RUN groupadd --system --gid 10001 morpheus \
    && useradd --system --uid 10001 --gid morpheus --create-home --home-dir /home/morpheus morpheus

# Dependencies first, in their own layer: it is rebuilt only when requirements.txt
# changes, and pip's download cache survives across builds (BuildKit cache mount).
# Every pinned package ships manylinux wheels, so no compiler is needed.
RUN python -m venv "$VIRTUAL_ENV"
COPY requirements.txt /app/requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --requirement /app/requirements.txt

WORKDIR /app
COPY . /app

# Static files (Django admin, Swagger UI) hashed and compressed for WhiteNoise. The
# key below exists only for this build step, because settings refuse to load
# without one when DEBUG is off; the running container gets the real SECRET_KEY.
RUN SECRET_KEY=collectstatic-build-step-only-not-a-secret python manage.py collectstatic --noinput \
    && python -m compileall -q .

# The end-of-turn model's weights (agents with turnDetection "model"), fetched once here so
# calls never download them; without them the worker logs it and uses VAD. (DEBUG only for
# this step: development settings load without a SECRET_KEY.)
ENV HF_HOME=/opt/huggingface
RUN DEBUG=true python manage.py run_voice_worker --download-files && chmod -R a+rX /opt/huggingface

USER morpheus:morpheus

EXPOSE 8000

# The API's own check; docker-compose gives every other process its own.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "deploy/healthcheck.py"]

CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py", "morpheus.wsgi:application"]
