"""Write helpers every app's services share."""

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, TypeVar

from django.db import models

from morpheus.errors import Conflict

M = TypeVar("M", bound=models.Model)


def model_update(*, instance: M, fields: Iterable[str], data: Mapping[str, Any]) -> tuple[M, bool]:
    """Sets each of `fields` that `data` holds and whose value differs, validates those
    fields (the model's field validators, Django's `ValidationError`), then saves exactly
    those columns (plus `updated_at`). Returns the instance and whether anything changed,
    so an update that changes nothing writes nothing and does not move `updated_at`.

    Uniqueness and constraints are left to the database: the caller turns an
    `IntegrityError` into its own 409 when one can happen."""
    changed = [field for field in fields if field in data and getattr(instance, field) != data[field]]
    for field in changed:
        setattr(instance, field, data[field])
    if changed:
        others = [f.name for f in instance._meta.fields if f.name not in changed and f.attname not in changed]
        instance.full_clean(exclude=others, validate_unique=False, validate_constraints=False)
    return instance, model_save_changed(instance, changed)


def model_save_changed(instance: models.Model, changed: Collection[str]) -> bool:
    """Saves the `changed` columns of an instance a validator has already updated in memory
    (plus `updated_at` when the model has one); nothing changed, nothing written."""
    if not changed:
        return False
    update_fields = sorted(changed)
    if any(field.name == "updated_at" for field in instance._meta.concrete_fields) and "updated_at" not in changed:
        update_fields.append("updated_at")
    instance.save(update_fields=update_fields)
    return True


def model_lock_live(instance: M, *, removed: Callable[[M], str]) -> M:
    """The row read again under a row lock (call it inside the transaction that writes it),
    unless it was soft-deleted (`deleted_at` set): that is the Conflict `removed(row)`. The
    platform admin's actions on a user or a customer start here, so a removed one is refused
    alike and left unchanged."""
    locked = type(instance)._default_manager.select_for_update().get(pk=instance.pk)
    if locked.deleted_at is not None:  # type: ignore[attr-defined]  # only soft-deletable models come here
        raise Conflict(removed(locked))
    return locked
