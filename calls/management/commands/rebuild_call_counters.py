"""`manage.py rebuild_call_counters [--customer UUID]`: recount calls.CallCounter from the calls."""

import uuid

from django.core.management.base import BaseCommand, CommandError

from calls.counters import call_counters_rebuild
from tenants.models import Customer


class Command(BaseCommand):
    help = (
        "Recounts the per-tenant call counters behind GET /calls's pagination.total from the calls "
        "themselves, for every customer or one. Triggers keep them exact on every write; run this after "
        "a change that bypassed them (a restore of calls_call alone, a table rebuilt by hand). Writes "
        "to calls wait while it runs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customer", help="Only this customer's counters (its UUID)")

    def handle(self, *args, customer=None, **options):
        customer_id = None
        if customer:
            try:
                customer_id = uuid.UUID(customer)
            except ValueError:
                raise CommandError(f"--customer must be a customer's UUID, not {customer!r}") from None
            if not Customer.objects.filter(pk=customer_id).exists():
                raise CommandError(f"Customer {customer_id} does not exist")
        rebuilt = call_counters_rebuild(customer_id=customer_id)
        scope = f"customer {customer_id}" if customer_id else "every customer"
        self.stdout.write(
            self.style.SUCCESS(
                f"Call counters rebuilt for {scope}: {rebuilt.calls} call(s) counted, "
                f"{rebuilt.corrected} counter(s) corrected."
            )
        )
