"""/campaigns (with lifecycle, contacts and results.csv) and /dnc."""

from __future__ import annotations

import csv

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser

from accounts.models import MANAGER_ROLES
from morpheus.api.pagination import PagePagination
from morpheus.api.parsers import JSONParser
from morpheus.api.responses import created, ok
from morpheus.api.viewsets import TenantScopedViewSet
from morpheus.errors import ValidationFailed

from . import selectors, services
from .models import Campaign, DoNotCall
from .serializers import (
    CampaignInput,
    CampaignOutput,
    CampaignPageOutput,
    ContactListQuery,
    ContactOutput,
    ContactPageOutput,
    ContactsJsonInput,
    DncInput,
    DncListQuery,
    DncOutput,
    DncPageOutput,
    DncRemovedOutput,
    UploadReportOutput,
)

WRITE = MANAGER_ROLES
CONFLICT = OpenApiResponse(description="The campaign's status does not allow it")


class ContactsPagination(PagePagination):
    items_key = "contacts"


@extend_schema(tags=["campaigns"])
class CampaignViewSet(mixins.ListModelMixin, TenantScopedViewSet):
    queryset = Campaign.objects.all()
    serializer_class = CampaignOutput
    list_key = "campaigns"
    not_found_label = "Campaign"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    parser_classes = [JSONParser, MultiPartParser]
    action_roles = {
        "create": WRITE,
        "partial_update": WRITE,
        "destroy": WRITE,
        "start": WRITE,
        "pause": WRITE,
        "resume": WRITE,
        "cancel": WRITE,
        "add_contacts": WRITE,
    }
    success_messages = {
        "list": "Campaigns retrieved successfully",
        "create": "Campaign created successfully",
        "retrieve": "Campaign retrieved successfully",
        "partial_update": "Campaign updated successfully",
        "destroy": "Campaign deleted successfully",
        "start": "Campaign started successfully",
        "pause": "Campaign paused successfully",
        "resume": "Campaign resumed successfully",
        "cancel": "Campaign canceled successfully",
        "contacts": "Contacts retrieved successfully",
        "add_contacts": "Contacts added successfully",
    }

    def safely_get_queryset(self, queryset):
        if self.action in ("list", "retrieve"):
            return selectors.with_progress(queryset)
        return queryset

    def _render(self, campaign):
        return CampaignOutput(selectors.campaign_with_progress(self.request.user.customer_id, campaign.pk)).data

    @extend_schema(summary="List campaigns", responses=CampaignPageOutput)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Create a campaign",
        description="A draft: add contacts, then start it. `schedule.windows` are local times of each recipient "
        "(their number's zone when it has one, else `schedule.timezone`).",
        request=CampaignInput,
        responses={201: CampaignOutput},
    )
    def create(self, request):
        body = CampaignInput(data=request.data)
        body.is_valid(raise_exception=True)
        campaign = services.campaign_create(user=request.user, data=body.validated_data)
        return created(self._render(campaign))

    @extend_schema(summary="Get a campaign with its progress", responses=CampaignOutput)
    def retrieve(self, request, pk=None):
        return ok(CampaignOutput(self.get_object()).data)

    @extend_schema(
        summary="Update a draft or paused campaign",
        request=CampaignInput,
        responses={200: CampaignOutput, 409: CONFLICT},
    )
    def partial_update(self, request, pk=None):
        body = CampaignInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        campaign = services.campaign_update(campaign=self.get_object(), data=body.validated_data)
        return ok(self._render(campaign))

    @extend_schema(summary="Delete a campaign that is not running or paused", responses={200: None, 409: CONFLICT})
    def destroy(self, request, pk=None):
        campaign = self.get_object()
        campaign_id = campaign.pk
        services.campaign_delete(campaign=campaign)
        return ok({"id": campaign_id})

    def _lifecycle(self, operation):
        campaign = operation(campaign=self.get_object())
        return ok(self._render(campaign))

    @extend_schema(
        summary="Start dialing",
        description="Refused (400) with no pending contacts or no calling window; 409 unless draft.",
        request=None,
        responses={200: CampaignOutput, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._lifecycle(services.campaign_start)

    @extend_schema(summary="Pause dialing (calls in progress finish)", request=None, responses={200: CampaignOutput})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._lifecycle(services.campaign_pause)

    @extend_schema(summary="Resume a paused campaign", request=None, responses={200: CampaignOutput})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._lifecycle(services.campaign_resume)

    @extend_schema(summary="Cancel: pending contacts will not be called", request=None, responses={200: CampaignOutput})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._lifecycle(services.campaign_cancel)

    @extend_schema(
        summary="List a campaign's contacts",
        parameters=[ContactListQuery],
        responses=ContactPageOutput,
    )
    @action(detail=True, methods=["get"], url_path="contacts")
    def contacts(self, request, pk=None):
        campaign = self.get_object()
        query = ContactListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = selectors.contacts_of(campaign, query.validated_data.get("status"))
        paginator = ContactsPagination()
        page = paginator.paginate_queryset(rows, request)
        return ok(paginator.get_paginated_data(ContactOutput(page, many=True).data))

    @extend_schema(
        summary="Add contacts (JSON rows or a CSV upload)",
        description=(
            "JSON: `{contacts: [{phone, variables}]}` (at most 1000). Multipart: `file`, a UTF-8 CSV whose first row "
            "names the columns: `phone` and one column per variable of the agent's prompt (at most 100,000 rows, "
            "read as a stream). Numbers are normalised to E.164; premium and emergency numbers, and rows missing "
            "a variable, are rejected and reported by row; a number already in the campaign is merged."
        ),
        request={"application/json": ContactsJsonInput, "multipart/form-data": None},
        responses={201: UploadReportOutput, 409: CONFLICT},
    )
    @contacts.mapping.post
    def add_contacts(self, request, pk=None):
        campaign = self.get_object()
        upload = request.FILES.get("file")
        if upload is not None:
            report = services.contacts_add_csv(campaign=campaign, file=upload.file)
        elif request.content_type.startswith("multipart/"):
            raise ValidationFailed({"file": ["Attach the CSV as the `file` field"]})
        else:
            report = services.contacts_add_rows(campaign=campaign, rows=request.data.get("contacts"))
        data = UploadReportOutput(report).data
        return created(data)

    @extend_schema(
        summary="Results as CSV",
        description="One row per contact: phone, status, attempts, outcome, call ids, variables. Streamed.",
        responses={(200, "text/csv"): OpenApiResponse(description="CSV with a header row")},
    )
    @action(detail=True, methods=["get"], url_path="results.csv")
    def results(self, request, pk=None):
        campaign = self.get_object()
        rows = selectors.contacts_of(campaign).iterator(chunk_size=2000)
        response = StreamingHttpResponse(_result_lines(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-results.csv"'
        return response


class _Echo:
    def write(self, value: str) -> str:
        return value


def _safe(value: str) -> str:
    # A leading = + - @ would run as a spreadsheet formula (CSV injection); phone numbers are data.
    if value[:1] in ("=", "-", "@") or (value[:1] == "+" and not value[1:].isdigit()):
        return "'" + value
    return value


def _result_lines(rows):
    writer = csv.writer(_Echo())
    yield writer.writerow(["phone", "status", "attempts", "outcome", "callIds", "timezone", "variables"])
    for contact in rows:
        call_ids = " ".join(str(a.call_id) for a in contact.attempt_rows.all() if a.call_id)
        variables = "; ".join(f"{k}={v}" for k, v in contact.variables.items())
        cells = [contact.phone_number, contact.status, str(contact.attempts), contact.last_outcome, call_ids]
        yield writer.writerow([_safe(c) for c in [*cells, contact.timezone, variables]])


@extend_schema(tags=["campaigns"])
class DoNotCallViewSet(mixins.ListModelMixin, TenantScopedViewSet):
    queryset = DoNotCall.objects.all()
    serializer_class = DncOutput
    list_key = "doNotCall"
    not_found_label = "Do-not-call entry"
    http_method_names = ["get", "post", "delete", "head", "options"]
    action_roles = {"create": WRITE, "destroy": WRITE}
    success_messages = {
        "list": "Do-not-call list retrieved successfully",
        "create": "Number added to the do-not-call list",
        "destroy": "Number removed from the do-not-call list",
    }

    @extend_schema(summary="The do-not-call list", parameters=[DncListQuery], responses=DncPageOutput)
    def list(self, request, *args, **kwargs):
        query = DncListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        search = (query.validated_data.get("search") or "").strip()
        entries = self.get_queryset()
        if search:
            entries = entries.filter(phone_number__contains=search)
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(DncOutput(page, many=True).data)

    @extend_schema(
        summary="Add a number to the do-not-call list",
        description="Every campaign skips it from then on. 409 if it is already listed.",
        request=DncInput,
        responses={201: DncOutput, 409: OpenApiResponse(description="The number is already on the list")},
        parameters=[OpenApiParameter("search", str, required=False)],
    )
    def create(self, request):
        body = DncInput(data=request.data)
        body.is_valid(raise_exception=True)
        entry = services.dnc_add(customer_id=request.user.customer_id, **body.validated_data)
        return created(DncOutput(entry).data)

    @extend_schema(summary="Remove a number from the do-not-call list", responses={200: DncRemovedOutput})
    def destroy(self, request, pk=None):
        entry = self.get_object()
        entry_id = entry.pk
        services.dnc_remove(entry=entry)
        return ok({"id": entry_id})
