"""Rollup rows' latency histograms from JSON to packed bytes (analytics/histograms.py): a
query reads them without parsing JSON bin by bin. Existing rows are converted here."""

from django.db import migrations, models

from analytics.histograms import pack, unpack

ROLLUPS = ("callrollup", "calldayrollup", "callhourrollup")
BATCH = 2000


def _convert(apps, model_name: str, source: str, target: str, convert) -> None:
    model = apps.get_model("analytics", model_name)
    batch = []
    for row in model.objects.only("pk", source).iterator(chunk_size=BATCH):
        setattr(row, target, convert(getattr(row, source)))
        batch.append(row)
        if len(batch) == BATCH:
            model.objects.bulk_update(batch, [target])
            batch = []
    model.objects.bulk_update(batch, [target])


def to_packed(apps, schema_editor):
    for name in ROLLUPS:
        _convert(apps, name, "latency_json", "latency", lambda value: pack(value or {}))


def to_json(apps, schema_editor):
    for name in ROLLUPS:
        _convert(apps, name, "latency", "latency_json", lambda value: unpack(value or b""))


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0004_hour_rollups"),
    ]

    operations = [
        *(migrations.RenameField(name, "latency", "latency_json") for name in ROLLUPS),
        *(
            migrations.AddField(name, "latency", models.BinaryField(blank=True, default=b""))
            for name in ROLLUPS
        ),
        migrations.RunPython(to_packed, to_json),
        *(migrations.RemoveField(name, "latency_json") for name in ROLLUPS),
    ]
