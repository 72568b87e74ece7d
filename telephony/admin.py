"""Django admin for the phone-number inventory; the form runs the API's validation
(E.164, country, same-tenant agent)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from agents.admin import add_service_errors

from .models import PhoneNumber
from .services import phone_number_validate


class PhoneNumberAdminForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if self.instance.pk:
            candidate = PhoneNumber.objects.get(pk=self.instance.pk)
        else:
            candidate = PhoneNumber(customer=cleaned["customer"])
        data = {name: cleaned.get(name) for name in self.fields if name not in ("customer", "agent")}
        if "agent" in self.fields:
            data["agent_id"] = cleaned["agent"].pk if cleaned.get("agent") else None
        try:
            phone_number_validate(phone_number=candidate, data=data)
        except ValidationError as exc:
            add_service_errors(self, exc, {"agent_id": "agent"})
            return cleaned
        for name in self.fields:
            if name != "customer":
                cleaned[name] = getattr(candidate, name)
        return cleaned


@admin.register(PhoneNumber)
class PhoneNumberAdmin(admin.ModelAdmin):
    form = PhoneNumberAdminForm
    list_display = ("phone_number", "friendly_name", "customer", "agent", "carrier", "country", "created_at")
    list_filter = ("carrier", "country")
    list_select_related = ("customer", "agent")
    search_fields = ("phone_number", "friendly_name", "customer__company_name")
    raw_id_fields = ("customer", "agent")
    readonly_fields = ("created_at", "updated_at")
    ordering = ("-created_at",)

    def get_readonly_fields(self, request, obj=None):
        # The number and its tenant are fixed once added (calls and routing refer to them).
        return (*self.readonly_fields, "customer", "phone_number") if obj else self.readonly_fields
