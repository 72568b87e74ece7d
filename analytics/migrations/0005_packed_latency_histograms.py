"""Rollup rows' latency histograms from JSON to packed bytes (analytics/histograms.py): a
query reads them without parsing JSON bin by bin. Existing rows are converted here."""

from django.db import migrations, models

import struct

# Frozen copy of analytics/histograms.py's packed format as of this migration, with struct
# (migrations import no live code: a later format change must not rewrite this step).
_METRICS = ("e2e", "llm_ttft", "tts_ttfb", "end_of_turn")
# tag: (record layout, bin range, count range)
_FORMATS = {
    1: ("<BhH", (-(2**15), 2**15 - 1), (0, 2**16 - 1)),
    2: ("<Bii", (-(2**31), 2**31 - 1), (-(2**31), 2**31 - 1)),
    3: ("<Bqq", (-(2**63), 2**63 - 1), (-(2**63), 2**63 - 1)),
}


def pack(histograms: dict) -> bytes:
    codes = {metric: code for code, metric in enumerate(_METRICS)}
    entries = sorted((codes[m], int(k), c) for m, bins in histograms.items() for k, c in bins.items())
    if not entries:
        return b""
    keys = [key for _, key, _ in entries]
    counts = [count for _, _, count in entries]
    tag = next(
        tag
        for tag, (_, (bmin, bmax), (cmin, cmax)) in _FORMATS.items()
        if bmin <= min(keys) and max(keys) <= bmax and cmin <= min(counts) and max(counts) <= cmax
    )
    layout = _FORMATS[tag][0]
    return bytes([tag]) + b"".join(struct.pack(layout, *entry) for entry in entries)


def unpack(data) -> dict:
    histograms: dict = {}
    if not data:
        return histograms
    data = bytes(data)
    for code, key, count in struct.iter_unpack(_FORMATS[data[0]][0], data[1:]):
        histograms.setdefault(_METRICS[code], {})[str(key)] = count
    return histograms
    data = bytes(data)
    for code, key, count in np.frombuffer(data[1:], _FORMATS[data[0]]).tolist():
        histograms.setdefault(_METRICS[code], {})[str(key)] = count
    return histograms


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
        *(migrations.AddField(name, "latency", models.BinaryField(blank=True, default=b"")) for name in ROLLUPS),
        migrations.RunPython(to_packed, to_json),
        *(migrations.RemoveField(name, "latency_json") for name in ROLLUPS),
    ]
