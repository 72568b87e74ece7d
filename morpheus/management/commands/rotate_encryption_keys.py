"""Re-encrypts every secret at rest under the first FIELD_ENCRYPTION_KEYS key.

Rotation: prepend a new key to FIELD_ENCRYPTION_KEYS (keep the old one after it),
restart, run this command, then drop the old key.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from morpheus import crypto


def encrypted_fields():
    for model in apps.get_models():
        names = [f.attname for f in model._meta.concrete_fields if isinstance(f, crypto.EncryptedTextField)]
        if names:
            yield model, names


class Command(BaseCommand):
    help = "Re-encrypts every stored secret under the current primary FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        total = 0
        for model, names in encrypted_fields():
            with transaction.atomic():
                # The field decrypts on read and encrypts with the primary key on write.
                for row in model._base_manager.select_for_update().only("pk", *names).iterator():
                    row.save(update_fields=names)
                    total += 1
            self.stdout.write(f"{model._meta.label}: {', '.join(names)}")
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} row(s)."))
