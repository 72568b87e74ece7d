"""The platform admin as a whole: every registered model's list keeps a constant number of
queries as rows grow and its pages render; the index overview counts what its links list;
only platform admins get in."""

from datetime import timedelta
from itertools import count

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import RefreshToken, Role, User, UserStatus
from accounts.services.sessions import ClientInfo, session_create
from accounts.tests.factories import TEST_PASSWORD, UserFactory
from agents.models import Agent, LLMProvider, STTProvider, TTSProvider
from agents.tests.factories import AgentFactory
from calls.models import Call, CallCapacity, CallStatus, PriceItem, UnitPrice
from calls.tests.factories import CallFactory, TranscriptTurnFactory
from campaigns.models import Campaign, Contact, DoNotCall
from evaluations.models import TestCase, TestRun
from integrations.models import ApiKey, WebhookDelivery, WebhookEndpoint
from integrations.tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory, make_api_key
from morpheus.admin_site import platform_overview
from telephony.models import PhoneNumber, SipTrunk
from telephony.tests.factories import PhoneNumberFactory
from tenants.models import Customer, CustomerStatus
from tenants.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

_n = count(1)


def _customer_with_team():
    customer = CustomerFactory()
    UserFactory(customer=customer, role=Role.OWNER)
    AgentFactory(customer=customer)
    return customer


def _user():
    user = UserFactory(customer=CustomerFactory(), role=Role.ADMIN)
    session_create(user=user, client=ClientInfo())
    return user


def _refresh_token():
    user = UserFactory()
    session_create(user=user, client=ClientInfo(ip="198.51.100.7", user_agent="pytest"))
    return user.refresh_tokens.get()


def _provider(model, **extra):
    return lambda: model.objects.create(name=f"Provider {next(_n)}", vendor="openai", default_model="m", **extra)


def _phone_number():
    agent = AgentFactory()
    return PhoneNumberFactory(customer=agent.customer, agent=agent)


def _call():
    agent = AgentFactory()
    number = PhoneNumberFactory(customer=agent.customer, agent=agent)
    call = CallFactory(agent=agent, phone_number=number, created_by=UserFactory(customer=agent.customer))
    TranscriptTurnFactory.create_batch(2, call=call)
    return call


_numbers = count(1000)


def _campaign():
    agent = AgentFactory()
    return Campaign.objects.create(customer=agent.customer, agent=agent, name="Renewals", schedule={"timezone": "UTC"})


def _test_case():
    from evaluations.services import test_case_create

    return test_case_create(agent=AgentFactory(), data={"name": f"Case {next(_n)}", "turns": [{"user": "hi"}]})


def _test_run():
    from agents.selectors import agent_version_current
    from evaluations.models import TestCaseResult, TestRun

    case = _test_case()
    run = TestRun.objects.create(
        customer=case.customer, agent=case.agent, version=agent_version_current(agent_id=case.agent_id)
    )
    TestCaseResult.objects.create(run=run, test_case=case, name=case.name, verdict="pass")
    return run


def _api_key():
    user = UserFactory(customer=CustomerFactory(), role=Role.OWNER)
    return make_api_key(user.customer, user)[0]


# One row maker per registered model: a model registered without one fails the test
# below, so no admin page escapes the query-count check.
ROW_MAKERS = {
    Customer: _customer_with_team,
    User: _user,
    RefreshToken: _refresh_token,
    LLMProvider: _provider(LLMProvider),
    STTProvider: _provider(STTProvider),
    TTSProvider: _provider(TTSProvider, voices=["a"], default_voice="a"),
    Agent: lambda: AgentFactory(transfers=[{"name": "Desk", "destination": "+14155550100", "description": ""}]),
    PhoneNumber: _phone_number,
    Call: _call,
    SipTrunk: lambda: SipTrunk.objects.create(customer=CustomerFactory(), name="Carrier", address="sip.example.com"),
    CallCapacity: lambda: CallCapacity.objects.create(customer=CustomerFactory(), concurrency_limit=5),
    Campaign: _campaign,
    Contact: lambda: Contact.objects.create(
        campaign=_campaign(), customer=CustomerFactory(), phone_number=f"+1415555{next(_numbers):04d}"
    ),
    DoNotCall: lambda: DoNotCall.objects.create(
        customer=CustomerFactory(), phone_number=f"+1415555{next(_numbers):04d}"
    ),
    TestCase: _test_case,
    TestRun: _test_run,
    ApiKey: _api_key,
    WebhookEndpoint: lambda: WebhookEndpointFactory(),
    WebhookDelivery: lambda: WebhookDeliveryFactory(),
    UnitPrice: lambda: UnitPrice.objects.create(
        item=PriceItem.LLM_PROMPT, vendor="openai", model=f"model-{UnitPrice.objects.count()}", price=1
    ),
}


def test_every_registered_model_has_a_row_maker():
    assert set(admin.site._registry) == set(ROW_MAKERS)


@pytest.mark.parametrize("model", list(ROW_MAKERS), ids=lambda m: m._meta.label)
def test_the_list_keeps_a_constant_query_count_and_every_page_renders(admin_client, model):
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")

    def queries_for_list(expected_rows):
        with CaptureQueriesContext(connection) as captured:
            response = admin_client.get(url)
        assert response.status_code == 200
        assert response.context["cl"].result_count == expected_rows
        return len(captured)

    existing = model.objects.count()  # the default catalogue, the platform admin...
    for _ in range(3):
        ROW_MAKERS[model]()
    few = queries_for_list(existing + 3)
    for _ in range(6):
        ROW_MAKERS[model]()
    many = queries_for_list(existing + 9)
    assert many == few, f"{opts.label} list: {few} queries for {existing + 3} rows, {many} for {existing + 9}"

    obj = model.objects.order_by("-pk").first()
    change = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
    assert change.status_code == 200
    searched = admin_client.get(url, {"q": "a"})
    assert searched.status_code == 200


def test_the_overview_counts_and_links_to_the_same_rows(admin_client, customer_a, customer_b, platform_admin):
    from tenants.services import customer_suspend

    customer_suspend(customer=customer_b, actor=platform_admin)
    agent = AgentFactory(customer=customer_a)
    now = timezone.now()
    CallFactory(agent=agent, status=CallStatus.ACTIVE)
    CallFactory(agent=agent, status=CallStatus.FAILED)
    CallFactory(agent=agent, status=CallStatus.FAILED, started_at=now - timedelta(hours=30))
    CallFactory(agent=agent, status=CallStatus.COMPLETED, started_at=now - timedelta(days=2))

    page = admin_client.get("/admin/")
    assert page.status_code == 200
    overview = page.context["platform_overview"]
    rows = {row["label"]: row for row in overview["customers"] + overview["calls"]}
    counts = {label: row["count"] for label, row in rows.items()}
    today = timezone.localtime(now).date()
    calls_today = 2 if timezone.localtime(now - timedelta(hours=30)).date() != today else 3
    assert counts == {
        "Customers active": 1,
        "Customers suspended": 1,
        "Calls today": calls_today,
        "Calls active now": 1,
        "Failed calls, last 24 hours": 1,
    }
    for label, row in rows.items():
        listing = admin_client.get(row["url"])
        assert listing.status_code == 200, label
        assert "e=1" not in listing.request["QUERY_STRING"], label  # Django's "bad filter" redirect
        assert listing.context["cl"].result_count == row["count"], label
        assert row["url"] in page.content.decode().replace("&amp;", "&"), label


def test_the_overview_leaves_deleted_customers_out(platform_admin):
    CustomerFactory(deleted_at=timezone.now())
    CustomerFactory(status=CustomerStatus.SUSPENDED)
    counts = {row["label"]: row["count"] for row in platform_overview(admin.site)["customers"]}
    assert counts == {"Customers active": 0, "Customers suspended": 1}


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.MEMBER])
def test_tenant_users_cannot_sign_in_whatever_their_role(customer_a, role):
    user = UserFactory(customer=customer_a, role=role)
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 200  # the form again, with its error
    assert "staff account" in response.context["form"].non_field_errors()[0]
    assert client.get("/admin/").status_code == 302


def test_a_suspended_platform_admin_cannot_sign_in(platform_admin):
    User.objects.filter(pk=platform_admin.pk).update(status=UserStatus.SUSPENDED)
    client = Client()
    response = client.post("/admin/login/", {"username": platform_admin.email, "password": TEST_PASSWORD})
    assert response.status_code == 200 and client.get("/admin/").status_code == 302


def test_a_platform_admin_signs_in(platform_admin):
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": platform_admin.email, "password": TEST_PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    index = client.get("/admin/")
    assert index.status_code == 200 and b"Morpheus platform admin" in index.content
