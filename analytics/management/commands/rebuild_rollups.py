"""Recompute the call rollups from the calls (after a bulk import that bypassed the services,
or to check them: the figures must not change)."""

from django.core.management.base import BaseCommand

from analytics.rollups import rollups_rebuild


class Command(BaseCommand):
    help = "Recompute the analytics rollups from the calls table (all customers, or one)."

    def add_arguments(self, parser):
        parser.add_argument("--customer", help="Only this customer's id")

    def handle(self, *args, customer=None, **options):
        counted = rollups_rebuild(customer_id=customer)
        self.stdout.write(f"Rebuilt the rollups of {counted} call(s)")
