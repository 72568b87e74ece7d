"""The default provider catalogue a fresh database starts with.

Order matters: rows are created in this order, so on a fresh database LLM 1 is
OpenAI, STT 1 Deepgram and TTS 1 OpenAI, which the spec's examples rely on.
"""

OPENAI_VOICES = ["alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse"]

LLM_PROVIDERS = [
    {
        "name": "OpenAI",
        "vendor": "openai",
        "default_model": "gpt-4o-mini",
        "available_models": ["gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano"],
    },
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
        "voices": OPENAI_VOICES,
    },
    {
        "name": "ElevenLabs",
        "vendor": "elevenlabs",
        "default_model": "eleven_flash_v2_5",
        "available_models": ["eleven_flash_v2_5", "eleven_turbo_v2_5", "eleven_multilingual_v2"],
        # ElevenLabs voices are per account, so any voice id is accepted.
        "default_voice": "EXAVITQu4vr4xnSDxMaL",
        "voices": [],
    },
]


def install_default_catalogue(llm_model, stt_model, tts_model) -> None:
    """Creates the default rows of each provider table that is empty.

    Takes the model classes so the data migration can pass its historical models.
    """
    for model, rows in ((llm_model, LLM_PROVIDERS), (stt_model, STT_PROVIDERS), (tts_model, TTS_PROVIDERS)):
        if model.objects.exists():
            continue
        for row in rows:
            model.objects.create(**row)
