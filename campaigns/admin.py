"""Django admin: campaigns with their progress and pause/resume actions, contacts, the
do-not-call list. Status changes go through the services (events, checks)."""

from django.contrib import admin, messages

from morpheus.errors import DomainError

from . import services
from .models import Campaign, Contact, DoNotCall
from .selectors import progress_of, with_progress


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "customer", "agent", "status", "progress_summary", "status_reason", "created_at")
    list_filter = ("status",)
    list_select_related = ("customer", "agent")
    search_fields = ("name", "customer__company_name")
    raw_id_fields = ("customer", "agent", "created_by")
    filter_horizontal = ()
    readonly_fields = ("status", "status_reason", "started_at", "completed_at", "dial_sequence", "progress_summary")
    exclude = ("from_numbers",)
    actions = ("pause_campaigns", "resume_campaigns")

    def get_queryset(self, request):
        return with_progress(super().get_queryset(request)).select_related("customer", "agent")

    @admin.display(description="progress")
    def progress_summary(self, obj):
        progress = progress_of(obj)
        rate = "-" if progress["answerRate"] is None else f"{progress['answerRate']:.0%}"
        return (
            f"{progress['total']} contacts: {progress['pending']} pending, {progress['inProgress']} in progress, "
            f"{progress['completed']} answered, {progress['voicemail']} voicemail, {progress['noAnswer']} no answer, "
            f"{progress['failed']} failed; answer rate {rate}"
        )

    def _each(self, request, queryset, operation, done):
        changed = 0
        for campaign in queryset:
            try:
                operation(campaign=campaign)
                changed += 1
            except DomainError as exc:
                self.message_user(request, f"{campaign}: {exc.message}", messages.WARNING)
        if changed:
            self.message_user(request, f"{changed} campaign(s) {done}.", messages.SUCCESS)

    @admin.action(description="Pause selected running campaigns")
    def pause_campaigns(self, request, queryset):
        self._each(request, queryset, services.campaign_pause, "paused")

    @admin.action(description="Resume selected paused campaigns")
    def resume_campaigns(self, request, queryset):
        self._each(request, queryset, services.campaign_resume, "resumed")


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("phone_number", "campaign", "status", "attempts", "last_outcome", "next_attempt_at", "timezone")
    list_filter = ("status", "last_outcome")
    list_select_related = ("campaign",)
    search_fields = ("phone_number", "campaign__name")
    raw_id_fields = ("campaign", "customer")
    readonly_fields = ("created_at", "updated_at")


@admin.register(DoNotCall)
class DoNotCallAdmin(admin.ModelAdmin):
    list_display = ("phone_number", "customer", "reason", "created_at")
    list_select_related = ("customer",)
    search_fields = ("phone_number", "customer__company_name")
    raw_id_fields = ("customer",)
