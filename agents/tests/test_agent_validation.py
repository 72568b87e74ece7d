"""Bad agent configurations: each is a 400 naming the field, and nothing is written."""

import pytest

from agents import examples
from agents.models import Agent, TTSProvider
from agents.tests.factories import AgentFactory
from testsupport.api import assert_error

pytestmark = pytest.mark.django_db

URL = "/api/v1/agents"
VALID = examples.AGENT_CREATE_REQUEST.value  # the spec's create body
TOOL = {"name": "lookup", "description": "Looks things up", "url": "https://api.example.com/lookup"}
TRANSFER = {"name": "Desk", "destination": "+14155550123"}

BAD_CONFIGURATIONS = [
    # providers, models, voices
    ({"llmProviderId": 999}, ["llmProviderId"]),
    ({"sttProviderId": 999}, ["sttProviderId"]),
    ({"ttsProviderId": 0}, ["ttsProviderId"]),
    ({"llmProviderId": "one"}, ["llmProviderId"]),
    ({"llmProviderId": None}, ["llmProviderId"]),
    ({"voiceId": "nova2"}, ["voiceId"]),
    ({"voiceId": "x" * 101}, ["voiceId"]),
    ({"llmModel": "gpt-99"}, ["llmModel"]),
    ({"sttModel": "whisper-1"}, ["sttModel"]),  # an OpenAI model on Deepgram
    ({"ttsModel": "eleven_flash_v2_5"}, ["ttsModel"]),
    ({"llmTemperature": 2.01}, ["llmTemperature"]),
    ({"llmTemperature": -0.1}, ["llmTemperature"]),
    ({"llmTemperature": "hot"}, ["llmTemperature"]),
    # texts
    ({"name": ""}, ["name"]),
    ({"name": "   "}, ["name"]),
    ({"name": "n" * 121}, ["name"]),
    ({"name": None}, ["name"]),
    ({"description": "d" * 2001}, ["description"]),
    ({"systemPrompt": "p" * 20_001}, ["systemPrompt"]),
    ({"firstMessage": "f" * 2001}, ["firstMessage"]),
    ({"language": "english!"}, ["language"]),
    ({"language": "EN_us"}, ["language"]),
    # enumerations and numbers
    ({"status": "archived"}, ["status"]),
    ({"allowInterruptions": "sometimes"}, ["allowInterruptions"]),
    ({"interruptionMinDuration": 11}, ["interruptionMinDuration"]),
    ({"silenceTimeoutSeconds": 0}, ["silenceTimeoutSeconds"]),
    ({"silenceTimeoutSeconds": 30.5}, ["silenceTimeoutSeconds"]),
    ({"maxDurationSeconds": 10**9}, ["maxDurationSeconds"]),
    # end-call phrases
    ({"endCallPhrases": "bye"}, ["endCallPhrases"]),
    ({"endCallPhrases": ["bye", ""]}, ["endCallPhrases.1"]),
    ({"endCallPhrases": ["bye", 3]}, ["endCallPhrases.1"]),
    ({"endCallPhrases": ["x" * 201]}, ["endCallPhrases.0"]),
    ({"endCallPhrases": ["bye"] * 21}, ["endCallPhrases"]),
    # transfers
    ({"transfers": {"name": "Desk"}}, ["transfers"]),
    ({"transfers": ["Desk"]}, ["transfers.0"]),
    ({"transfers": [{"name": "Desk"}]}, ["transfers.0.destination"]),
    ({"transfers": [{"destination": "+14155550123"}]}, ["transfers.0.name"]),
    ({"transfers": [{"name": "Desk", "destination": "555-0123"}]}, ["transfers.0.destination"]),
    ({"transfers": [{"name": "Desk", "destination": "sip:"}]}, ["transfers.0.destination"]),
    ({"transfers": [{"name": "Desk", "destination": "+1415"}]}, ["transfers.0.destination"]),
    ({"transfers": [TRANSFER, TRANSFER | {"name": "desk"}]}, ["transfers.1.name"]),
    ({"transfers": [TRANSFER | {"number": "+1"}]}, ["transfers.0.number"]),
    ({"transfers": [TRANSFER | {"description": "d" * 1001}]}, ["transfers.0.description"]),
    ({"transfers": [TRANSFER | {"name": f"Desk {i}"} for i in range(21)]}, ["transfers"]),
    # functions
    ({"functions": "lookup"}, ["functions"]),
    ({"functions": [42]}, ["functions.0"]),
    ({"functions": [TOOL | {"name": "1st"}]}, ["functions.0.name"]),
    ({"functions": [TOOL | {"name": "has space"}]}, ["functions.0.name"]),
    ({"functions": [TOOL | {"name": "n" * 65}]}, ["functions.0.name"]),
    ({"functions": [TOOL | {"name": "end_call"}]}, ["functions.0.name"]),
    ({"functions": [TOOL | {"name": "transfer_call"}]}, ["functions.0.name"]),
    ({"functions": [TOOL, TOOL]}, ["functions.1.name"]),
    ({"functions": [{k: v for k, v in TOOL.items() if k != "url"}]}, ["functions.0.url"]),
    ({"functions": [{k: v for k, v in TOOL.items() if k != "description"}]}, ["functions.0.description"]),
    ({"functions": [TOOL | {"url": "http://api.example.com/lookup"}]}, ["functions.0.url"]),
    ({"functions": [TOOL | {"url": "ftp://api.example.com/lookup"}]}, ["functions.0.url"]),
    ({"functions": [TOOL | {"url": "not a url"}]}, ["functions.0.url"]),
    ({"functions": [TOOL | {"url": "https://localhost/tool"}]}, ["functions.0.url"]),
    ({"functions": [TOOL | {"url": "https://10.0.0.5/tool"}]}, ["functions.0.url"]),
    ({"functions": [TOOL | {"url": "https://169.254.169.254/latest/meta-data"}]}, ["functions.0.url"]),
    ({"functions": [TOOL | {"parameters": "orderId"}]}, ["functions.0.parameters"]),
    ({"functions": [TOOL | {"parameters": {"type": "array"}}]}, ["functions.0.parameters"]),
    ({"functions": [TOOL | {"parameters": {"properties": {}}}]}, ["functions.0.parameters"]),
    (
        {"functions": [TOOL | {"parameters": {"type": "object", "properties": {"id": {"type": "strin"}}}}]},
        ["functions.0.parameters"],
    ),
    (
        {"functions": [TOOL | {"parameters": {"type": "object", "required": "id"}}]},
        ["functions.0.parameters"],
    ),
    ({"functions": [TOOL | {"paramters": {"type": "object"}}]}, ["functions.0.paramters"]),
    ({"functions": [TOOL | {"name": f"tool_{i}"} for i in range(33)]}, ["functions"]),
    # metadata
    ({"metadata": ["a"]}, ["metadata"]),
    ({"metadata": {"blob": "x" * 16_001}}, ["metadata"]),
]


@pytest.mark.parametrize(("changes", "fields"), BAD_CONFIGURATIONS)
def test_create_refuses_bad_configuration(alice_client, changes, fields):
    response = alice_client.post(URL, VALID | changes, format="json")
    assert_error(response, 400, "Validation failed", fields=fields)
    assert not Agent.objects.exists()


@pytest.mark.parametrize(("changes", "fields"), BAD_CONFIGURATIONS)
def test_update_refuses_bad_configuration_and_changes_nothing(alice_client, customer_a, changes, fields):
    agent = AgentFactory(customer=customer_a)
    before = Agent.objects.filter(pk=agent.pk).values().get()
    response = alice_client.patch(f"{URL}/{agent.id}", changes, format="json")
    assert_error(response, 400, "Validation failed", fields=fields)
    assert Agent.objects.filter(pk=agent.pk).values().get() == before


def test_every_problem_is_reported_at_once(alice_client):
    body = {
        "name": "",
        "voiceId": "nova2",
        "llmProviderId": 999,
        "llmTemperature": 3,
        "functions": [TOOL | {"name": "end_call", "url": "http://x.example.com"}],
    }
    response = alice_client.post(URL, body, format="json")
    # The serializer's type and range checks answer first; service rules follow once types are right.
    assert_error(response, 400, fields=["name", "llmTemperature"])
    body |= {"name": "ok", "llmTemperature": 1}
    assert_error(
        alice_client.post(URL, body, format="json"),
        400,
        fields=["voiceId", "llmProviderId", "functions.0.name", "functions.0.url"],
    )


def test_messages_say_what_is_allowed(alice_client):
    def messages(changes):
        body = assert_error(alice_client.post(URL, VALID | changes, format="json"), 400)
        return {e["field"]: e["message"] for e in body["errors"]}

    assert messages({"voiceId": "nova2"})["voiceId"].startswith(
        "Voice 'nova2' is not offered by OpenAI; choose one of: alloy"
    )
    assert messages({"llmProviderId": 999})["llmProviderId"] == "LLM provider with ID 999 does not exist"
    assert messages({"functions": [TOOL | {"name": "end_call"}]})["functions.0.name"] == (
        "'end_call' is a built-in tool; choose another name"
    )
    invalid_schema = {"type": "object", "properties": {"id": {"type": "strin"}}}
    message = messages({"functions": [TOOL | {"parameters": invalid_schema}]})["functions.0.parameters"]
    assert message.startswith("Invalid JSON Schema at properties.id.type:")


def test_an_inactive_provider_is_refused(alice_client):
    TTSProvider.objects.filter(pk=2).update(is_active=False)
    body = assert_error(
        alice_client.post(URL, VALID | {"ttsProviderId": 2}, format="json"), 400, fields=["ttsProviderId"]
    )
    assert body["errors"][0]["message"] == "TTS provider ElevenLabs (ID 2) is not active"
    assert not Agent.objects.exists()


def test_the_longest_prompt_allowed_is_accepted(alice_client):
    response = alice_client.post(URL, VALID | {"systemPrompt": "p" * 20_000}, format="json")
    assert response.status_code == 201, response.json()
    assert len(Agent.objects.get().system_prompt) == 20_000


def test_malformed_json_is_a_400(alice_client):
    response = alice_client.post(URL, data='{"name": "x", "functions": [', content_type="application/json")
    assert_error(response, 400, "Malformed JSON in request body")
    assert not Agent.objects.exists()


def test_a_body_that_is_not_an_object_is_a_400(alice_client):
    assert_error(alice_client.post(URL, data="[1, 2]", content_type="application/json"), 400, "Validation failed")
    assert not Agent.objects.exists()
