"""GET /calls/export.csv: the filtered call history as CSV, streamed.

Rows come from a server-side cursor (`iterator`) and are written one at a time into the
response, so memory stays flat whatever the number of calls. Bad filters are refused
with the JSON envelope before the first byte is sent.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone
from rest_framework.negotiation import BaseContentNegotiation

from calls.models import Call
from calls.selectors import calls_filtered
from calls.serializers import CallListQuery
from morpheus.api.json import format_datetime
from morpheus.api.viewsets import TenantScopedViewSet

from .. import schema

CHUNK_ROWS = 2000
COLUMNS = [
    ("id", "id"),
    ("startedAt", "started_at"),
    ("answeredAt", "answered_at"),
    ("endedAt", "ended_at"),
    ("direction", "direction"),
    ("status", "status"),
    ("endReason", "end_reason"),
    ("agentId", "agent_id"),
    ("agentName", "agent__name"),
    ("phoneNumberId", "phone_number_id"),
    ("fromNumber", "from_number"),
    ("toNumber", "to_number"),
    ("durationSeconds", "duration"),
    ("cost", "cost"),
    ("currency", "cost_currency"),
    ("isSimulation", "is_simulation"),
    ("recordingStatus", "recording_status"),
    ("analysis", "analysis"),
]


class _Echo:
    """csv.writer writes into this and gets the line back, for streaming."""

    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "astimezone"):
        return format_datetime(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _analysis_cells(analysis) -> list[str]:
    analysis = analysis or {}
    successful = analysis.get("successful")
    return [analysis.get("status", ""), analysis.get("summary") or "", "" if successful is None else _cell(successful)]


def csv_lines(rows: Iterator[tuple]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    header = [name for name, _ in COLUMNS[:-1]] + ["analysisStatus", "summary", "successful"]
    yield writer.writerow(header)
    for row in rows:
        *plain, analysis = row
        # A leading = + - @ would run as a formula in a spreadsheet: quote it away (CSV injection).
        cells = [_cell(v) for v in plain] + _analysis_cells(analysis)
        yield writer.writerow(["'" + c if c[:1] in ("=", "+", "-", "@") and not _is_number(c) else c for c in cells])


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class FirstRenderer(BaseContentNegotiation):
    """The export answers CSV whatever Accept says; errors use the envelope renderer."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None


class CallExportView(TenantScopedViewSet):
    queryset = Call.objects.all()
    agent_field = "agent"  # an agent-restricted API key exports only its agents' calls
    content_negotiation_class = FirstRenderer

    @schema.call_export_export
    def export(self, request):
        query = CallListQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        data = query.validated_data
        calls = calls_filtered(
            self.get_queryset(),
            statuses=data.get("status"),
            agent_id=data.get("agentId"),
            phone_number_id=data.get("phoneNumberId"),
            direction=data.get("direction"),
            started_after=data.get("startedAfter"),
            started_before=data.get("startedBefore"),
            simulation=data.get("simulation"),
        )
        rows = calls.values_list(*[field for _, field in COLUMNS]).iterator(chunk_size=CHUNK_ROWS)
        response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="calls-{stamp}.csv"'
        return response


__all__ = ["CallExportView"]
