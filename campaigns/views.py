"""/campaigns (with lifecycle, contacts and results.csv) and /dnc."""

from __future__ import annotations

import csv

from django.http import StreamingHttpResponse
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser

from accounts.models import MANAGER_ROLES
from morpheus.api.pagination import PagePagination
from morpheus.api.parsers import JSONParser
from morpheus.api.parsing import validated
from morpheus.api.responses import created, ok
from morpheus.api.viewsets import CreateMixin, DestroyMixin, ListMixin, TenantScopedViewSet
from morpheus.errors import ValidationFailed

from . import schema, selectors, services
from .models import Campaign, DoNotCall
from .serializers import (
    CampaignInput,
    CampaignOutput,
    ContactListQuery,
    ContactOutput,
    DncInput,
    DncListQuery,
    DncOutput,
    UploadReportOutput,
)

WRITE = MANAGER_ROLES


class ContactsPagination(PagePagination):
    items_key = "contacts"


@schema.campaign
class CampaignViewSet(ListMixin, CreateMixin, mixins.RetrieveModelMixin, DestroyMixin, TenantScopedViewSet):
    queryset = Campaign.objects.all()
    serializer_class = CampaignOutput
    create_serializer_class = CampaignInput
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

    def create_object(self, data):
        campaign = services.campaign_create(actor=self.request.user, data=data)
        return selectors.campaign_with_progress(self.request.user.customer_id, campaign.pk)

    # The body is parsed before the row is looked up (PartialUpdateMixin does the reverse).
    def partial_update(self, request, pk=None):
        body = validated(CampaignInput, request.data, partial=True)
        campaign = services.campaign_update(campaign=self.get_object(), data=body)
        return ok(self._render(campaign))

    def destroy_object(self, campaign):
        services.campaign_delete(campaign=campaign)

    def _lifecycle(self, operation):
        campaign = operation(campaign=self.get_object())
        return ok(self._render(campaign))

    @schema.campaign_start
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._lifecycle(services.campaign_start)

    @schema.campaign_pause
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._lifecycle(services.campaign_pause)

    @schema.campaign_resume
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._lifecycle(services.campaign_resume)

    @schema.campaign_cancel
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._lifecycle(services.campaign_cancel)

    @schema.campaign_contacts
    @action(detail=True, methods=["get"], url_path="contacts")
    def contacts(self, request, pk=None):
        campaign = self.get_object()
        query = validated(ContactListQuery, request.query_params)
        rows = selectors.contacts_of(campaign, query.get("status"))
        paginator = ContactsPagination()
        page = paginator.paginate_queryset(rows, request)
        return ok(paginator.get_paginated_data(ContactOutput(page, many=True).data))

    @schema.campaign_add_contacts
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

    @schema.campaign_results
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


@schema.do_not_call
class DoNotCallViewSet(ListMixin, CreateMixin, DestroyMixin, TenantScopedViewSet):
    queryset = DoNotCall.objects.all()
    serializer_class = DncOutput
    list_query_class = DncListQuery
    create_serializer_class = DncInput
    list_key = "doNotCall"
    not_found_label = "Do-not-call entry"
    http_method_names = ["get", "post", "delete", "head", "options"]
    action_roles = {"create": WRITE, "destroy": WRITE}
    success_messages = {
        "list": "Do-not-call list retrieved successfully",
        "create": "Number added to the do-not-call list",
        "destroy": "Number removed from the do-not-call list",
    }

    def filter_list(self, queryset, search=None):
        search = (search or "").strip()
        return queryset.filter(phone_number__contains=search) if search else queryset

    def create_object(self, data):
        return services.dnc_add(customer_id=self.request.user.customer_id, **data)

    def destroy_object(self, entry):
        services.dnc_remove(entry=entry)
