"""Recompute the call rollups from the calls (after a bulk import that bypassed the services,
after upgrading to a version with new rollups, or to check them: the figures must not change)."""

from django.core.management.base import BaseCommand, CommandError

from analytics.rollups import rollups_rebuild, rollups_rebuild_bulk


class Command(BaseCommand):
    help = "Recompute the analytics rollups from the calls table (all customers, or one)."

    def add_arguments(self, parser):
        parser.add_argument("--customer", help="Only this customer's id")
        parser.add_argument(
            "--bulk",
            action="store_true",
            help="Sum in memory and write in batches (minutes for a million calls, not hours); "
            "the customer's call writes wait until it is done. Needs --customer.",
        )

    def handle(self, *args, customer=None, bulk=False, **options):
        if bulk and not customer:
            raise CommandError("--bulk rebuilds one customer at a time: give --customer")
        counted = rollups_rebuild_bulk(customer_id=customer) if bulk else rollups_rebuild(customer_id=customer)
        self.stdout.write(f"Rebuilt the rollups of {counted} call(s)")
