from morpheus.celery import app as celery_app

# Celery reads its configuration from Django settings the first time it is used. Read it
# now, so a test that overrides CELERY_* settings can never become the app's config for
# every later test.
celery_app.conf.broker_url  # noqa: B018
