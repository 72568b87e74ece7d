"""Users and refresh tokens in the platform admin.

Accounts change through their services: suspend, reactivate, revoke every session and
resend an invitation are actions; only the display name is edited in the form. Users
are created by sign-up, invitation or `createsuperuser`, and removed (soft-deleted)
by their organization, so the admin neither adds nor deletes them. Password hashes
and token hashes are never shown.
"""

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.html import format_html

from morpheus.admin_site import ReadOnlyAdminMixin, UUIDSearchMixin, changelist_url, run_service_action, yes_no_filter

from .models import RefreshToken, User
from .selectors import refresh_token_live_q
from .services.platform import user_invitation_resend, user_reactivate, user_suspend
from .services.sessions import user_sessions_revoke

RemovedFilter = yes_no_filter(
    title="removed", parameter_name="deleted", yes="Removed", no="Not removed", condition=Q(deleted_at__isnull=False)
)


def _live_sessions():
    """Open sessions per user: refresh tokens neither used, revoked nor expired."""
    rows = (
        RefreshToken.objects.filter(refresh_token_live_q(), user=OuterRef("pk"))
        .order_by()
        .values("user")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


@admin.register(User)
class UserAdmin(UUIDSearchMixin, admin.ModelAdmin):
    list_display = (
        "email",
        "name",
        "customer",
        "role",
        "status",
        "email_verified",
        "session_total",
        "last_login_at",
        "created_at",
        "deleted_at",
    )
    list_filter = ("role", "status", RemovedFilter, "email_verified", "customer__status")
    search_fields = ("email", "name", "customer__company_name")
    search_help_text = "Email, name, company name, or the user's ID."
    list_select_related = ("customer",)
    ordering = ("-created_at",)
    list_per_page = 50
    actions = ("suspend_users", "reactivate_users", "revoke_sessions", "resend_invitations")
    fieldsets = (
        (None, {"fields": ("id", "email", "name", "customer", "role", "status")}),
        ("Sign-in", {"fields": ("email_verified", "provider", "last_login_at", "sessions")}),
        ("History", {"fields": ("created_at", "updated_at", "deleted_at")}),
    )
    readonly_fields = (
        "id",
        "email",
        "customer",
        "role",
        "status",
        "email_verified",
        "provider",
        "last_login_at",
        "sessions",
        "created_at",
        "updated_at",
        "deleted_at",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(live_sessions=_live_sessions())

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Sessions", ordering="live_sessions")
    def session_total(self, obj):
        return obj.live_sessions

    @admin.display(description="Sessions")
    def sessions(self, obj):
        url = changelist_url(RefreshToken, {"user__id__exact": str(obj.pk)})
        return format_html('{} open · <a href="{}">every refresh token</a>', obj.live_sessions, url)

    # --- Actions -----------------------------------------------------------------

    @admin.action(description="Suspend selected users (and end their sessions)")
    def suspend_users(self, request, queryset):
        run_service_action(
            self, request, queryset, lambda u: user_suspend(user=u, actor=request.user), done="Suspended"
        )

    @admin.action(description="Reactivate selected users")
    def reactivate_users(self, request, queryset):
        run_service_action(
            self, request, queryset, lambda u: user_reactivate(user=u, actor=request.user), done="Reactivated"
        )

    @admin.action(description="Revoke all sessions of selected users (they must log in again)")
    def revoke_sessions(self, request, queryset):
        live, removed = queryset.filter(deleted_at__isnull=True), queryset.filter(deleted_at__isnull=False)
        for user in removed:
            self.message_user(request, f"User {user.email} has been removed", "warning")
        revoked = run_service_action(
            self, request, live, lambda u: user_sessions_revoke(user=u), done="Revoked the sessions of"
        )
        if revoked:
            self.message_user(request, f"{sum(revoked)} refresh token(s) revoked", "info")

    @admin.action(description="Resend the invitation to selected invited users")
    def resend_invitations(self, request, queryset):
        run_service_action(
            self,
            request,
            queryset.select_related("customer"),
            lambda u: user_invitation_resend(user=u, actor=request.user),
            done="Resent the invitation to",
        )


class TokenStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("live", "Live"), ("used", "Used (rotated)"), ("revoked", "Revoked"), ("expired", "Expired"))

    def queryset(self, request, queryset):
        now = timezone.now()
        states = {
            "live": refresh_token_live_q(now=now),
            "used": Q(used_at__isnull=False),
            "revoked": Q(revoked_at__isnull=False),
            "expired": Q(expires_at__lte=now),
        }
        condition = states.get(self.value())
        return queryset.filter(condition) if condition is not None else queryset


@admin.register(RefreshToken)
class RefreshTokenAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: sessions end through the user's "revoke all sessions" action."""

    list_display = ("id", "user", "state", "family", "created_at", "expires_at", "used_at", "revoked_at", "ip")
    list_filter = (TokenStateFilter, ("created_at", admin.DateFieldListFilter))
    search_fields = ("user__email", "user_agent")
    search_help_text = "The user's email, or the client's user agent."
    list_select_related = ("user",)
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    list_per_page = 100
    fields = (
        "id",
        "user",
        "state",
        "family",
        "created_at",
        "expires_at",
        "used_at",
        "revoked_at",
        "replaced_by",
        "ip",
        "user_agent",
    )
    readonly_fields = fields

    @admin.display(description="State")
    def state(self, obj):
        if obj.revoked_at:
            return "revoked"
        if obj.used_at:
            return "used"
        if obj.expires_at <= timezone.now():
            return "expired"
        return "live"
