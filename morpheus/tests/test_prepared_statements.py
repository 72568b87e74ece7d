"""PostgreSQL prepares the ORM's repeated statements (DATABASE_PREPARE_THRESHOLD), or not (-1)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tenants.models import Customer
from tenants.tests.factories import CustomerFactory

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_a_repeated_orm_statement_is_prepared_and_still_answers_each_value():
    first, second = CustomerFactory(company_name="First"), CustomerFactory(company_name="Second")
    read = 'FROM "tenants_customer" WHERE "tenants_customer"."company_name" = $1'

    assert Customer.objects.filter(company_name="First").get() == first
    assert not [sql for sql in _prepared_statements() if read in sql]  # once is not enough
    # The second run prepares it (threshold 1); later runs bind new values to the same plan.
    assert Customer.objects.filter(company_name="First").get() == first
    assert Customer.objects.filter(company_name="Second").get() == second
    assert not Customer.objects.filter(company_name="Third").exists()

    prepared = [sql for sql in _prepared_statements() if read in sql]
    assert len(prepared) == 1, prepared
    assert "First" not in prepared[0] and "Second" not in prepared[0]  # values travel as parameters


def _database_options(threshold: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(DJANGO_SETTINGS_MODULE="morpheus.settings", DATABASE_PREPARE_THRESHOLD=threshold)
    env.setdefault("SECRET_KEY", "a-test-only-secret-key-that-is-long-enough-0123456789")
    result = subprocess.run(  # noqa: S603 - our own interpreter and settings
        [sys.executable, "-c", "from django.conf import settings; print(settings.DATABASES['default'].get('OPTIONS'))"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.slow
def test_the_threshold_comes_from_the_environment_and_minus_one_turns_preparing_off():
    assert _database_options("3") == "{'server_side_binding': True, 'prepare_threshold': 3}"
    # Off: Django's own default (client-side binding, nothing prepared), for a transaction pooler.
    assert _database_options("-1") in ("None", "{}")
