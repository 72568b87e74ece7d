"""Abstract bases shared by the apps' models."""

from typing import Any

from django.db import models


class UpdatedAtField(models.DateTimeField):
    """`auto_now`, except that a new row's value is its `created_at`: the two auto fields
    read the clock one after the other, so a row created on a millisecond boundary showed
    `updatedAt` 1 ms after `createdAt` (the API promises them equal on create)."""

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        created_at = getattr(model_instance, "created_at", None)
        if add and created_at is not None:
            setattr(model_instance, self.attname, created_at)
            return created_at
        return super().pre_save(model_instance, add)

    def deconstruct(self) -> Any:
        # Only pre_save differs: migrations keep seeing a DateTimeField (no schema change).
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DateTimeField", args, kwargs


class TimestampedModel(models.Model):
    # created_at is declared first, so Django sets it (pre_save) before updated_at.
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = UpdatedAtField(auto_now=True)

    class Meta:
        abstract = True


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutboxMessage(models.Model):
    """A Celery task that must run because a transaction committed (DESIGN.md, Outbox).

    Written in the same transaction as the change that needs it, so a broker outage
    delays the work and never loses it: after the commit the row is published at once;
    if that fails it stays `pending` and the beat sweeper publishes it later. Delivery is
    at least once, so the tasks behind it are idempotent.
    """

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    # Earliest time the task should run (a countdown given at enqueue time).
    run_after = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"],
                name="outbox_pending_idx",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_name}{tuple(self.args)} [{self.status}]"
