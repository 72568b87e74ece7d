"""Calls in the platform admin: every tenant's calls, read-only, with the transcript and
its per-turn latency, and ending stuck calls through call_end (what the API uses).

A call is history: the admin never edits, adds or deletes one. Ending is an action on
the list ("End selected open calls") and a button on an open call's page; both close
the row now and leave the LiveKit room to the teardown task, so a LiveKit outage never
stops an operator from closing a call.
"""

import datetime

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from morpheus.admin_site import ReadOnlyAdminMixin, json_block, refusal_message, run_service_action, yes_no_filter

from .admin_views import analysis_html, conversation_html, cost_html, recording_html
from .models import OPEN_CALL_STATUSES, Call, CallCapacity, EndReason, TranscriptTurn, UnitPrice
from .selectors import turns_summary
from .services import TEARDOWN_LATER, CallAlreadyEnded, call_end


def _to_the_second(moment) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _end(call: Call) -> Call:
    return call_end(call=call, reason=EndReason.ENDED_BY_USER, teardown=TEARDOWN_LATER)


OpenFilter = yes_no_filter(
    title="open", parameter_name="open", yes="Ringing or active", no="Ended", condition=Q(status__in=OPEN_CALL_STATUSES)
)


@admin.register(Call)
class CallAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "customer",
        "agent",
        "direction",
        "status",
        "end_reason",
        "is_simulation",
        "from_number",
        "to_number",
        "started_at",
        "duration",
        "turn_total",
        "mean_latency",
    )
    list_filter = (
        "status",
        OpenFilter,
        "direction",
        "is_simulation",
        ("started_at", admin.DateFieldListFilter),
        "carrier",
        "end_reason",
        "customer__status",
    )
    search_fields = ("id__exact", "room_name", "carrier_call_id", "from_number", "to_number", "customer__company_name")
    search_help_text = "Call ID, room name, carrier call ID, a phone number, or the company name."
    list_select_related = ("customer", "agent")
    date_hierarchy = "started_at"
    ordering = ("-started_at", "-id")
    list_per_page = 50
    actions = ("end_calls",)
    fieldsets = (
        (None, {"fields": ("customer", "agent", "phone_number", "direction", "is_simulation", "created_by")}),
        ("State", {"fields": ("status", "end_reason", "error_message")}),
        ("Route", {"fields": ("from_number", "to_number", "carrier", "carrier_call_id", "room_name")}),
        ("Timing", {"fields": ("started", "answered", "ended", "duration")}),
        ("Conversation", {"fields": ("conversation",)}),
        ("Recording", {"fields": ("recording_player",)}),
        ("Analysis", {"fields": ("analysis_fields",)}),
        ("Latency and usage", {"fields": ("latency_summary", "cost_table")}),
        ("More", {"fields": ("metadata_block", "created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        turns = (
            TranscriptTurn.objects.filter(call=OuterRef("pk"))
            .order_by()
            .values("call")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return super().get_queryset(request).annotate(turns_n=Coalesce(Subquery(turns, output_field=IntegerField()), 0))

    # Calls are history: viewable, never added, edited or deleted here.

    # --- Columns and fields --------------------------------------------------------

    @admin.display(description="Turns", ordering="turns_n")
    def turn_total(self, obj):
        return obj.turns_n

    @admin.display(description="Mean e2e ms")
    def mean_latency(self, obj):
        # Written by the post-call task; nothing is computed per row here.
        value = ((obj.metadata or {}).get("summary") or {}).get("averageLatency", {}).get("e2eLatencyMs")
        return "-" if value is None else value

    @admin.display(description="Summary of the transcript")
    def latency_summary(self, obj):
        return json_block(turns_summary(obj.turns.all()))

    @admin.display(description="Started at (UTC)")
    def started(self, obj):
        return _to_the_second(obj.started_at)

    @admin.display(description="Answered at (UTC)")
    def answered(self, obj):
        return _to_the_second(obj.answered_at)

    @admin.display(description="Ended at (UTC)")
    def ended(self, obj):
        return _to_the_second(obj.ended_at)

    @admin.display(description="Turns (times UTC, latency per turn)")
    def conversation(self, obj):
        return conversation_html(obj)

    @admin.display(description="Recording")
    def recording_player(self, obj):
        return recording_html(obj)

    @admin.display(description="Post-call analysis")
    def analysis_fields(self, obj):
        return analysis_html(obj)

    @admin.display(description="Cost")
    def cost_table(self, obj):
        return cost_html(obj)

    @admin.display(description="Metadata")
    def metadata_block(self, obj):
        # The transcript summary is shown once, above: not again inside the metadata.
        return json_block({key: value for key, value in (obj.metadata or {}).items() if key != "summary"})

    # --- Ending calls --------------------------------------------------------------

    @admin.action(description="End selected open calls (their LiveKit rooms are deleted by a task)")
    def end_calls(self, request, queryset):
        run_service_action(self, request, queryset, _end, done="Ended", describe=lambda c: f"#{c.pk}")

    def get_urls(self):
        urls = [
            path(
                "<path:object_id>/end/",
                self.admin_site.admin_view(self.end_call_view),
                name="calls_call_end",
            )
        ]
        return urls + super().get_urls()

    def end_call_view(self, request, object_id):
        """GET asks for confirmation, POST ends the call (the change page's "End call" button)."""
        call = self.get_object(request, object_id)
        if call is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, call):
            raise PermissionDenied
        change_url = reverse("admin:calls_call_change", args=[call.pk])
        if request.method == "POST":
            try:
                _end(call)
            except CallAlreadyEnded as exc:
                self.message_user(request, refusal_message(exc), messages.WARNING)
            else:
                self.log_change(request, call, "Ended through the admin")
                self.message_user(request, f"Call #{call.pk} ended", messages.SUCCESS)
            return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"End call #{call.pk}?",
            "opts": self.opts,
            "original": call,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/calls/call/end_call.html", context)


@admin.register(CallCapacity)
class CallCapacityAdmin(admin.ModelAdmin):
    """A platform admin's per-customer limits, and the leases (live calls) in use now."""

    list_display = ("customer", "concurrency_limit", "reserved_inbound_concurrency", "leases_in_use")
    list_select_related = ("customer",)
    search_fields = ("customer__company_name",)
    raw_id_fields = ("customer",)
    readonly_fields = ("leases_in_use", "effective_limits")

    @admin.display(description="leases in use (inbound / outbound)")
    def leases_in_use(self, obj):
        from . import leases

        try:
            held = leases.held(obj.customer_id)
        except leases.LeaseStoreUnavailable:
            return "unavailable (Redis down)"
        return f"{len(held['inbound'])} / {len(held['outbound'])}"

    @admin.display(description="effective limits")
    def effective_limits(self, obj):
        from . import leases

        if obj.customer_id is None:
            return "-"
        capacity = leases.capacity_for(obj.customer_id)
        return f"{capacity.limit} calls, {capacity.reserved_inbound} reserved for inbound"


@admin.register(UnitPrice)
class UnitPriceAdmin(admin.ModelAdmin):
    """The platform price table: what a unit of each item costs per vendor and model. Calls
    are priced when they are finalized (and again after their analysis), so a change
    applies to calls finalized from then on; the settings price what has no line here."""

    list_display = ("item", "vendor", "model", "price", "updated_at")
    list_filter = ("item", "vendor")
    list_editable = ("price",)
    search_fields = ("vendor", "model")
    readonly_fields = ("settings_default",)

    @admin.display(description="default from settings")
    def settings_default(self, obj):
        from .cost import price_table

        return price_table().get(obj.item, "-") if obj.item else "-"
