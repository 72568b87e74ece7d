from django.db import migrations

from agents.catalogue import LLM_PROVIDERS, STT_PROVIDERS, TTS_PROVIDERS


def install_catalogue(apps, schema_editor):
    for model_name, rows in (
        ("LLMProvider", LLM_PROVIDERS),
        ("STTProvider", STT_PROVIDERS),
        ("TTSProvider", TTS_PROVIDERS),
    ):
        model = apps.get_model("agents", model_name)
        if model.objects.exists():
            continue
        for row in rows:
            model.objects.create(**row)


class Migration(migrations.Migration):
    dependencies = [("agents", "0001_initial")]

    operations = [migrations.RunPython(install_catalogue, migrations.RunPython.noop)]
