"""Existing emails in their one normalised spelling (accounts.normalization): NFKC +
casefold. Lookups now compare exactly, so a row left in another spelling could not sign
in. A row whose normalised address another row already has is left as it is (and
logged): two accounts cannot be merged silently; an operator decides."""

import logging
import unicodedata

from django.db import migrations

logger = logging.getLogger("accounts.migrations")


def _normalize(email: str) -> str:
    # A frozen copy of accounts.normalization.normalize_email: migrations must not change
    # meaning when that module does.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", email.strip()).casefold())


def normalize_emails(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    groups: dict[str, list] = {}
    for user in User.objects.only("pk", "email").order_by("created_at"):
        groups.setdefault(_normalize(user.email), []).append(user)
    for normal, users in groups.items():
        first, *others = users
        for other in others:
            logger.warning(
                "User %s: %r normalises to %r like an older user's; left unchanged", other.pk, other.email, normal
            )
        if first.email != normal:
            User.objects.filter(pk=first.pk).update(email=normal)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_initial")]

    operations = [migrations.RunPython(normalize_emails, migrations.RunPython.noop)]
