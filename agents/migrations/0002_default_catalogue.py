"""The default provider catalogue a fresh database starts with, frozen as it was when this
migration was written: a migration never imports live code (agents/catalogue.py may change;
what an existing database was seeded with must not). Rows are created in this order, so on
a fresh database LLM 1 is OpenAI, STT 1 Deepgram and TTS 1 OpenAI."""

from django.db import migrations

LLM_PROVIDERS = [
    {
        "name": "OpenAI",
        "vendor": "openai",
        "default_model": "gpt-4o-mini",
        "available_models": ["gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano"],
    }
]

STT_PROVIDERS = [
    {
        "name": "Deepgram",
        "vendor": "deepgram",
        "default_model": "nova-3",
        "available_models": ["nova-3", "nova-2", "nova-2-phonecall"],
    },
    {
        "name": "OpenAI",
        "vendor": "openai",
        "default_model": "gpt-4o-mini-transcribe",
        "available_models": ["gpt-4o-mini-transcribe", "gpt-4o-transcribe", "whisper-1"],
    },
]

TTS_PROVIDERS = [
    {
        "name": "OpenAI",
        "vendor": "openai",
        "default_model": "gpt-4o-mini-tts",
        "available_models": ["gpt-4o-mini-tts", "tts-1", "tts-1-hd"],
        "default_voice": "alloy",
        "voices": ["alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse"],
    },
    {
        "name": "ElevenLabs",
        "vendor": "elevenlabs",
        "default_model": "eleven_flash_v2_5",
        "available_models": ["eleven_flash_v2_5", "eleven_turbo_v2_5", "eleven_multilingual_v2"],
        "default_voice": "EXAVITQu4vr4xnSDxMaL",
        "voices": [],
    },
]


def install_catalogue(apps, schema_editor):
    tables = (("LLMProvider", LLM_PROVIDERS), ("STTProvider", STT_PROVIDERS), ("TTSProvider", TTS_PROVIDERS))
    for model_name, rows in tables:
        model = apps.get_model("agents", model_name)
        if model.objects.exists():
            continue
        for row in rows:
            model.objects.create(**row)


class Migration(migrations.Migration):
    dependencies = [("agents", "0001_initial")]

    operations = [migrations.RunPython(install_catalogue, migrations.RunPython.noop)]
