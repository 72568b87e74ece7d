#!/bin/sh
# One-shot release step (docker-compose service `migrate`): runs before any API,
# Celery or voice-worker container starts, and again on every upgrade.
#
#   1. apply database migrations;
#   2. when DJANGO_SUPERUSER_EMAIL is set and no such user exists yet, create the
#      platform admin with `createsuperuser --noinput` (DJANGO_SUPERUSER_PASSWORD,
#      DJANGO_SUPERUSER_NAME). An existing account is left untouched, so the step
#      is safe to re-run and never resets a password that was changed since;
#   3. when RECORDINGS_S3_BUCKET is set, create the recordings bucket if missing.
set -eu

python manage.py migrate --noinput

if [ -n "${RECORDINGS_S3_BUCKET:-}" ]; then
    python manage.py ensure_recordings_bucket
fi

if [ -n "${DJANGO_SUPERUSER_EMAIL:-}" ]; then
    if python manage.py shell --no-imports --command \
        'import os, sys; from django.contrib.auth import get_user_model; sys.exit(0 if get_user_model().objects.filter(email__iexact=os.environ["DJANGO_SUPERUSER_EMAIL"]).exists() else 3)'
    then
        echo "release: platform admin ${DJANGO_SUPERUSER_EMAIL} already exists"
    else
        status=$?
        if [ "$status" -ne 3 ]; then
            exit "$status"
        fi
        python manage.py createsuperuser --noinput
    fi
fi
