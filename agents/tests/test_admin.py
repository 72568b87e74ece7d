"""Django admin runs the same service validation as the API."""

import json

import pytest
from django.test import Client

from agents.models import Agent, AgentStatus, LLMProvider, TTSProvider
from agents.tests.factories import AgentFactory
from testsupport.admin import assert_changelist_queries_constant, form_errors

pytestmark = pytest.mark.django_db


def agent_form(customer, **overrides):
    form = {
        "customer": str(customer.pk),
        "name": "Admin-made",
        "description": "",
        "status": "draft",
        "system_prompt": "You help.",
        "first_message": "",
        "language": "en",
        "end_call_phrases": "[]",
        "llm_provider": "1",
        "llm_model": "",
        "llm_temperature": "0.7",
        "stt_provider": "1",
        "stt_model": "",
        "tts_provider": "1",
        "tts_model": "",
        "voice_id": "",
        "allow_interruptions": "on",
        "interruption_min_duration": "0.5",
        "silence_timeout_seconds": "30",
        "max_duration_seconds": "1800",
        "transfers": "[]",
        "functions": "[]",
        "metadata": "{}",
    }
    form.update(overrides)
    return form


def test_the_admin_lists_agents_with_a_constant_query_count(admin_client, customer_a):
    def add_agents(count):
        AgentFactory.create_batch(count, customer=customer_a, tts_provider=TTSProvider.objects.get(pk=2))

    assert_changelist_queries_constant(admin_client, "/admin/agents/agent/", add_agents)


@pytest.mark.parametrize("model", ["llmprovider", "sttprovider", "ttsprovider"])
def test_the_admin_lists_the_catalogue(admin_client, model):
    response = admin_client.get(f"/admin/agents/{model}/")
    assert response.status_code == 200
    assert b"OpenAI" in response.content or b"Deepgram" in response.content
    assert admin_client.get(f"/admin/agents/{model}/1/change/").status_code == 200


def test_the_admin_creates_an_agent_with_resolved_defaults(admin_client, customer_a):
    response = admin_client.post("/admin/agents/agent/add/", agent_form(customer_a))
    assert response.status_code == 302, form_errors(response)
    agent = Agent.objects.get()
    assert (agent.customer, agent.voice_id, agent.llm_model) == (customer_a, "alloy", "gpt-4o-mini")


def test_the_admin_refuses_what_the_api_refuses(admin_client, customer_a):
    bad = agent_form(
        customer_a,
        voice_id="nova2",
        functions=json.dumps([{"name": "end_call", "description": "x", "url": "https://a.example.com"}]),
        transfers=json.dumps([{"name": "Desk", "destination": "12"}]),
    )
    response = admin_client.post("/admin/agents/agent/add/", bad)
    assert response.status_code == 200
    errors = form_errors(response)
    assert set(errors) == {"voice_id", "functions", "transfers"}
    assert errors["functions"] == ["0.name: 'end_call' is a built-in tool; choose another name"]
    assert errors["transfers"][0].startswith("0.destination: ")
    assert not Agent.objects.exists()


def test_the_admin_refuses_an_inactive_provider(admin_client, customer_a):
    LLMProvider.objects.create(name="Old", vendor="openai", default_model="m", is_active=False)
    old = LLMProvider.objects.get(name="Old")
    response = admin_client.post("/admin/agents/agent/add/", agent_form(customer_a, llm_provider=str(old.pk)))
    assert form_errors(response) == {"llm_provider": [f"LLM provider Old (ID {old.pk}) is not active"]}


def test_the_admin_edits_an_agent_but_not_its_tenant(admin_client, customer_a, customer_b):
    agent = AgentFactory(customer=customer_a, status=AgentStatus.DRAFT)
    form = agent_form(customer_b, name="Renamed", status="active")
    response = admin_client.post(f"/admin/agents/agent/{agent.pk}/change/", form)
    assert response.status_code == 302, form_errors(response)
    agent.refresh_from_db()
    assert (agent.name, agent.status, agent.customer_id) == ("Renamed", "active", customer_a.id)


def test_provider_defaults_must_be_among_its_lists(admin_client):
    form = {
        "name": "OpenAI",
        "vendor": "openai",
        "default_model": "tts-2",
        "available_models": json.dumps(["tts-1"]),
        "default_voice": "robot",
        "voices": json.dumps(["alloy", "alloy"]),
        "is_active": "on",
    }
    response = admin_client.post("/admin/agents/ttsprovider/1/change/", form)
    assert response.status_code == 200
    assert set(form_errors(response)) == {"default_model", "voices"}
    form |= {"default_model": "tts-1", "voices": json.dumps(["alloy"]), "default_voice": "alloy"}
    response = admin_client.post("/admin/agents/ttsprovider/1/change/", form)
    assert response.status_code == 302, form_errors(response)
    provider = TTSProvider.objects.get(pk=1)
    assert (provider.default_model, provider.voices) == ("tts-1", ["alloy"])


def test_a_provider_without_a_fixed_list_accepts_any_default(admin_client):
    form = {
        "name": "Local LLM",
        "vendor": "openai",
        "default_model": "llama3.1:8b",
        "available_models": "[]",
        "base_url": "http://127.0.0.1:11434/v1",
        "is_active": "on",
    }
    response = admin_client.post("/admin/agents/llmprovider/add/", form)
    assert response.status_code == 302, form_errors(response)
    assert LLMProvider.objects.filter(name="Local LLM", base_url="http://127.0.0.1:11434/v1").exists()


def test_tenant_users_cannot_use_the_admin(alice):
    client = Client()
    client.force_login(alice)
    assert client.get("/admin/agents/agent/").status_code == 302  # to the admin login page


def test_tools_and_transfers_are_shown_as_indented_json(admin_client, customer_a):
    transfers = [{"name": "Desk", "destination": "+14155550100", "description": "Front desk"}]
    agent = AgentFactory(customer=customer_a, transfers=transfers)
    page = admin_client.get(f"/admin/agents/agent/{agent.pk}/change/")
    shown = page.context["adminform"].form["transfers"].value()
    assert json.loads(shown) == transfers
    assert shown.startswith('[\n  {\n    "') and shown.count("\n") == 6  # one key per line
    listing = admin_client.get("/admin/agents/agent/")
    assert b"1 transfer" in listing.content


def test_deleting_an_agent_goes_through_the_service(admin_client, customer_a):
    from calls.tests.factories import CallFactory
    from telephony.tests.factories import PhoneNumberFactory

    busy = AgentFactory(customer=customer_a)
    CallFactory(agent=busy)  # a call in progress
    assert admin_client.get(f"/admin/agents/agent/{busy.pk}/delete/").status_code == 403

    idle = AgentFactory(customer=customer_a)
    number = PhoneNumberFactory(customer=customer_a, agent=idle)
    stamp = number.updated_at
    response = admin_client.post(f"/admin/agents/agent/{idle.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Agent.objects.filter(pk=idle.pk).exists()
    number.refresh_from_db()
    # agent_delete unassigned it (and stamped it), rather than the database's SET NULL.
    assert number.agent_id is None and number.updated_at > stamp
    assert admin_client.get("/admin/agents/agent/").context["action_form"] is None  # no bulk delete


def test_the_admin_creates_through_the_service_as_version_1_by_the_admin(admin_client, customer_a, platform_admin):
    response = admin_client.post("/admin/agents/agent/add/", agent_form(customer_a))
    assert response.status_code == 302, form_errors(response)
    agent = Agent.objects.get()
    assert response["Location"].endswith("/admin/agents/agent/")
    [version] = agent.versions.all()
    assert (version.number, version.created_by) == (1, platform_admin)


def test_the_services_refusal_is_a_form_error(admin_client, customer_a):
    # agent_create's rule, not a model or form rule: a new agent starts as a draft.
    response = admin_client.post("/admin/agents/agent/add/", agent_form(customer_a, status="active"))
    assert response.status_code == 200
    assert form_errors(response) == {"status": ["New agents start as draft; activate them with an update"]}
    assert not Agent.objects.exists()


def test_saving_an_unchanged_agent_writes_nothing(admin_client, customer_a):
    assert admin_client.post("/admin/agents/agent/add/", agent_form(customer_a)).status_code == 302
    agent = Agent.objects.get()
    Agent.objects.filter(pk=agent.pk).update(updated_at=agent.updated_at.replace(year=2020))
    response = admin_client.post(f"/admin/agents/agent/{agent.pk}/change/", agent_form(customer_a))
    assert response.status_code == 302, form_errors(response)
    # agent_update writes only what changed; a ModelForm save would have moved updated_at.
    assert Agent.objects.get(pk=agent.pk).updated_at.year == 2020
    assert agent.versions.count() == 1

    response = admin_client.post(f"/admin/agents/agent/{agent.pk}/change/", agent_form(customer_a, name="Renamed"))
    assert response.status_code == 302, form_errors(response)
    assert Agent.objects.get(pk=agent.pk).updated_at.year > 2020
    assert agent.versions.count() == 1  # the name is not behaviour

    form = agent_form(customer_a, name="Renamed", system_prompt="Be brief.")
    assert admin_client.post(f"/admin/agents/agent/{agent.pk}/change/", form).status_code == 302
    assert list(agent.versions.values_list("number", flat=True).order_by("number")) == [1, 2]


def test_the_admin_sets_a_warm_transfer_and_refuses_an_unknown_mode(admin_client, customer_a):
    warm = [{"name": "Manager", "destination": "+14155550124", "mode": "warm"}]
    response = admin_client.post("/admin/agents/agent/add/", agent_form(customer_a, transfers=json.dumps(warm)))
    assert response.status_code == 302, form_errors(response)
    assert Agent.objects.get().transfers == [{**warm[0], "description": "", "message": ""}]

    hot = [{"name": "Manager", "destination": "+14155550124", "mode": "hot"}]
    response = admin_client.post(
        "/admin/agents/agent/add/", agent_form(customer_a, name="Other", transfers=json.dumps(hot))
    )
    assert response.status_code == 200
    assert form_errors(response) == {"transfers": ["0.mode: Must be one of: cold, warm"]}
    assert Agent.objects.count() == 1
