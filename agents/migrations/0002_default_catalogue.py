from django.db import migrations

from agents.catalogue import install_default_catalogue


def install_catalogue(apps, schema_editor):
    install_default_catalogue(
        apps.get_model("agents", "LLMProvider"),
        apps.get_model("agents", "STTProvider"),
        apps.get_model("agents", "TTSProvider"),
    )


class Migration(migrations.Migration):
    dependencies = [("agents", "0001_initial")]

    operations = [migrations.RunPython(install_catalogue, migrations.RunPython.noop)]
