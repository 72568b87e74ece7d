"""Customers (tenants) in the platform admin: find them, see their team and agents, and
suspend or reactivate them through the same services everything else uses.

Status changes only through the actions (never by editing the field), customers are
created by onboarding and never hard-deleted here (their users are protected rows).
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.html import format_html, format_html_join

from accounts.models import User
from agents.models import Agent
from calls.models import OPEN_CALL_STATUSES, Call
from morpheus.admin_site import READABLE_JSON, UUIDSearchMixin, changelist_url, run_service_action, yes_no_filter
from telephony.models import PhoneNumber

from . import validators
from .models import Customer, CustomerStatus
from .services import customer_reactivate, customer_suspend


def _count_of(model, **filters):
    """A correlated COUNT per customer: one query for the whole page, and no row
    multiplication between several counts (as joined Counts would)."""
    rows = (
        model.objects.filter(customer=OuterRef("pk"), **filters)
        .order_by()
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


DeletedFilter = yes_no_filter(
    title="deleted", parameter_name="deleted", yes="Deleted", no="Not deleted", condition=Q(deleted_at__isnull=False)
)


class CustomerAdminForm(forms.ModelForm):
    """The tenant's own validators (the ones /customers/me uses) on every editable field."""

    NORMALIZERS = {
        "company_name": validators.normalize_company_name,
        "phone": validators.normalize_phone,
        "avatar": validators.normalize_avatar,
        "settings": validators.normalize_settings,
        "allowed_ips": validators.normalize_allowed_ips,
    }

    def clean(self):
        cleaned = super().clean()
        for name, normalize in self.NORMALIZERS.items():
            if name not in self.fields or name in self.errors:
                continue
            value = cleaned.get(name)
            if name == "settings" and value is None:
                value = {}
            try:
                cleaned[name] = normalize(value)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    head = field.split(".")[0]
                    target = head if head in self.fields else None
                    prefix = f"{field}: " if field != head and target else ""
                    for error in errors:
                        self.add_error(target, f"{prefix}{error}")
        return cleaned


class UserInline(admin.TabularInline):
    model = User
    fields = ("email", "name", "role", "status", "email_verified", "last_login_at", "deleted_at")
    readonly_fields = fields
    ordering = ("created_at",)
    extra = 0
    show_change_link = True
    can_delete = False
    verbose_name_plural = "Team (open a user to suspend them or revoke their sessions)"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # read-only here; users change through their own page and actions


class AgentInline(admin.TabularInline):
    model = Agent
    fields = ("name", "status", "llm_provider", "stt_provider", "tts_provider", "updated_at")
    readonly_fields = fields
    ordering = ("-created_at",)
    extra = 0
    show_change_link = True
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("llm_provider", "stt_provider", "tts_provider")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(UUIDSearchMixin, admin.ModelAdmin):
    form = CustomerAdminForm
    list_display = (
        "company_name",
        "status_badge",
        "owner",
        "user_total",
        "agent_total",
        "number_total",
        "open_call_total",
        "created_at",
        "deleted_at",
    )
    list_filter = ("status", DeletedFilter, ("created_at", admin.DateFieldListFilter))
    search_fields = ("company_name", "phone", "users__email")
    search_help_text = "Company name, phone, a team member's email, or the customer's ID."
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    list_per_page = 50
    actions = ("suspend_customers", "reactivate_customers")
    inlines = (UserInline, AgentInline)
    # The page adds the customer's call charts (analytics/charts.py) under the fields.
    change_form_template = "admin/tenants/customer/change_form.html"
    formfield_overrides = {models.JSONField: READABLE_JSON, models.URLField: {"assume_scheme": "https"}}

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from analytics.charts import overview_charts

        customer = self.get_object(request, object_id)
        if customer is not None:
            extra_context = {**(extra_context or {}), "customer_charts": overview_charts(customer_id=customer.pk)}
        return super().change_view(request, object_id, form_url, extra_context)

    fieldsets = (
        (None, {"fields": ("id", "company_name", "status", "phone", "description", "avatar")}),
        ("Access", {"fields": ("allowed_ips", "settings", "signing_secret_hint")}),
        ("Related", {"fields": ("related_links",)}),
        ("History", {"fields": ("created_by", "created_at", "updated_at", "deleted_at")}),
    )
    readonly_fields = (
        "id",
        "status",
        "signing_secret_hint",
        "related_links",
        "created_by",
        "created_at",
        "updated_at",
        "deleted_at",
    )

    def get_queryset(self, request):
        owners = User.objects.filter(customer=OuterRef("pk"), role="owner", deleted_at__isnull=True).order_by(
            "created_at"
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                users_n=_count_of(User, deleted_at__isnull=True),
                agents_n=_count_of(Agent),
                numbers_n=_count_of(PhoneNumber),
                open_calls_n=_count_of(Call, status__in=OPEN_CALL_STATUSES),
                owner_email=Subquery(owners.values("email")[:1]),
            )
        )

    def has_add_permission(self, request):
        return False  # customers are created by onboarding, with their owner

    def has_delete_permission(self, request, obj=None):
        return False

    # --- Columns -----------------------------------------------------------------

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        if obj.deleted_at is not None:
            return "deleted"
        colour = "#0a7d33" if obj.status == CustomerStatus.ACTIVE else "#ba2121"
        return format_html('<strong style="color: {}">{}</strong>', colour, obj.get_status_display())

    @admin.display(description="Owner", ordering="owner_email")
    def owner(self, obj):
        return obj.owner_email or "-"

    @admin.display(description="Users", ordering="users_n")
    def user_total(self, obj):
        return self._link(User, obj, obj.users_n, {"deleted": "no"})

    @admin.display(description="Agents", ordering="agents_n")
    def agent_total(self, obj):
        return self._link(Agent, obj, obj.agents_n)

    @admin.display(description="Numbers", ordering="numbers_n")
    def number_total(self, obj):
        return self._link(PhoneNumber, obj, obj.numbers_n)

    @admin.display(description="Open calls", ordering="open_calls_n")
    def open_call_total(self, obj):
        return self._link(Call, obj, obj.open_calls_n, {"open": "yes"})

    @staticmethod
    def _link(model, customer, count, extra=None):
        url = changelist_url(model, {"customer__id__exact": str(customer.pk), **(extra or {})})
        return format_html('<a href="{}">{}</a>', url, count)

    # --- Change page -------------------------------------------------------------

    @admin.display(description="Signing secret")
    def signing_secret_hint(self, obj):
        # Only its tail, to match what the customer reports; the secret itself stays hidden.
        return f"…{obj.signing_secret[-4:]}" if obj.signing_secret else "-"

    @admin.display(description="Lists")
    def related_links(self, obj):
        if obj.pk is None:
            return "-"
        links = [
            (changelist_url(User, {"customer__id__exact": str(obj.pk)}), "Users"),
            (changelist_url(Agent, {"customer__id__exact": str(obj.pk)}), "Agents"),
            (changelist_url(PhoneNumber, {"customer__id__exact": str(obj.pk)}), "Phone numbers"),
            (changelist_url(Call, {"customer__id__exact": str(obj.pk)}), "Calls"),
        ]
        return format_html_join(" · ", '<a href="{}">{}</a>', links)

    # --- Actions -----------------------------------------------------------------

    @admin.action(description="Suspend selected customers (their users' API requests are refused)")
    def suspend_customers(self, request, queryset):
        suspended = run_service_action(
            self, request, queryset, lambda c: customer_suspend(customer=c, actor=request.user), done="Suspended"
        )
        still_open = Call.objects.filter(customer__in=suspended, status__in=OPEN_CALL_STATUSES).count()
        if still_open:
            url = changelist_url(Call, {"open": "yes", "customer__status__exact": CustomerStatus.SUSPENDED})
            self.message_user(
                request,
                format_html(
                    '{} call(s) of suspended customers are still in progress; <a href="{}">end them</a> '
                    "if they must stop now.",
                    still_open,
                    url,
                ),
                "warning",
            )

    @admin.action(description="Reactivate selected customers")
    def reactivate_customers(self, request, queryset):
        run_service_action(
            self, request, queryset, lambda c: customer_reactivate(customer=c, actor=request.user), done="Reactivated"
        )
