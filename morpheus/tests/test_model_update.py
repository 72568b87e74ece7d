"""morpheus.services.model_update: writes exactly what changed, validated, or nothing."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from morpheus.services import model_update
from tenants.models import Customer

pytestmark = pytest.mark.django_db

FIELDS = ["company_name", "phone", "description"]


def test_it_saves_only_the_changed_fields_and_updated_at(customer_a):
    Customer.objects.filter(pk=customer_a.pk).update(updated_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    customer_a.refresh_from_db()
    # A concurrent write of a column this update does not change must survive it.
    Customer.objects.filter(pk=customer_a.pk).update(phone="+15550001111")

    with CaptureQueriesContext(connection) as queries:
        customer, changed = model_update(
            instance=customer_a, fields=FIELDS, data={"company_name": "Renamed", "description": customer_a.description}
        )

    assert changed is True and customer is customer_a
    [update] = [q["sql"] for q in queries.captured_queries]
    assert '"company_name"' in update and '"updated_at"' in update and '"description"' not in update
    stored = Customer.objects.get(pk=customer_a.pk)
    assert (stored.company_name, stored.phone) == ("Renamed", "+15550001111")
    assert stored.updated_at.year > 2020


def test_nothing_changed_writes_nothing(customer_a):
    data = {"company_name": customer_a.company_name, "unrelated": "ignored"}
    with CaptureQueriesContext(connection) as queries:
        _, changed = model_update(instance=customer_a, fields=FIELDS, data=data)
    assert changed is False and queries.captured_queries == []


def test_fields_not_listed_are_ignored(customer_a):
    _, changed = model_update(instance=customer_a, fields=["phone"], data={"company_name": "Sneaky"})
    assert changed is False
    assert Customer.objects.get(pk=customer_a.pk).company_name == "Alice Corp"


def test_an_invalid_value_is_a_validation_error_and_nothing_is_written(customer_a):
    with pytest.raises(ValidationError) as raised:
        model_update(instance=customer_a, fields=FIELDS, data={"company_name": "x" * 201})
    assert set(raised.value.message_dict) == {"company_name"}
    assert Customer.objects.get(pk=customer_a.pk).company_name == "Alice Corp"
