"""Django admin for platform admins: the calls of every tenant, their transcripts, and an
action to end stuck calls (the same call_end service the API uses)."""

from django.contrib import admin, messages

from .models import Call, EndReason, TranscriptTurn
from .services import TEARDOWN_LATER, CallAlreadyEnded, call_end


class TranscriptTurnInline(admin.TabularInline):
    model = TranscriptTurn
    extra = 0
    can_delete = False
    ordering = ["id"]
    fields = ["role", "content", "tool_name", "created_at", "llm_ttft_ms", "tts_ttfb_ms", "e2e_latency_ms"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = [
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
    ]
    list_filter = ["status", "direction", "is_simulation", "carrier", "end_reason"]
    search_fields = ["=id", "room_name", "carrier_call_id", "from_number", "to_number", "customer__company_name"]
    list_select_related = ["customer", "agent"]
    date_hierarchy = "started_at"
    ordering = ["-started_at", "-id"]
    raw_id_fields = ["customer", "agent", "phone_number", "created_by"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [TranscriptTurnInline]
    actions = ["end_calls"]

    @admin.action(description="End selected open calls (their LiveKit rooms are deleted by a task)")
    def end_calls(self, request, queryset):
        ended = 0
        for call in queryset:
            if not call.is_open:
                continue
            try:
                call_end(call=call, reason=EndReason.ENDED_BY_USER, teardown=TEARDOWN_LATER)
            except CallAlreadyEnded:
                continue
            ended += 1
        skipped = queryset.count() - ended
        self.message_user(request, f"Ended {ended} call(s); {skipped} already ended.", messages.SUCCESS)
