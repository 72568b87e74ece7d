import pytest

from agents.tests.factories import AgentFactory
from telephony.models import PhoneNumber
from telephony.tests.factories import PhoneNumberFactory
from testsupport.admin import assert_changelist_queries_constant, form_errors

pytestmark = pytest.mark.django_db


def number_form(customer, **overrides):
    form = {
        "customer": str(customer.pk),
        "phone_number": "+1 555 999 8888",
        "friendly_name": "Support Line",
        "country": "",
        "capabilities": '["voice"]',
        "agent": "",
        "carrier": "twilio",
    }
    return form | overrides


def test_the_admin_lists_numbers_with_a_constant_query_count(admin_client, customer_a):
    def add_numbers(count):
        for _ in range(count):
            PhoneNumberFactory(customer=customer_a, agent=AgentFactory(customer=customer_a))

    assert_changelist_queries_constant(admin_client, "/admin/telephony/phonenumber/", add_numbers)


def test_the_admin_adds_a_normalised_number(admin_client, customer_a):
    response = admin_client.post("/admin/telephony/phonenumber/add/", number_form(customer_a))
    assert response.status_code == 302, form_errors(response)
    number = PhoneNumber.objects.get()
    assert (number.phone_number, number.country, number.customer) == ("+15559998888", "US", customer_a)


def test_the_admin_refuses_bad_numbers_and_other_tenants_agents(admin_client, customer_a, customer_b):
    theirs = AgentFactory(customer=customer_b)
    form = number_form(customer_a, phone_number="555-0123", agent=str(theirs.pk), capabilities='["fax"]')
    response = admin_client.post("/admin/telephony/phonenumber/add/", form)
    assert set(form_errors(response)) == {"phone_number", "agent", "capabilities"}
    assert not PhoneNumber.objects.exists()


def test_the_admin_refuses_a_duplicate_number(admin_client, customer_a, customer_b):
    PhoneNumberFactory(customer=customer_b, phone_number="+15559998888")
    response = admin_client.post("/admin/telephony/phonenumber/add/", number_form(customer_a))
    assert "phone_number" in form_errors(response)
    assert PhoneNumber.objects.count() == 1


def test_the_admin_assigns_an_agent_of_the_same_tenant(admin_client, customer_a):
    number = PhoneNumberFactory(customer=customer_a)
    agent = AgentFactory(customer=customer_a)
    form = number_form(customer_a, agent=str(agent.pk), friendly_name="Routed", country="US")
    response = admin_client.post(f"/admin/telephony/phonenumber/{number.pk}/change/", form)
    assert response.status_code == 302, form_errors(response)
    number.refresh_from_db()
    assert (number.agent, number.friendly_name) == (agent, "Routed")


def test_a_number_on_a_call_cannot_be_deleted(admin_client, customer_a):
    from calls.models import CallStatus
    from calls.tests.factories import CallFactory

    agent = AgentFactory(customer=customer_a)
    number = PhoneNumberFactory(customer=customer_a, agent=agent)
    call = CallFactory(agent=agent, phone_number=number)
    assert admin_client.get(f"/admin/telephony/phonenumber/{number.pk}/delete/").status_code == 403
    call.status = CallStatus.COMPLETED
    call.save()
    response = admin_client.post(f"/admin/telephony/phonenumber/{number.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not PhoneNumber.objects.filter(pk=number.pk).exists()


def test_the_list_filters_numbers_without_an_agent(admin_client, customer_a):
    routed = PhoneNumberFactory(customer=customer_a, agent=AgentFactory(customer=customer_a))
    idle = PhoneNumberFactory(customer=customer_a)
    page = admin_client.get("/admin/telephony/phonenumber/", {"agent__isempty": "1"})
    assert list(page.context["cl"].result_list) == [idle]
    page = admin_client.get("/admin/telephony/phonenumber/", {"agent__isempty": "0"})
    assert list(page.context["cl"].result_list) == [routed]
