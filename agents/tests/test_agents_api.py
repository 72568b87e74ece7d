import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from accounts.tests.factories import UserFactory
from agents import examples
from agents.models import Agent, AgentStatus, LLMProvider, STTProvider, TTSProvider
from agents.tests.factories import AgentFactory
from calls.models import CallStatus
from calls.tests.factories import CallFactory
from telephony.tests.factories import PhoneNumberFactory
from testsupport.api import assert_delete_refused, assert_error, assert_only_row, assert_success, client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/agents"
FORBIDDEN = "You do not have permission to access this resource"

# The spec's curl bodies, byte for byte.
SPEC_CREATE_BODY = """{
    "name": "Support Bot",
    "voiceId": "echo",
    "systemPrompt": "You are a helpful assistant.",
    "llmProviderId": 1,
    "ttsProviderId": 1,
    "sttProviderId": 1
  }"""
SPEC_UPDATE_BODY = """{
    "name": "Advanced Support Bot"
  }"""

# The spec's agent (the OpenAPI example) and the settings Morpheus adds to it.
FULL_KEYS = set(examples.AGENT) | {"voiceSettings", "recordingEnabled", "analysisPlan", "autoRunTests"}
LIST_KEYS = set(examples.LIST_ITEM)


def post_json(client, url, raw_body):
    return client.post(url, data=raw_body, content_type="application/json")


def patch_json(client, url, raw_body):
    return client.patch(url, data=raw_body, content_type="application/json")


# --- The spec's examples, verbatim -------------------------------------------------------


def test_the_default_catalogue_gives_the_spec_its_ids():
    assert LLMProvider.objects.get(pk=1).name == "OpenAI"
    assert STTProvider.objects.get(pk=1).name == "Deepgram"
    assert TTSProvider.objects.get(pk=1).name == "OpenAI"
    assert "echo" in TTSProvider.objects.get(pk=1).voices
    assert STTProvider.objects.get(pk=2).vendor == "openai"
    assert TTSProvider.objects.get(pk=2).vendor == "elevenlabs"


def test_it_creates_the_spec_example_verbatim(alice_client, customer_a):
    data = assert_success(post_json(alice_client, URL, SPEC_CREATE_BODY), 201, "Agent created successfully")
    assert set(data) == FULL_KEYS
    assert isinstance(data["id"], int)
    assert data["name"] == "Support Bot"
    assert data["voiceId"] == "echo"
    assert data["systemPrompt"] == "You are a helpful assistant."
    assert data["status"] == "draft"
    assert data["customerId"] == str(customer_a.id)
    assert data["createdAt"] == data["updatedAt"] and data["createdAt"].endswith("Z")
    assert (data["llmProviderId"], data["sttProviderId"], data["ttsProviderId"]) == (1, 1, 1)
    assert (data["llmProviderName"], data["sttProviderName"], data["ttsProviderName"]) == (
        "OpenAI",
        "Deepgram",
        "OpenAI",
    )
    # Blank models resolve to the providers' defaults and are stored that way.
    assert (data["llmModel"], data["sttModel"], data["ttsModel"]) == ("gpt-4o-mini", "nova-3", "gpt-4o-mini-tts")
    agent = Agent.objects.get(pk=data["id"])
    assert agent.customer == customer_a
    assert agent.status == AgentStatus.DRAFT
    assert (agent.llm_provider_id, agent.stt_provider_id, agent.tts_provider_id) == (1, 1, 1)


def test_it_updates_the_spec_example_verbatim(alice_client):
    created = assert_success(post_json(alice_client, URL, SPEC_CREATE_BODY), 201)
    data = assert_success(
        patch_json(alice_client, f"{URL}/{created['id']}", SPEC_UPDATE_BODY), 200, "Agent updated successfully"
    )
    assert data["id"] == created["id"]
    assert data["name"] == "Advanced Support Bot"
    assert data["updatedAt"] > created["updatedAt"]
    assert data["createdAt"] == created["createdAt"]
    assert data["systemPrompt"] == "You are a helpful assistant."  # untouched
    assert Agent.objects.get(pk=created["id"]).name == "Advanced Support Bot"


def test_it_lists_with_the_spec_query(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a, name="Sales Bot", description="Handles inbound sales calls")
    item = assert_only_row(alice_client.get(f"{URL}?page=1&limit=10"), "Agents retrieved successfully", "agents")
    assert set(item) == LIST_KEYS
    assert item["id"] == agent.id
    assert item["name"] == "Sales Bot"
    assert item["description"] == "Handles inbound sales calls"
    assert item["voiceId"] == "alloy"
    assert item["status"] == "active"
    assert item["llmProviderName"] == "OpenAI" and item["ttsProviderId"] == 1


# --- List --------------------------------------------------------------------------------


def test_it_filters_by_status_and_searches_by_name(alice_client, customer_a):
    live = AgentFactory(customer=customer_a, name="Billing Desk", status=AgentStatus.ACTIVE)
    draft = AgentFactory(customer=customer_a, name="billing draft", status=AgentStatus.DRAFT)
    AgentFactory(customer=customer_a, name="Sales", status=AgentStatus.PAUSED)

    def ids(query):
        return [a["id"] for a in assert_success(alice_client.get(f"{URL}?{query}"))["agents"]]

    assert ids("status=active") == [live.id]
    assert ids("search=BILLING") == [draft.id, live.id]
    assert ids("search=billing&status=draft") == [draft.id]
    assert ids("search=nothing-like-it") == []
    assert ids("search=") == [a.id for a in Agent.objects.filter(customer=customer_a).order_by("-created_at", "-id")]


@pytest.mark.parametrize("status", ["", "active", "draft"])
def test_the_prepared_list_answers_as_the_orm_list(alice_client, customer_a, status):
    """Without a search the list reads through prepared statements (agents/views.AGENT_LIST);
    a search that every name matches takes the ORM path: page for page, the same answer."""
    for index in range(7):
        AgentFactory(customer=customer_a, name=f"Agent {index}", status=("active", "draft")[index % 3 == 0])
    AgentFactory(name="Agent of another tenant")
    for page in range(1, 5):
        query = f"status={status}&page={page}&limit=3" if status else f"page={page}&limit=3"
        prepared = assert_success(alice_client.get(f"{URL}?{query}"))
        orm = assert_success(alice_client.get(f"{URL}?{query}&search=agent"))
        assert prepared == orm
        assert (
            prepared["pagination"]["total"]
            == Agent.objects.filter(customer=customer_a, status__contains=status).count()
        )


def test_it_rejects_an_unknown_status_filter(alice_client):
    body = assert_error(alice_client.get(f"{URL}?status=deleted"), 400, "Validation failed", fields=["status"])
    assert "not a valid choice" in body["errors"][0]["message"]


def test_the_list_renders_what_the_serializer_renders(alice_client, customer_a):
    """The lean rows (morpheus/api/rows.py) are the list serializer's output, value for value."""
    from agents.serializers import AgentListItemOutput
    from morpheus.api.renderers import EnvelopeRenderer

    AgentFactory(customer=customer_a, name="Sales Bot", description="", status=AgentStatus.DRAFT)
    AgentFactory(customer=customer_a, stt_provider=STTProvider.objects.get(pk=2), llm_model="gpt-4o")
    listed = assert_success(alice_client.get(f"{URL}?limit=100"))["agents"]
    agents = Agent.objects.filter(customer=customer_a).select_related("llm_provider", "stt_provider", "tts_provider")
    serialized = AgentListItemOutput(agents.order_by("-created_at", "-id"), many=True).data
    assert listed == json.loads(EnvelopeRenderer().render(list(serialized)))


def test_the_list_reads_only_the_columns_it_shows(alice_client, customer_a):
    AgentFactory(customer=customer_a, system_prompt="x" * 5000)
    with CaptureQueriesContext(connection) as queries:
        assert_success(alice_client.get(URL))
    [page] = [q["sql"] for q in queries.captured_queries if '"agents_agent"."name"' in q["sql"]]
    for column in ("system_prompt", "first_message", "transfers", "functions", "voice_settings", "metadata"):
        assert f'"agents_agent"."{column}"' not in page
    assert '"agents_llmprovider"."name"' in page  # the provider names are joined, not looked up per row


# --- Retrieve ----------------------------------------------------------------------------


def test_it_retrieves_the_whole_configuration(alice_client, customer_a):
    agent = AgentFactory(
        customer=customer_a,
        end_call_phrases=["bye"],
        transfers=[{"name": "Desk", "destination": "+14155550123", "description": "", "message": ""}],
        metadata={"team": "a"},
    )
    data = assert_success(alice_client.get(f"{URL}/{agent.id}"), 200, "Agent retrieved successfully")
    assert set(data) == FULL_KEYS
    assert data["systemPrompt"] == agent.system_prompt
    assert data["endCallPhrases"] == ["bye"]
    assert data["transfers"][0]["destination"] == "+14155550123"
    assert data["metadata"] == {"team": "a"}
    assert data["customerId"] == str(customer_a.id)


def test_it_answers_a_missing_agent_with_the_spec_404(alice_client):
    assert_error(alice_client.get(f"{URL}/123"), 404, "Agent with ID 123 does not exist")
    assert_error(
        alice_client.patch(f"{URL}/123", {"name": "x"}, format="json"), 404, "Agent with ID 123 does not exist"
    )
    assert_error(alice_client.delete(f"{URL}/123"), 404, "Agent with ID 123 does not exist")


def test_it_requires_authentication(api_client):
    assert_error(api_client.get(URL), 401)
    assert_error(api_client.post(URL, {"name": "x"}, format="json"), 401)


def test_put_is_not_offered(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a)
    assert_error(alice_client.put(f"{URL}/{agent.id}", {"name": "x"}, format="json"), 405)


# --- Update ------------------------------------------------------------------------------


def test_a_partial_update_changes_only_what_was_sent(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a, description="before", llm_temperature=0.3)
    data = assert_success(alice_client.patch(f"{URL}/{agent.id}", {"llmTemperature": 1.2}, format="json"))
    assert data["llmTemperature"] == 1.2
    assert data["description"] == "before"
    agent.refresh_from_db()
    assert agent.llm_temperature == 1.2 and agent.description == "before"


def test_an_update_that_changes_nothing_keeps_updated_at(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a, name="Same")
    before = agent.updated_at
    assert_success(alice_client.patch(f"{URL}/{agent.id}", {"name": "Same"}, format="json"))
    agent.refresh_from_db()
    assert agent.updated_at == before


def test_switching_tts_provider_resets_model_and_voice_it_does_not_offer(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a, voice_id="echo", tts_model="tts-1")
    data = assert_success(alice_client.patch(f"{URL}/{agent.id}", {"ttsProviderId": 2}, format="json"))
    assert (data["ttsProviderId"], data["ttsProviderName"]) == (2, "ElevenLabs")
    assert data["voiceId"] == "EXAVITQu4vr4xnSDxMaL"
    assert data["ttsModel"] == "eleven_flash_v2_5"


def test_switching_provider_keeps_an_explicit_voice_and_model(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a)
    body = {"ttsProviderId": 2, "voiceId": "21m00Tcm4TlvDq8ikWAM", "ttsModel": "eleven_turbo_v2_5"}
    data = assert_success(alice_client.patch(f"{URL}/{agent.id}", body, format="json"))
    assert (data["voiceId"], data["ttsModel"]) == ("21m00Tcm4TlvDq8ikWAM", "eleven_turbo_v2_5")


def test_switching_stt_provider_resets_the_model(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a, stt_model="nova-2")
    data = assert_success(alice_client.patch(f"{URL}/{agent.id}", {"sttProviderId": 2}, format="json"))
    assert data["sttModel"] == "gpt-4o-mini-transcribe"


def test_a_blank_model_or_voice_means_the_providers_default(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a, voice_id="echo", llm_model="gpt-4o")
    data = assert_success(alice_client.patch(f"{URL}/{agent.id}", {"voiceId": "", "llmModel": ""}, format="json"))
    assert (data["voiceId"], data["llmModel"]) == ("alloy", "gpt-4o-mini")


def test_activation_needs_a_system_prompt(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a, status=AgentStatus.DRAFT, system_prompt="")
    body = assert_error(
        alice_client.patch(f"{URL}/{agent.id}", {"status": "active"}, format="json"), 400, fields=["status"]
    )
    assert body["errors"][0]["message"] == "Add a system prompt before activating the agent"
    agent.refresh_from_db()
    assert agent.status == AgentStatus.DRAFT
    data = assert_success(
        alice_client.patch(f"{URL}/{agent.id}", {"status": "active", "systemPrompt": "Be kind."}, format="json")
    )
    assert data["status"] == "active"


def test_activation_is_refused_while_a_provider_is_inactive(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a, status=AgentStatus.PAUSED)
    LLMProvider.objects.filter(pk=agent.llm_provider_id).update(is_active=False)
    assert_error(
        alice_client.patch(f"{URL}/{agent.id}", {"status": "active"}, format="json"), 400, fields=["llmProviderId"]
    )
    # Other edits still work: a deactivated provider does not lock the agent.
    assert_success(alice_client.patch(f"{URL}/{agent.id}", {"name": "Renamed", "llmProviderId": 1}, format="json"))


def test_pausing_and_drafting_are_always_allowed(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a, status=AgentStatus.ACTIVE)
    assert assert_success(alice_client.patch(f"{URL}/{agent.id}", {"status": "paused"}, format="json"))["status"] == (
        "paused"
    )
    assert assert_success(alice_client.patch(f"{URL}/{agent.id}", {"status": "draft"}, format="json"))["status"] == (
        "draft"
    )


# --- Create ------------------------------------------------------------------------------


def test_a_name_is_enough_to_create_a_draft(alice_client):
    data = assert_success(alice_client.post(URL, {"name": "Bare"}, format="json"), 201)
    assert (data["llmProviderId"], data["sttProviderId"], data["ttsProviderId"]) == (1, 1, 1)
    assert data["voiceId"] == "alloy"
    assert data["language"] == "en"
    assert data["status"] == "draft"


def test_omitted_providers_skip_inactive_rows(alice_client):
    STTProvider.objects.filter(pk=1).update(is_active=False)
    data = assert_success(alice_client.post(URL, {"name": "Bare"}, format="json"), 201)
    assert (data["sttProviderId"], data["sttModel"]) == (2, "gpt-4o-mini-transcribe")


def test_new_agents_start_as_draft(alice_client):
    body = assert_error(
        alice_client.post(URL, {"name": "Eager", "systemPrompt": "x", "status": "active"}, format="json"),
        400,
        fields=["status"],
    )
    assert body["errors"][0]["message"] == "New agents start as draft; activate them with an update"
    assert not Agent.objects.exists()


def test_it_creates_a_complete_agent_and_normalises_its_tools(alice_client):
    body = {
        "name": "  Order Desk  ",
        "description": "Orders",
        "systemPrompt": "  Keep my indentation\n",
        "firstMessage": "Hi!",
        "voiceId": "nova",
        "language": "en-US",
        "llmProviderId": 1,
        "llmModel": "gpt-4o",
        "llmTemperature": 0,
        "sttProviderId": 2,
        "sttModel": "whisper-1",
        "ttsProviderId": 1,
        "ttsModel": "tts-1-hd",
        "allowInterruptions": False,
        "interruptionMinDuration": 1.5,
        "silenceTimeoutSeconds": 20,
        "maxDurationSeconds": 900,
        "endCallPhrases": ["  goodbye ", "that's all"],
        "transfers": [{"name": "Billing", "destination": "+1 (415) 555-0123", "description": "Invoices"}],
        "functions": [
            {
                "name": "lookup_order",
                "description": "Finds an order",
                "parameters": {
                    "type": "object",
                    "properties": {"orderId": {"type": "string"}},
                    "required": ["orderId"],
                },
                "url": "https://api.example.com/tools/lookup",
            },
            {"name": "ping", "description": "Checks the line", "url": "https://api.example.com/ping"},
        ],
        "metadata": {"team": "orders", "tags": ["a"]},
    }
    data = assert_success(alice_client.post(URL, body, format="json"), 201, "Agent created successfully")
    assert data["name"] == "Order Desk"
    assert data["systemPrompt"] == "  Keep my indentation\n"
    assert (data["llmModel"], data["sttModel"], data["ttsModel"]) == ("gpt-4o", "whisper-1", "tts-1-hd")
    assert data["sttProviderName"] == "OpenAI"
    assert data["llmTemperature"] == 0.0
    assert data["allowInterruptions"] is False
    assert data["endCallPhrases"] == ["goodbye", "that's all"]
    assert data["transfers"] == [
        {"name": "Billing", "destination": "+14155550123", "description": "Invoices", "message": "", "mode": "cold"}
    ]
    assert data["functions"][1]["parameters"] == {"type": "object", "properties": {}}
    assert data["functions"][0]["parameters"]["required"] == ["orderId"]
    stored = Agent.objects.get(pk=data["id"])
    assert stored.transfers == data["transfers"] and stored.functions == data["functions"]


def test_any_voice_is_accepted_by_a_provider_without_a_fixed_list(alice_client):
    body = {"name": "Eleven", "ttsProviderId": 2, "voiceId": "my-cloned-voice-123"}
    data = assert_success(alice_client.post(URL, body, format="json"), 201)
    assert data["voiceId"] == "my-cloned-voice-123"


def test_a_sip_uri_is_a_valid_transfer_destination(alice_client):
    transfers = [{"name": "PBX", "destination": "sip:frontdesk@pbx.example.com;transport=tls"}]
    data = assert_success(alice_client.post(URL, {"name": "T", "transfers": transfers}, format="json"), 201)
    assert data["transfers"][0]["destination"] == "sip:frontdesk@pbx.example.com;transport=tls"


def test_a_transfer_is_cold_unless_it_says_warm(alice_client):
    transfers = [
        {"name": "Desk", "destination": "+14155550123"},
        {"name": "Manager", "destination": "+14155550124", "mode": "warm"},
    ]
    data = assert_success(alice_client.post(URL, {"name": "T", "transfers": transfers}, format="json"), 201)
    assert [(t["name"], t["mode"]) for t in data["transfers"]] == [("Desk", "cold"), ("Manager", "warm")]
    assert Agent.objects.get(pk=data["id"]).transfers[1]["mode"] == "warm"


def test_an_unknown_transfer_mode_is_refused_and_nothing_changes(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a, transfers=[{"name": "Desk", "destination": "+14155550123"}])
    bad = {"transfers": [{"name": "Desk", "destination": "+14155550123", "mode": "lukewarm"}]}
    body = assert_error(alice_client.patch(f"{URL}/{agent.pk}", bad, format="json"), 400, fields=["transfers.0.mode"])
    assert body["errors"][0]["message"] == "Must be one of: cold, warm"
    agent.refresh_from_db()
    assert agent.transfers == [{"name": "Desk", "destination": "+14155550123"}]


def test_http_tools_on_localhost_are_allowed_only_in_debug(alice_client, settings):
    functions = [{"name": "local", "description": "Dev tool", "url": "http://127.0.0.1:9000/tool"}]
    assert_error(
        alice_client.post(URL, {"name": "T", "functions": functions}, format="json"), 400, fields=["functions.0.url"]
    )
    settings.DEBUG = True
    data = assert_success(alice_client.post(URL, {"name": "T", "functions": functions}, format="json"), 201)
    assert data["functions"][0]["url"] == "http://127.0.0.1:9000/tool"


# --- Delete ------------------------------------------------------------------------------


def test_it_deletes_an_agent(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a)
    data = assert_success(alice_client.delete(f"{URL}/{agent.id}"), 200, "Agent deleted successfully")
    assert data == {"id": agent.id, "detachedPhoneNumberIds": []}
    assert not Agent.objects.filter(pk=agent.id).exists()


def test_delete_is_refused_while_phone_numbers_use_the_agent(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a)
    PhoneNumberFactory.create_batch(2, customer=customer_a, agent=agent)
    assigned = "Agent is assigned to phone numbers (2); unassign them first or delete with detachNumbers=true"
    assert_delete_refused(alice_client, f"{URL}/{agent.id}", agent, 409, assigned)
    assert agent.phone_numbers.count() == 2


def test_detach_numbers_unassigns_them_and_deletes(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a)
    numbers = PhoneNumberFactory.create_batch(2, customer=customer_a, agent=agent)
    data = assert_success(
        alice_client.delete(f"{URL}/{agent.id}?detachNumbers=true"), 200, "Agent deleted successfully"
    )
    assert data == {"id": agent.id, "detachedPhoneNumberIds": sorted(n.id for n in numbers)}
    assert not Agent.objects.filter(pk=agent.id).exists()
    for number in numbers:
        number.refresh_from_db()
        assert number.agent_id is None


def test_detach_numbers_must_be_a_boolean(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a)
    assert_delete_refused(alice_client, f"{URL}/{agent.id}?detachNumbers=maybe", agent, 400, fields=["detachNumbers"])


@pytest.mark.parametrize("status", [CallStatus.RINGING, CallStatus.ACTIVE])
def test_delete_is_refused_while_a_call_is_open(alice_client, customer_a, status):
    agent = AgentFactory(customer=customer_a)
    CallFactory(agent=agent, status=status)
    on_call = "Agent is on an active call; end the call before deleting the agent"
    assert_delete_refused(alice_client, f"{URL}/{agent.id}?detachNumbers=true", agent, 409, on_call)


def test_finished_calls_keep_their_history_when_the_agent_goes(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a)
    call = CallFactory(agent=agent, status=CallStatus.COMPLETED)
    assert_success(alice_client.delete(f"{URL}/{agent.id}"))
    call.refresh_from_db()
    assert call.agent_id is None


# --- Roles -------------------------------------------------------------------------------


def test_members_may_not_detach_phone_numbers(charlie_client, customer_a):
    agent = AgentFactory(customer=customer_a)
    number = PhoneNumberFactory(customer=customer_a, agent=agent)
    assert_error(charlie_client.delete(f"{URL}/{agent.id}?detachNumbers=true"), 403, FORBIDDEN)
    number.refresh_from_db()
    assert number.agent_id == agent.id


def test_admins_may_detach_phone_numbers(customer_a, alice):
    admin = UserFactory(customer=customer_a, role=Role.ADMIN)
    agent = AgentFactory(customer=customer_a)
    PhoneNumberFactory(customer=customer_a, agent=agent)
    assert_success(client_for(admin).delete(f"{URL}/{agent.id}?detachNumbers=true"))
    assert not Agent.objects.filter(pk=agent.id).exists()


def test_users_without_a_customer_are_sent_to_onboarding(platform_admin_client):
    assert_error(platform_admin_client.get(URL), 403, "Please complete onboarding to access this resource")
    assert_error(platform_admin_client.post(URL, {"name": "x"}, format="json"), 403)
    assert not Agent.objects.exists()
