"""Server-rendered SVG charts (pygal) for the platform admin: the overview's and each
customer's. Figures come from the rollups (never a scan of calls), in UTC days.

pygal's interactive script is a CDN link by default: `js=[]` leaves it out, so the
charts are static SVG with native <title> tooltips, and the admin loads nothing from
outside.
"""

from __future__ import annotations

import datetime

import pygal
from django.db.models import Sum
from django.utils import timezone
from pygal.style import Style

from .models import CallRollup
from .selectors import percentile

DAYS = 30
STYLE = Style(
    background="white",
    plot_background="white",
    font_family="-apple-system, 'Segoe UI', system-ui, Roboto, sans-serif",
    colors=("#2e7d32", "#c62828", "#f9a825", "#6d6d6d", "#1565c0", "#8e24aa"),
)
CONFIG = {
    "js": [],
    "disable_xml_declaration": True,
    "style": STYLE,
    "height": 320,
    "width": 760,
    "legend_at_bottom": True,
    "x_label_rotation": 45,
    "show_minor_x_labels": False,
    "truncate_legend": 40,
}
STATUS_SERIES = (
    ("Completed", "status_completed"),
    ("Failed", "status_failed"),
    ("No answer", "status_no_answer"),
    ("Busy or canceled", ("status_busy", "status_canceled")),
    ("Open", "status_open"),
)


def _days(now: datetime.datetime) -> list[datetime.date]:
    today = now.astimezone(datetime.UTC).date()
    return [today - datetime.timedelta(days=DAYS - 1 - i) for i in range(DAYS)]


def _rows(customer_id=None):
    now = timezone.now()
    days = _days(now)
    start = datetime.datetime.combine(days[0], datetime.time(0), tzinfo=datetime.UTC)
    rows = CallRollup.objects.filter(bucket__gte=start, is_simulation=False)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    return rows, days


def _render(chart) -> str:
    return chart.render(is_unicode=True)


def _labels(chart, days):
    chart.x_labels = [day.strftime("%b %d") for day in days]
    chart.x_labels_major = chart.x_labels[::5]


def calls_by_status_chart(rows, days) -> tuple[str, dict]:
    columns = {"status_completed", "status_failed", "status_no_answer", "status_busy", "status_canceled", "status_open"}
    per_day: dict = {day: dict.fromkeys(columns, 0) for day in days}
    daily = rows.values("bucket").annotate(**{c: Sum(c) for c in columns})
    for row in daily:
        day = row["bucket"].astimezone(datetime.UTC).date()
        if day in per_day:
            for column in columns:
                per_day[day][column] += row[column] or 0
    chart = pygal.StackedBar(title="Calls per day by status (UTC, last 30 days)", **CONFIG)
    _labels(chart, days)
    for label, column in STATUS_SERIES:
        names = column if isinstance(column, tuple) else (column,)
        chart.add(label, [sum(per_day[day][n] for n in names) for day in days])
    return _render(chart), per_day


def failure_rate_chart(per_day, days) -> str:
    chart = pygal.Line(title="Failure rate per day (% of calls)", range=(0, 100), **CONFIG)
    _labels(chart, days)
    values = []
    for day in days:
        counts = per_day[day]
        total = sum(counts.values())
        values.append(round(100 * counts["status_failed"] / total, 1) if total else None)
    chart.add("Failed %", values)
    return _render(chart)


def latency_chart(rows, days) -> str:
    merged: dict = {day: {} for day in days}
    for bucket, histograms in rows.exclude(latency={}).values_list("bucket", "latency"):
        day = bucket.astimezone(datetime.UTC).date()
        if day not in merged:
            continue
        bins = merged[day]
        for key, count in (histograms.get("e2e") or {}).items():
            bins[key] = bins.get(key, 0) + count
    chart = pygal.Line(title="End-to-end turn latency per day (ms)", **CONFIG)
    _labels(chart, days)
    chart.add("p95", [percentile(merged[day], 95) for day in days])
    chart.add("p50", [percentile(merged[day], 50) for day in days])
    return _render(chart)


def busiest_customers_chart(rows, limit: int = 10) -> str:
    from tenants.models import Customer

    top = list(rows.values("customer_id").annotate(n=Sum("calls")).order_by("-n")[:limit])
    names = dict(Customer.objects.filter(pk__in=[r["customer_id"] for r in top]).values_list("pk", "company_name"))
    chart = pygal.HorizontalBar(title="Busiest customers (calls, last 30 days)", **{**CONFIG, "x_label_rotation": 0})
    for row in reversed(top):
        chart.add(names.get(row["customer_id"], str(row["customer_id"])), row["n"])
    return _render(chart)


def overview_charts(customer_id=None) -> list[dict]:
    """[{id, title, svg}] for the admin index (all customers) or one customer's page."""
    rows, days = _rows(customer_id)
    by_status, per_day = calls_by_status_chart(rows, days)
    charts = [
        {"id": "chart-calls-by-status", "title": "Calls per day by status", "svg": by_status},
        {"id": "chart-failure-rate", "title": "Failure rate", "svg": failure_rate_chart(per_day, days)},
        {"id": "chart-latency", "title": "Latency p95 trend", "svg": latency_chart(rows, days)},
    ]
    if customer_id is None:
        charts.append({"id": "chart-busiest", "title": "Busiest customers", "svg": busiest_customers_chart(rows)})
    return charts


__all__ = ["overview_charts"]
