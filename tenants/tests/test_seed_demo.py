"""`manage.py seed_demo`: a demo tenant that can log in at once; running it again duplicates
nothing; a refusal leaves nothing behind."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Role, User, UserStatus
from accounts.tests.factories import UserFactory
from agents.models import Agent, AgentStatus
from telephony.models import PhoneNumber
from telephony.tests.factories import PhoneNumberFactory
from tenants.models import Customer
from testsupport.api import assert_success, client_for

pytestmark = pytest.mark.django_db

PASSWORD_LINE = re.compile(r"^  password  (\S+)$", re.MULTILINE)


def run(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def login(email, password):
    response = client_for().post("/api/v1/auth/login", {"email": email, "password": password}, format="json")
    return assert_success(response)


def test_it_creates_a_tenant_that_can_log_in_and_answer_calls():
    out = run()

    password = PASSWORD_LINE.search(out).group(1)
    owner = User.objects.get(email="demo@example.com")
    assert (owner.role, owner.status, owner.email_verified) == (Role.OWNER, UserStatus.ACTIVE, True)
    customer = Customer.objects.get()
    assert (customer.company_name, owner.customer) == ("Demo Company", customer)
    agent = Agent.objects.get()
    assert (agent.customer, agent.status, agent.name) == (customer, AgentStatus.ACTIVE, "Demo receptionist")
    # The catalogue's default providers (the first active row of each kind).
    assert (agent.llm_provider_id, agent.stt_provider_id, agent.tts_provider_id) == (1, 1, 1)
    assert "Demo Company" in agent.system_prompt
    number = PhoneNumber.objects.get()
    assert (number.phone_number, number.customer, number.agent) == ("+15550100100", customer, agent)

    assert out.startswith("Demo tenant ready (owner created, customer created, agent created, agent activated")
    assert f'"email": "demo@example.com", "password": "{password}"' in out
    auth = login("demo@example.com", password)["auth"]
    assert (auth["user"]["email"], auth["user"]["needsOnboarding"]) == ("demo@example.com", False)
    api = client_for(owner)
    assert [a["name"] for a in assert_success(api.get("/api/v1/agents"))["agents"]] == ["Demo receptionist"]


def test_running_it_again_duplicates_nothing_and_keeps_the_password():
    first = PASSWORD_LINE.search(run()).group(1)
    out = run()
    assert out.startswith("Demo tenant ready (already in place, nothing changed).")
    assert "password  unchanged (pass --password to set a new one)" in out
    assert (User.objects.count(), Customer.objects.count(), Agent.objects.count(), PhoneNumber.objects.count()) == (
        1,
        1,
        1,
        1,
    )
    login("demo@example.com", first)


def test_it_repairs_what_drifted_and_sets_a_given_password():
    run()
    agent = Agent.objects.get()
    Agent.objects.filter(pk=agent.pk).update(status=AgentStatus.PAUSED)
    PhoneNumber.objects.update(agent=None)

    out = run("--password", "Another-Demo-Pass-42")

    assert out.startswith("Demo tenant ready (password set, agent activated, phone number routed to the agent).")
    assert Agent.objects.get().status == AgentStatus.ACTIVE and PhoneNumber.objects.get().agent_id == agent.pk
    login("demo@example.com", "Another-Demo-Pass-42")


def test_options_name_the_tenant():
    run("--email", "Sales@Example.com", "--company", "Acme Sales", "--phone-number", "+44 20 7946 0958")
    owner = User.objects.get()
    assert (owner.email, owner.customer.company_name) == ("sales@example.com", "Acme Sales")
    assert PhoneNumber.objects.get().phone_number == "+442079460958"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--email", "not-an-email"], "'not-an-email' is not a valid email address"),
        (["--phone-number", "12"], "'12' is not a valid phone number"),
        (["--password", "short"], "The password is too weak: This password is too short"),
        (["--company", "   "], "Company name is required"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(args, message):
    with pytest.raises(CommandError, match=f"{re.escape(message)}.*Nothing was changed"):
        run(*args)
    assert not User.objects.exists() and not Customer.objects.exists() and not Agent.objects.exists()


def test_a_number_of_another_customer_rolls_everything_back(customer_b):
    PhoneNumberFactory(customer=customer_b, phone_number="+15550100100")
    with pytest.raises(CommandError, match="Phone number \\+15550100100 belongs to another customer"):
        run()
    assert not User.objects.filter(email="demo@example.com").exists()
    assert Customer.objects.get() == customer_b and not Agent.objects.exists()


@pytest.mark.parametrize("role", [Role.MEMBER, Role.PLATFORM_ADMIN])
def test_it_never_takes_over_an_account_that_is_not_an_owner(role, customer_a):
    UserFactory(email="demo@example.com", role=role, customer=customer_a if role == Role.MEMBER else None)
    with pytest.raises(CommandError, match="demo@example.com is already used by an account that is not"):
        run("--password", "Another-Demo-Pass-42")
    assert not Agent.objects.exists()


def test_a_suspended_demo_tenant_is_not_revived_silently():
    run()
    Customer.objects.update(status="suspended")
    with pytest.raises(CommandError, match="is suspended; reactivate them in the admin first"):
        run()
