"""A minimal Django admin for users and refresh tokens; the full admin is built elsewhere.

Password hashes and token hashes are never shown.
"""

from django.contrib import admin

from .models import RefreshToken, User


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "role", "status", "customer", "email_verified", "last_login_at", "deleted_at"]
    list_filter = ["role", "status", "email_verified"]
    search_fields = ["email", "name"]
    ordering = ["-created_at"]
    exclude = ["password"]
    readonly_fields = ["id", "last_login_at", "created_at", "updated_at"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]


@admin.register(RefreshToken)
class RefreshTokenAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "family", "created_at", "expires_at", "used_at", "revoked_at", "ip"]
    list_filter = ["revoked_at", "used_at"]
    search_fields = ["user__email", "family"]
    list_select_related = ["user"]
    exclude = ["token_hash"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
