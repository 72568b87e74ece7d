from django.test import override_settings

from tenants.credentials import platform_key_setting, provider_credential


@override_settings(OPENAI_API_KEY="sk-platform", OPENAI_BASE_URL="http://127.0.0.1:9/v1")
def test_it_falls_back_to_the_platform_key_and_base_url():
    credential = provider_credential(customer_id=None, vendor="openai")
    assert credential is not None
    assert (credential.api_key, credential.base_url, credential.source) == (
        "sk-platform",
        "http://127.0.0.1:9/v1",
        "platform",
    )


@override_settings(DEEPGRAM_API_KEY="")
def test_it_says_none_when_nothing_is_configured():
    assert provider_credential(customer_id=None, vendor="deepgram") is None
    assert platform_key_setting("deepgram") == "DEEPGRAM_API_KEY"
