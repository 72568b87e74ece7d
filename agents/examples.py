"""OpenAPI examples for /agents and /providers: the spec's bodies (`data`; the envelope
around them is added by morpheus.api.schema)."""

from morpheus.api.schema import request_example, response_example

from .catalogue import LLM_PROVIDERS, STT_PROVIDERS, TTS_PROVIDERS

CUSTOMER_ID = "880e8400-e29b-41d4-a716-446655440000"


AGENT = {
    "id": 2,
    "name": "Support Bot",
    "description": "",
    "voiceId": "echo",
    "language": "en",
    "status": "draft",
    "llmProviderId": 1,
    "llmProviderName": "OpenAI",
    "llmModel": "gpt-4o-mini",
    "sttProviderId": 1,
    "sttProviderName": "Deepgram",
    "sttModel": "nova-3",
    "ttsProviderId": 1,
    "ttsProviderName": "OpenAI",
    "ttsModel": "gpt-4o-mini-tts",
    "customerId": CUSTOMER_ID,
    "createdAt": "2026-02-05T22:05:00.000Z",
    "updatedAt": "2026-02-05T22:05:00.000Z",
    "systemPrompt": "You are a helpful assistant.",
    "firstMessage": "",
    "llmTemperature": 0.7,
    "allowInterruptions": True,
    "interruptionMinDuration": 0.5,
    "silenceTimeoutSeconds": 30,
    "maxDurationSeconds": 1800,
    "endCallPhrases": [],
    "transfers": [],
    "functions": [],
    "metadata": {},
}

LIST_ITEM = {
    key: value
    for key, value in AGENT.items()
    if key
    not in {
        "systemPrompt",
        "firstMessage",
        "llmTemperature",
        "allowInterruptions",
        "interruptionMinDuration",
        "silenceTimeoutSeconds",
        "maxDurationSeconds",
        "endCallPhrases",
        "transfers",
        "functions",
        "metadata",
    }
} | {
    "id": 1,
    "name": "Sales Bot",
    "description": "Handles inbound sales calls",
    "voiceId": "alloy",
    "status": "active",
    "createdAt": "2026-02-05T10:00:00.000Z",
    "updatedAt": "2026-02-05T10:00:00.000Z",
}

AGENT_LIST = response_example(
    "Agents", {"agents": [LIST_ITEM], "pagination": {"page": 1, "limit": 10, "total": 1, "totalPages": 1}}
)

AGENT_CREATE_REQUEST = request_example(
    "Minimal (the spec's example)",
    {
        "name": "Support Bot",
        "voiceId": "echo",
        "systemPrompt": "You are a helpful assistant.",
        "llmProviderId": 1,
        "ttsProviderId": 1,
        "sttProviderId": 1,
    },
)

AGENT_CREATE_FULL_REQUEST = request_example(
    "With tools and transfers",
    {
        "name": "Order Desk",
        "description": "Answers order questions and hands billing to people",
        "systemPrompt": "You help callers with their orders. Be brief.",
        "firstMessage": "Hi, this is the order desk. How can I help?",
        "voiceId": "nova",
        "language": "en-US",
        "llmProviderId": 1,
        "llmModel": "gpt-4o",
        "llmTemperature": 0.4,
        "sttProviderId": 1,
        "sttModel": "nova-3",
        "ttsProviderId": 1,
        "allowInterruptions": True,
        "interruptionMinDuration": 0.4,
        "silenceTimeoutSeconds": 20,
        "maxDurationSeconds": 900,
        "endCallPhrases": ["goodbye", "that's all"],
        "transfers": [
            {
                "name": "Billing desk",
                "destination": "+14155550123",
                "description": "When the caller asks about an invoice or a refund",
                "message": "Let me connect you with billing.",
            }
        ],
        "functions": [
            {
                "name": "lookup_order",
                "description": "Finds an order by its number",
                "parameters": {
                    "type": "object",
                    "properties": {"orderId": {"type": "string", "description": "The order number"}},
                    "required": ["orderId"],
                },
                "url": "https://api.example.com/tools/lookup-order",
            }
        ],
        "metadata": {"team": "support"},
    },
)

AGENT_CREATE_RESPONSE = response_example("Created", AGENT, 201)

AGENT_RESPONSE = response_example("Agent", AGENT)

AGENT_UPDATE_REQUEST = request_example("Rename", {"name": "Advanced Support Bot"})

AGENT_UPDATE_RESPONSE = response_example(
    "Updated", AGENT | {"name": "Advanced Support Bot", "updatedAt": "2026-02-05T22:10:00.000Z"}
)

AGENT_DELETE_RESPONSE = response_example("Deleted", {"id": 2, "detachedPhoneNumberIds": []})


def _provider(index: int, row: dict) -> dict:
    item = {
        "id": index,
        "name": row["name"],
        "vendor": row["vendor"],
        "defaultModel": row["default_model"],
        "models": row["available_models"],
    }
    if "voices" in row:
        item |= {"defaultVoice": row["default_voice"], "voices": row["voices"]}
    return item


PROVIDERS_RESPONSE = response_example(
    "Default catalogue",
    {
        kind: [_provider(index, row) for index, row in enumerate(rows, start=1)]
        for kind, rows in (("llm", LLM_PROVIDERS), ("stt", STT_PROVIDERS), ("tts", TTS_PROVIDERS))
    },
)
