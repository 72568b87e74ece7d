"""Agent testing in the platform admin: test cases (edited through the same validation as
the API) and test runs, read-only, with each case's verdict readable at a glance: the
first failing expectation with expected vs actual, the judges' reasoning, the transcript."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.html import format_html, format_html_join

from agents.admin import add_service_errors
from morpheus.admin_site import READABLE_JSON, HistoryAdminMixin, json_block

from .models import TestCase, TestCaseKind, TestCaseResult, TestRun
from .services import test_case_validate

# Service (API) field names -> the form's.
CASE_ERROR_ALIASES = {"toolMocks": "tool_mocks", "simulatedCaller": "goal"}


class TestCaseAdminForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        case = TestCase.objects.get(pk=self.instance.pk) if self.instance.pk else TestCase(agent=cleaned["agent"])
        data = {
            "name": cleaned.get("name") or "",
            "toolMocks": cleaned.get("tool_mocks") or [],
            "variables": cleaned.get("variables") or {},
        }
        if cleaned.get("kind") == TestCaseKind.SIMULATED:
            data["simulatedCaller"] = {
                "persona": cleaned.get("persona") or "",
                "goal": cleaned.get("goal") or "",
                "maxTurns": cleaned.get("max_turns"),
            }
        else:
            data["turns"] = cleaned.get("turns") or []
        try:
            test_case_validate(case=case, data=data)
        except ValidationError as exc:
            add_service_errors(self, exc, CASE_ERROR_ALIASES)
            return cleaned
        for name in ("name", "kind", "turns", "tool_mocks", "variables", "persona", "goal", "max_turns"):
            cleaned[name] = getattr(case, name)
        return cleaned


@admin.register(TestCase)
class TestCaseAdmin(admin.ModelAdmin):
    form = TestCaseAdminForm
    list_display = ("id", "name", "agent", "customer", "kind", "updated_at")
    list_display_links = ("id", "name")
    list_filter = ("kind",)
    list_select_related = ("agent", "customer")
    search_fields = ("name", "agent__name", "customer__company_name")
    raw_id_fields = ("agent",)
    readonly_fields = ("customer", "created_by", "created_at", "updated_at")
    formfield_overrides = {models.JSONField: READABLE_JSON}
    fieldsets = (
        (None, {"fields": ("agent", "customer", "name", "kind")}),
        ("Scripted turns", {"fields": ("turns", "tool_mocks", "variables")}),
        ("Simulated caller", {"fields": ("persona", "goal", "max_turns")}),
        ("Timestamps", {"fields": ("created_by", "created_at", "updated_at")}),
    )

    def save_model(self, request, obj, form, change):
        obj.customer_id = obj.agent.customer_id
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class TestCaseResultInline(HistoryAdminMixin, admin.StackedInline):
    model = TestCaseResult
    extra = 0
    can_delete = False
    ordering = ("id",)
    verbose_name = "case"
    verbose_name_plural = "Cases"
    fields = ("name", "verdict", "outcome", "judges", "unmocked", "conversation")
    readonly_fields = fields

    @admin.display(description="First failing expectation")
    def outcome(self, obj):
        if obj.error_message:
            return f"Error: {obj.error_message}"
        if not obj.failure:
            return "-"
        failure = obj.failure
        return format_html(
            "<strong>{}</strong><br>expected: {}<br>actual: {}",
            failure.get("message", ""),
            json_block(failure.get("expected")),
            json_block(failure.get("actual")),
        )

    @admin.display(description="Judges")
    def judges(self, obj):
        if not obj.judgments:
            return "-"
        return format_html_join(
            "",
            "<p>{} ({}): {}</p>",
            ((j.get("criteria", ""), j.get("verdict", ""), j.get("reasoning", "")) for j in obj.judgments),
        )

    @admin.display(description="Not called (no mock)")
    def unmocked(self, obj):
        return ", ".join(obj.unmocked_tools) or "-"

    @admin.display(description="Transcript")
    def conversation(self, obj):
        if not obj.transcript:
            return "-"
        return format_html_join(
            "",
            "<div><strong>{}</strong> {} {}</div>",
            (
                (t.get("role", ""), t.get("toolName") or "", t.get("content") or json_block(t.get("toolPayload")))
                for t in obj.transcript
            ),
        )


@admin.register(TestRun)
class TestRunAdmin(HistoryAdminMixin, admin.ModelAdmin):
    list_display = ("id", "agent", "customer", "version_number", "status", "trigger", "counts", "created_at")
    list_filter = ("status", "trigger")
    list_select_related = ("agent", "customer", "version")
    search_fields = ("agent__name", "customer__company_name")
    readonly_fields = (
        "customer",
        "agent",
        "version",
        "status",
        "trigger",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "passed_count",
        "failed_count",
        "error_count",
    )
    fields = readonly_fields
    inlines = (TestCaseResultInline,)

    @admin.display(description="Version", ordering="version__number")
    def version_number(self, obj):
        return obj.version.number

    @admin.display(description="Passed / failed / errors")
    def counts(self, obj):
        return f"{obj.passed_count} / {obj.failed_count} / {obj.error_count}"
