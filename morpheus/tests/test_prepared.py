"""morpheus/prepared.py: a read compiled once per shape returns what its queryset returns."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import Agent, AgentStatus
from agents.tests.factories import AgentFactory
from morpheus import prepared
from morpheus.prepared import PreparedRead
from tenants.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

CUSTOMER = Agent._meta.get_field("customer")
STATUS = Agent._meta.get_field("status")


def _agents(*, customer_id, status, start=0, stop=None):
    agents = Agent.objects.filter(customer_id=customer_id)
    if status is not None:
        agents = agents.filter(status=status)
    return agents.order_by("-created_at", "-id").values_list("id", "name", "status", "customer_id", "created_at")[
        start:stop
    ]


@pytest.fixture
def agents():
    first, second = CustomerFactory(), CustomerFactory()
    made = [AgentFactory(customer=first, status=status) for status in (AgentStatus.ACTIVE, AgentStatus.DRAFT) * 3]
    AgentFactory.create_batch(2, customer=second)
    return first, second, made


@pytest.mark.parametrize("status", [None, AgentStatus.ACTIVE, AgentStatus.DRAFT, AgentStatus.PAUSED])
@pytest.mark.parametrize(("start", "stop"), [(0, 20), (1, 3), (5, 10)])
def test_rows_are_the_querysets_rows(agents, status, start, stop):
    first, second, _ = agents
    read = PreparedRead(_agents, customer_id=CUSTOMER, status=STATUS)
    for customer in (first, second, first):  # the second and third calls reuse the first's SQL
        expected = list(_agents(customer_id=customer.pk, status=status, start=start, stop=stop))
        shape = {"start": start, "stop": stop}
        assert read.rows(customer_id=customer.pk, status=status, shape=shape) == expected


def test_a_shape_compiles_once_and_each_call_is_one_statement(agents):
    first, second, _ = agents
    read = PreparedRead(_agents, customer_id=CUSTOMER, status=STATUS)
    compiled = []
    original = read._compile
    read._compile = lambda *args: compiled.append(args) or original(*args)
    with CaptureQueriesContext(connection) as queries:
        read.rows(customer_id=first.pk, status=AgentStatus.ACTIVE)
        read.rows(customer_id=second.pk, status=AgentStatus.DRAFT)
        read.rows(customer_id=first.pk, status=None)  # no status filter: another shape
    assert len(compiled) == 2
    assert len(queries.captured_queries) == 3


def test_values_are_prepared_by_their_field(agents):
    first, _, made = agents
    read = PreparedRead(_agents, customer_id=CUSTOMER, status=STATUS)
    as_text = read.rows(customer_id=str(first.pk), status=None)  # a UUID as text, as the ORM accepts it
    assert {row[0] for row in as_text} == {agent.pk for agent in made}


def test_an_unknown_customer_has_no_rows(agents):
    read = PreparedRead(_agents, customer_id=CUSTOMER, status=STATUS)
    assert read.rows(customer_id=uuid.uuid4(), status=None) == []


def test_a_value_its_lookup_rewrites_is_refused():
    name = Agent._meta.get_field("name")
    read = PreparedRead(lambda name: Agent.objects.filter(name__icontains=name).values_list("pk"), name=name)
    with pytest.raises(TypeError, match="rewritten"):
        read.rows(name="Sales")


def test_a_value_the_queryset_ignores_is_refused():
    read = PreparedRead(lambda customer_id: Agent.objects.values_list("pk"), customer_id=CUSTOMER)
    with pytest.raises(TypeError, match="not found"):
        read.rows(customer_id=uuid.uuid4())


def test_the_values_must_be_the_declared_ones():
    read = PreparedRead(_agents, customer_id=CUSTOMER, status=STATUS)
    with pytest.raises(TypeError, match="expected values"):
        read.rows(customer_id=uuid.uuid4())


def test_a_count_wraps_the_compiled_sql(agents):
    first, _, _ = agents
    read = PreparedRead(
        lambda customer_id: Agent.objects.filter(customer_id=customer_id).values_list("pk"), customer_id=CUSTOMER
    )
    assert read.wrapped("SELECT COUNT(*) FROM ({sql}) AS counted", customer_id=first.pk) == [(6,)]


def test_shapes_are_bounded(agents, monkeypatch):
    first, _, _ = agents
    monkeypatch.setattr(prepared, "MAX_SHAPES", 3)
    read = PreparedRead(_agents, customer_id=CUSTOMER, status=STATUS)
    for start in range(6):
        expected = list(_agents(customer_id=first.pk, status=None, start=start, stop=start + 2))
        assert read.rows(customer_id=first.pk, status=None, shape={"start": start, "stop": start + 2}) == expected
    assert len(read._shapes) == 3


def test_an_instance_is_built_from_columns_listed_in_any_order():
    """Model.from_db fills a partial row in the model's field order, not the names' order:
    a read listing its columns otherwise must still fill each field with its own column."""
    from tenants.models import Customer

    customer = CustomerFactory(settings={"timezone": "Asia/Kolkata"}, company_name="Acme")
    names = ("deleted_at", "settings", "status", "id")  # the model declares them in the opposite order
    row = Customer.objects.filter(pk=customer.pk).values_list(*names).get()

    built = prepared.instance_from_row(Customer, names, row)
    with CaptureQueriesContext(connection) as captured:
        seen = (built.pk, built.status, built.settings, built.deleted_at)
    assert seen == (customer.pk, customer.status, {"timezone": "Asia/Kolkata"}, None)
    assert len(captured) == 0
    assert built.company_name == "Acme"  # not read: loaded when used
    assert not built._state.adding


def test_an_instance_refuses_a_column_its_model_does_not_have():
    from tenants.models import Customer

    with pytest.raises(ValueError, match="no columns \\['nickname'\\]"):
        prepared.instance_from_row(Customer, ("id", "nickname"), (uuid.uuid4(), "x"))
