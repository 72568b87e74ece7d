"""Integrations in the platform admin: API keys (revoke), webhook endpoints, deliveries
(filter by status, redeliver). Secrets are never shown: keys are stored hashed and
signing secrets encrypted; the admin sees prefixes only."""

from django.contrib import admin

from morpheus.admin_site import HistoryAdminMixin, run_service_action

from . import services
from .models import ApiKey, WebhookDelivery, WebhookEndpoint


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "prefix",
        "customer",
        "scope_list",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("name", "key_id", "customer__company_name", "created_by__email")
    list_select_related = ("customer", "created_by")
    readonly_fields = (
        "customer",
        "name",
        "prefix",
        "scopes",
        "agent_ids",
        "created_by",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
        "revoked_by",
    )
    fields = readonly_fields
    actions = ["revoke"]

    @admin.display(description="scopes")
    def scope_list(self, obj):
        return ", ".join(obj.scopes)

    def has_add_permission(self, request):
        return False  # keys are created by the customer, who must see the key once

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the row is the audit trail

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request, queryset):
        run_service_action(
            self,
            request,
            queryset,
            lambda key: services.api_key_revoke(api_key=key, actor=request.user),
            done="Revoked",
        )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "customer", "enabled", "failing_since", "disabled_reason", "created_at")
    list_filter = ("enabled",)
    search_fields = ("url", "customer__company_name")
    list_select_related = ("customer",)
    readonly_fields = (
        "customer",
        "url",
        "description",
        "events",
        "agent_ids",
        "failing_since",
        "disabled_reason",
        "previous_secret_expires_at",
        "created_by",
        "created_at",
        "updated_at",
    )
    fields = ("enabled", *readonly_fields)

    def has_add_permission(self, request):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(HistoryAdminMixin, admin.ModelAdmin):
    list_display = ("id", "event_type", "endpoint", "customer", "status", "attempts", "response_status", "created_at")
    list_filter = ("status", "event__type")
    search_fields = ("endpoint__url", "customer__company_name")
    list_select_related = ("event", "endpoint", "customer")
    readonly_fields = (
        "customer",
        "endpoint",
        "event",
        "status",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "response_status",
        "response_body",
        "duration_ms",
        "last_error",
        "delivered_at",
        "created_at",
    )
    fields = readonly_fields
    actions = ["redeliver"]

    @admin.display(description="event", ordering="event__type")
    def event_type(self, obj):
        return obj.event.type

    @admin.action(description="Redeliver selected deliveries")
    def redeliver(self, request, queryset):
        run_service_action(
            self, request, queryset, lambda d: services.webhook_delivery_redeliver(delivery=d), done="Redelivered"
        )
