from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_delete, post_save


def _price_lines_changed(sender, **kwargs):
    from .cost import forget_price_lines, price_lines_changed

    # This process at once (it sees its own uncommitted line); the others after the commit,
    # since one reloading earlier would read the old lines again.
    forget_price_lines()
    transaction.on_commit(price_lines_changed)


class CallsConfig(AppConfig):
    name = "calls"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .models import UnitPrice

        post_save.connect(_price_lines_changed, sender=UnitPrice, dispatch_uid="calls-unit-price-saved")
        post_delete.connect(_price_lines_changed, sender=UnitPrice, dispatch_uid="calls-unit-price-deleted")
