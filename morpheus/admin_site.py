"""The Django admin as the platform admins' portal.

Only platform admins get in (User.is_staff is true for them alone), and the index
page opens with an overview of the platform's state.
"""

from datetime import timedelta

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone


class MorpheusAdminSite(admin.AdminSite):
    site_header = "Morpheus platform admin"
    site_title = "Morpheus platform admin"
    index_title = "Platform overview"

    def index(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "platform_overview": platform_overview(self)}
        return super().index(request, extra_context)


def _changelist_url(site, model) -> str:
    if not site.is_registered(model):
        return ""
    opts = model._meta
    return reverse(f"{site.name}:{opts.app_label}_{opts.model_name}_changelist")


def platform_overview(site) -> dict:
    """Counts for the admin index, each with a link to the filtered list behind it."""
    from calls.models import Call, CallStatus
    from tenants.models import Customer

    now = timezone.now()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    customers_url = _changelist_url(site, Customer)
    calls_url = _changelist_url(site, Call)
    by_status = dict(Customer.objects.values_list("status").annotate(n=Count("id")).order_by())
    customers = [
        {
            "label": f"Customers {label.lower()}",
            "count": by_status.get(value, 0),
            "url": f"{customers_url}?status__exact={value}",
        }
        for value, label in Customer._meta.get_field("status").choices
    ]
    since = now - timedelta(hours=24)
    calls = [
        {
            "label": "Calls today",
            "count": Call.objects.filter(started_at__gte=today).count(),
            "url": f"{calls_url}?started_at__gte={today.strftime('%Y-%m-%d')}",
        },
        {
            "label": "Calls active now",
            "count": Call.objects.filter(status=CallStatus.ACTIVE).count(),
            "url": f"{calls_url}?status__exact={CallStatus.ACTIVE}",
        },
        {
            "label": "Failed calls, last 24 hours",
            "count": Call.objects.filter(status=CallStatus.FAILED, started_at__gte=since).count(),
            "url": f"{calls_url}?status__exact={CallStatus.FAILED}&started_at__gte={since:%Y-%m-%d %H:%M:%S}",
        },
    ]
    return {"customers": customers, "calls": calls}
