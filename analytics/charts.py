"""Server-rendered SVG charts (pygal) for the platform admin: the overview's and each
customer's. Figures come from the rollups (never a scan of calls), in UTC days: the
all-agents hour rows at :00 (CallHourRollup, phase 0), which the analytics API reads for
UTC days too, so 30 days are at most 720 rows per customer whatever the number of calls,
and the charts show the API's figures (`analytics/tests/test_charts.py`).

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

from .histograms import latency_percentiles
from .models import ALL_AGENTS, ALL_DIRECTIONS, CallHourRollup

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


def chart_rows(customer_id=None):
    """The real calls' all-agents hour rows of UTC hours (each within one UTC day) since
    the first of the 30 days."""
    now = timezone.now()
    days = _days(now)
    start = datetime.datetime.combine(days[0], datetime.time(0), tzinfo=datetime.UTC)
    rows = CallHourRollup.objects.filter(
        phase=0, agent_id=ALL_AGENTS, direction=ALL_DIRECTIONS, is_simulation=False, hour__gte=start
    )
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    return rows, days


def _render(chart) -> str:
    return chart.render(is_unicode=True)


def _labels(chart, days):
    chart.x_labels = [day.strftime("%b %d") for day in days]
    chart.x_labels_major = chart.x_labels[::5]


def calls_per_day(rows, days) -> dict[datetime.date, dict[str, int]]:
    """{day: {status column: calls}} of `days`."""
    columns = {"status_completed", "status_failed", "status_no_answer", "status_busy", "status_canceled", "status_open"}
    per_day: dict = {day: dict.fromkeys(columns, 0) for day in days}
    hourly = rows.values("hour").annotate(**{c: Sum(c) for c in columns})
    for row in hourly:
        day = row["hour"].astimezone(datetime.UTC).date()
        if day in per_day:
            for column in columns:
                per_day[day][column] += row[column] or 0
    return per_day


def latency_per_day(rows, days) -> list[dict]:
    """End-to-end turn latency {p50, p95, count} of each of `days`."""
    group_of = {day: group for group, day in enumerate(days)}
    packed = rows.exclude(latency=b"").values_list("hour", "latency")
    per_day, _ = latency_percentiles(
        ((group_of.get(hour.astimezone(datetime.UTC).date()), data) for hour, data in packed), len(days)
    )
    return [figures["e2e"] for figures in per_day]


def calls_by_status_chart(rows, days) -> tuple[str, dict]:
    per_day = calls_per_day(rows, days)
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
    per_day = latency_per_day(rows, days)
    chart = pygal.Line(title="End-to-end turn latency per day (ms)", **CONFIG)
    _labels(chart, days)
    chart.add("p95", [figures["p95"] for figures in per_day])
    chart.add("p50", [figures["p50"] for figures in per_day])
    return _render(chart)


def busiest_customers_chart(rows, limit: int = 10) -> str:
    from tenants.models import Customer

    top = list(rows.values("customer_id").annotate(n=Sum("calls")).order_by("-n", "customer_id")[:limit])
    names = dict(Customer.objects.filter(pk__in=[r["customer_id"] for r in top]).values_list("pk", "company_name"))
    chart = pygal.HorizontalBar(title="Busiest customers (calls, last 30 days)", **{**CONFIG, "x_label_rotation": 0})
    for row in reversed(top):
        chart.add(names.get(row["customer_id"], str(row["customer_id"])), row["n"])
    return _render(chart)


def overview_charts(customer_id=None) -> list[dict]:
    """[{id, title, svg}] for the admin index (all customers) or one customer's page."""
    rows, days = chart_rows(customer_id)
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
