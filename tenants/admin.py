"""Minimal registration; the full platform admin for customers is built elsewhere."""

from django.contrib import admin

from .models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["company_name", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["company_name"]
    readonly_fields = ["id", "signing_secret", "created_at", "updated_at"]
