"""The Django admin as the platform admins' portal.

Only platform admins get in (User.is_staff is true for them alone), and the index
page opens with an overview of the platform's state. The helpers below are shared by
every app's admin.py: readable JSON, and actions that run a service per object and
report each refusal by name.
"""

import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.forms.fields import InvalidJSONInput
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .errors import DomainError


class MorpheusAdminSite(admin.AdminSite):
    site_header = "Morpheus platform admin"
    site_title = "Morpheus platform admin"
    index_title = "Platform overview"
    site_url = None  # the API has no public web site to link to

    def index(self, request, extra_context=None):
        from analytics.charts import overview_charts

        extra_context = {
            **(extra_context or {}),
            "platform_overview": platform_overview(self),
            "platform_charts": overview_charts(),
        }
        return super().index(request, extra_context)


def changelist_url(model, query: dict | None = None, site=None) -> str:
    """The admin list of `model`, filtered by `query` (changelist lookups); "" if unregistered."""
    site = site or admin.site
    if not site.is_registered(model):
        return ""
    opts = model._meta
    url = reverse(f"{site.name}:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(query)}" if query else url


def platform_overview(site) -> dict:
    """Counts for the admin index, each with a link to the filtered list behind it.

    The links use the lookups of the lists' own filters (`status__exact`, and the
    started-at date filter's `started_at__gte`/`__lt`), so the list shows exactly the
    rows counted here and highlights the matching filter choice.
    """
    from calls.models import Call, CallStatus
    from tenants.models import Customer

    now = timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    tomorrow = today + timedelta(days=1)
    since = (now - timedelta(hours=24)).replace(microsecond=0)
    by_status = dict(
        Customer.objects.filter(deleted_at__isnull=True).values_list("status").annotate(n=Count("id")).order_by()
    )
    customers = [
        {
            "label": f"Customers {label.lower()}",
            "count": by_status.get(value, 0),
            "url": changelist_url(Customer, {"status__exact": value, "deleted": "no"}, site),
        }
        for value, label in Customer._meta.get_field("status").choices
    ]
    today_range = {"started_at__gte": str(today), "started_at__lt": str(tomorrow)}
    last_day = {"started_at__gte": str(since)}
    calls = [
        {
            "label": "Calls today",
            "count": Call.objects.filter(started_at__gte=today, started_at__lt=tomorrow).count(),
            "url": changelist_url(Call, today_range, site),
        },
        {
            "label": "Calls active now",
            "count": Call.objects.filter(status=CallStatus.ACTIVE).count(),
            "url": changelist_url(Call, {"status__exact": CallStatus.ACTIVE}, site),
        },
        {
            "label": "Failed calls, last 24 hours",
            "count": Call.objects.filter(status=CallStatus.FAILED, started_at__gte=since).count(),
            "url": changelist_url(Call, {"status__exact": CallStatus.FAILED, **last_day}, site),
        },
    ]
    return {
        "customers": customers,
        "calls": calls,
        "sections": [{"title": "Customers", "rows": customers}, {"title": "Calls", "rows": calls}],
    }


# --- Readable JSON ----------------------------------------------------------------


class ReadableJSONField(forms.JSONField):
    """Edits JSON indented, one item per line, instead of Django's single line."""

    def prepare_value(self, value):
        if isinstance(value, InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False, cls=self.encoder)


JSON_TEXTAREA = forms.Textarea(attrs={"rows": 8, "cols": 90, "style": "font-family: monospace"})
# For a ModelAdmin's formfield_overrides: {models.JSONField: READABLE_JSON}.
READABLE_JSON = {"form_class": ReadableJSONField, "widget": JSON_TEXTAREA}


def json_block(value):
    """A read-only JSON value, indented in a <pre>."""
    if value in (None, "", [], {}):
        return "-"
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    return format_html('<pre style="margin: 0; white-space: pre-wrap">{}</pre>', text)


# --- Searching by id --------------------------------------------------------------


class HistoryAdminMixin:
    """Rows that are history or an audit trail (deliveries, test runs): shown, never added
    or edited in the admin. For ModelAdmins and inlines alike."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyAdminMixin(HistoryAdminMixin):
    """History that is not deleted here either (calls, refresh tokens): it ends through
    a service (an action), or not at all."""

    def has_delete_permission(self, request, obj=None):
        return False


class UUIDSearchMixin:
    """Search also matches a pasted UUID primary key (ids are what the API and logs show)."""

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            pk = uuid.UUID(search_term.strip())
        except ValueError:
            return results, may_have_duplicates
        return results | queryset.filter(pk=pk), may_have_duplicates


# --- Actions through services -----------------------------------------------------


def refusal_message(exc: Exception) -> str:
    """What a service said when it refused (a domain error or a ValidationError)."""
    if isinstance(exc, DomainError):
        return exc.message
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc)


def run_service_action(
    modeladmin: admin.ModelAdmin,
    request,
    queryset,
    service: Callable,
    *,
    done: str,
    describe: Callable = str,
) -> list:
    """Runs `service(obj)` for every selected object, each in its own transaction (inside
    the service), so one refusal neither stops nor undoes the others.

    A refusal is a warning naming the object and the reason; every change is written to
    the admin log. `done` completes "<done> 2 customers: A, B". Returns the results.
    """
    results, names = [], []
    for obj in queryset:
        try:
            result = service(obj)
        except (ValidationError, DomainError) as exc:
            modeladmin.message_user(request, refusal_message(exc), messages.WARNING)
            continue
        modeladmin.log_change(request, obj, f"{done} through the admin action")
        results.append(result)
        names.append(describe(obj))
    if names:
        opts = modeladmin.model._meta
        noun = opts.verbose_name if len(names) == 1 else opts.verbose_name_plural
        modeladmin.message_user(request, f"{done} {len(names)} {noun}: {', '.join(names)}", messages.SUCCESS)
    return results


def yes_no_filter(*, title: str, parameter_name: str, yes: str, no: str, condition: Q) -> type:
    """A changelist filter with two choices: rows matching `condition`, and the rest."""

    class YesNoFilter(admin.SimpleListFilter):
        def lookups(self, request, model_admin):
            return (("yes", yes), ("no", no))

        def queryset(self, request, queryset):
            if self.value() == "yes":
                return queryset.filter(condition)
            if self.value() == "no":
                return queryset.exclude(condition)
            return queryset

    YesNoFilter.title = title
    YesNoFilter.parameter_name = parameter_name
    return YesNoFilter
