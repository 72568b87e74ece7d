"""Django admin for the provider catalogue and agents.

The forms run the same service validation as the API, so an admin cannot save a
configuration the API would refuse (or the voice pipeline could not run).
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count
from django.utils.html import format_html, format_html_join

from morpheus.admin_site import READABLE_JSON, json_block

from .models import Agent, LLMProvider, STTProvider, TTSProvider
from .selectors import agent_has_open_call
from .services import PROVIDER_KINDS, agent_create, agent_delete, agent_update, agent_validate, provider_validate


def add_service_errors(form: forms.BaseForm, exc: ValidationError, aliases: dict | None = None) -> None:
    """Attaches a service's ValidationError to the form's fields.

    Service keys are model field names, possibly dotted into JSON (`functions.0.url`)
    or aliased (`llm_provider_id`); the head names the form field, the rest of the
    path prefixes the message.
    """
    aliases = aliases or {}
    for key, messages in exc.message_dict.items():
        head, _, rest = key.partition(".")
        field = aliases.get(head, head)
        if field not in form.fields:
            field, rest = None, key
        for message in messages:
            form.add_error(field, f"{rest}: {message}" if rest else message)


# --- Provider catalogue ------------------------------------------------------------


class ProviderAdminForm(forms.ModelForm):
    def _post_clean(self):
        super()._post_clean()  # builds self.instance from the cleaned data
        try:
            provider_validate(provider=self.instance)
        except ValidationError as exc:
            add_service_errors(self, exc)


class ProviderAdmin(admin.ModelAdmin):
    form = ProviderAdminForm
    list_display = ("id", "name", "vendor", "default_model", "is_active", "agent_count", "updated_at")
    list_display_links = ("id", "name")
    list_filter = ("vendor", "is_active")
    search_fields = ("name", "default_model")
    ordering = ("id",)
    readonly_fields = ("created_at", "updated_at")
    # Django 6 default, set now: a base URL typed without a scheme means https.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}, models.JSONField: READABLE_JSON}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(agent_total=Count("agents"))

    @admin.display(description="Agents", ordering="agent_total")
    def agent_count(self, obj):
        return obj.agent_total


@admin.register(LLMProvider)
class LLMProviderAdmin(ProviderAdmin):
    fields = ("name", "vendor", "default_model", "available_models", "base_url", "is_active", "created_at")


@admin.register(STTProvider)
class STTProviderAdmin(ProviderAdmin):
    fields = ("name", "vendor", "default_model", "available_models", "is_active", "created_at")


@admin.register(TTSProvider)
class TTSProviderAdmin(ProviderAdmin):
    list_display = (*ProviderAdmin.list_display[:4], "default_voice", *ProviderAdmin.list_display[4:])
    fields = (
        "name",
        "vendor",
        "default_model",
        "available_models",
        "default_voice",
        "voices",
        "is_active",
        "created_at",
    )


# --- Agents ------------------------------------------------------------------------

# The form's field for each service key that differs from it.
AGENT_ERROR_ALIASES = {f"{kind}_provider_id": f"{kind}_provider" for kind, _, _ in PROVIDER_KINDS}
JSON_DEFAULTS = {
    "end_call_phrases": list,
    "transfers": list,
    "functions": list,
    "metadata": dict,
    "voice_settings": dict,
}


class AgentAdminForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned  # field-level problems first; the service needs typed values
        if self.instance.pk:
            candidate = Agent.objects.get(pk=self.instance.pk)
        else:
            candidate = Agent(customer=cleaned["customer"])
        data = {}
        for name in self.fields:
            if name == "customer":
                continue
            value = cleaned.get(name)
            if name in JSON_DEFAULTS and value is None:
                value = JSON_DEFAULTS[name]()
            if name.endswith("_provider"):
                data[f"{name}_id"] = value.pk if value else None
            else:
                data[name] = value
        try:
            agent_validate(agent=candidate, data=data)
        except ValidationError as exc:
            add_service_errors(self, exc, AGENT_ERROR_ALIASES)
            return cleaned
        # What AgentAdmin.save_model hands to agent_create/agent_update: they validate it
        # again with the same agent_validate, so the form shows exactly the service's errors.
        self.service_data = data
        return cleaned


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    form = AgentAdminForm
    list_display = (
        "id",
        "name",
        "customer",
        "status",
        "llm_provider",
        "stt_provider",
        "tts_provider",
        "tools",
        "updated_at",
    )
    list_display_links = ("id", "name")
    list_filter = ("status", "llm_provider", "stt_provider", "tts_provider", "customer__status")
    list_select_related = ("customer", "llm_provider", "stt_provider", "tts_provider")
    search_fields = ("name", "customer__company_name")
    search_help_text = "Agent or company name."
    raw_id_fields = ("customer",)
    readonly_fields = ("created_at", "updated_at", "versions")
    ordering = ("-created_at",)
    list_per_page = 50
    # Transfers, functions and metadata are edited as indented JSON, one item per line.
    formfield_overrides = {models.JSONField: READABLE_JSON}
    fieldsets = (
        (None, {"fields": ("customer", "name", "description", "status")}),
        ("Conversation", {"fields": ("system_prompt", "first_message", "language", "end_call_phrases")}),
        (
            "Models and voice",
            {
                "fields": (
                    ("llm_provider", "llm_model", "llm_temperature"),
                    ("stt_provider", "stt_model"),
                    ("tts_provider", "tts_model", "voice_id"),
                )
            },
        ),
        (
            "Turn-taking and limits",
            {
                "fields": (
                    "allow_interruptions",
                    "interruption_min_duration",
                    "silence_timeout_seconds",
                    "max_duration_seconds",
                    "voice_settings",
                )
            },
        ),
        ("Tools", {"fields": ("transfers", "functions", "metadata")}),
        ("Testing", {"fields": ("auto_run_tests",)}),
        ("Versions", {"fields": ("versions",)}),
        ("Timestamps", {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description="Versions (one per behaviour change, newest first)")
    def versions(self, obj):
        # A read-only table, not an inline: versions are history and never edited here.
        rows = obj.versions.select_related("created_by").order_by("-number")[:50] if obj.pk else []
        if not rows:
            return "-"
        return format_html(
            "<table><tr><th>#</th><th>by</th><th>at</th><th>restored from</th><th>tests</th><th>snapshot</th></tr>"
            "{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        v.number,
                        v.created_by or "-",
                        v.created_at,
                        v.restored_from or "-",
                        v.test_verdict or "-",
                        json_block(v.snapshot),
                    )
                    for v in rows
                ),
            ),
        )

    def get_readonly_fields(self, request, obj=None):
        # Moving an agent to another tenant would leave its numbers and calls behind.
        return (*self.readonly_fields, "customer") if obj else self.readonly_fields

    @admin.display(description="Tools")
    def tools(self, obj):
        counts = ((len(obj.transfers or []), "transfer"), (len(obj.functions or []), "function"))
        return ", ".join(f"{n} {word}{'' if n == 1 else 's'}" for n, word in counts if n) or "-"

    # Deleting goes through agent_delete (refused while the agent is on a call; its numbers
    # are unassigned), one agent at a time from its page.
    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        if obj is not None and agent_has_open_call(obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        agent_delete(agent=obj, detach_numbers=True)

    def save_model(self, request, obj, form, change):
        # An edit here is an edit like any other (the form never saves itself): the service
        # writes only what changed and records a version when the behaviour changed.
        if change:
            agent = agent_update(agent=Agent.objects.get(pk=obj.pk), data=form.service_data, actor=request.user)
        else:
            agent = agent_create(customer=obj.customer, data=form.service_data, actor=request.user)
        obj.pk = agent.pk
        obj.refresh_from_db()  # the admin's log entry and redirect use the saved row
