"""Django admin for the phone-number inventory; the form runs the API's validation
(E.164, country, same-tenant agent)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models

from agents.admin import add_service_errors
from calls.models import OPEN_CALL_STATUSES
from morpheus.admin_site import READABLE_JSON

from .models import PhoneNumber, SipTrunk
from .services import phone_number_delete, phone_number_validate
from .trunks import sip_trunk_create, sip_trunk_delete, sip_trunk_update


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
    list_filter = ("carrier", "country", ("agent", admin.EmptyFieldListFilter), "customer__status")
    list_select_related = ("customer", "agent")
    search_fields = ("phone_number", "friendly_name", "customer__company_name")
    search_help_text = "Number, its name, or the company name."
    raw_id_fields = ("customer", "agent")
    # The outbound trunk is chosen on the trunk (API /sip-trunks or the SIP trunk admin).
    readonly_fields = ("sip_trunk", "created_at", "updated_at")
    ordering = ("-created_at",)
    list_per_page = 50
    formfield_overrides = {models.JSONField: READABLE_JSON}

    def get_readonly_fields(self, request, obj=None):
        # The number and its tenant are fixed once added (calls and routing refer to them).
        return (*self.readonly_fields, "customer", "phone_number") if obj else self.readonly_fields

    # Deleting goes through phone_number_delete (refused while a call is on the number),
    # one number at a time from its page.
    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.calls.filter(status__in=OPEN_CALL_STATUSES).exists():
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        phone_number_delete(phone_number=obj)


class SipTrunkAdminForm(forms.ModelForm):
    """Saving goes through telephony.trunks, so LiveKit always has the same trunk."""

    auth_password = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False), help_text="Blank keeps the current password."
    )

    class Meta:
        model = SipTrunk
        fields = ("customer", "name", "address", "transport", "auth_username", "auth_password")


@admin.register(SipTrunk)
class SipTrunkAdmin(admin.ModelAdmin):
    form = SipTrunkAdminForm
    list_display = ("name", "customer", "address", "transport", "livekit_trunk_id", "created_at")
    list_filter = ("transport", ("customer", admin.EmptyFieldListFilter))
    list_select_related = ("customer",)
    search_fields = ("name", "address", "customer__company_name", "livekit_trunk_id")
    raw_id_fields = ("customer",)
    readonly_fields = ("livekit_trunk_id", "created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "customer") if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data.get(name) for name in ("name", "address", "transport", "auth_username")}
        if form.cleaned_data.get("auth_password"):
            data["auth_password"] = form.cleaned_data["auth_password"]
        if change:
            saved = sip_trunk_update(trunk=SipTrunk.objects.get(pk=obj.pk), data=data)
        else:
            saved = sip_trunk_create(customer=form.cleaned_data.get("customer"), data=data)
        obj.pk, obj.livekit_trunk_id = saved.pk, saved.livekit_trunk_id

    def delete_model(self, request, obj):
        sip_trunk_delete(trunk=obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions
