"""Call recordings: LiveKit Egress records the room (audio-only room composite, OGG or
MP3) straight into the S3-compatible bucket; we keep the object key, its duration and
size, hand out short-lived presigned URLs, delete on request and purge past retention.

Life of a recording (`Call.recording_status`):

    ""        not recorded (agent/organization setting off, or no bucket configured)
    recording the egress runs (started by calls.tasks.start_recording after the call was
              created; LiveKit down is retried, then `failed`)
    pending   LiveKit's `egress_ended` said the file is written; we check it is in the
              bucket (calls.tasks.verify_recording). Storage down keeps it pending and
              retries: nothing is lost.
    ready     in the bucket: GET /calls/:id gives a presigned recordingUrl; `recording.ready`
    failed    the egress failed or never started (recording_error says why)
    deleted   removed by DELETE /calls/:id/recording or the retention purge

The egress ends by itself when the call's room is deleted at the end of the call.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from livekit import api

from morpheus import outbox
from morpheus.errors import Conflict, NotFound

from . import livekit_client, storage
from .models import Call, RecordingStatus

logger = logging.getLogger(__name__)

FILE_TYPES = {"ogg": api.EncodedFileType.OGG, "mp3": api.EncodedFileType.MP3}
RETENTION_SETTING = "recordingRetentionDays"
ENABLED_SETTING = "recordingEnabled"
# Egress statuses that end without a usable file.
EGRESS_FAILED = {
    api.EgressStatus.EGRESS_FAILED: "failed",
    api.EgressStatus.EGRESS_ABORTED: "aborted",
}


def recording_format() -> str:
    return settings.RECORDINGS_FORMAT if settings.RECORDINGS_FORMAT in FILE_TYPES else "ogg"


def recording_wanted(call: Call) -> bool:
    """The agent's recordingEnabled, or the organization's settings.recordingEnabled when
    the agent says null; never without a bucket."""
    if not storage.storage_configured() or not call.has_room:
        return False
    agent_choice = call.agent.recording_enabled if call.agent_id else None
    if agent_choice is not None:
        return agent_choice
    return bool((call.customer.settings or {}).get(ENABLED_SETTING, False))


def recording_schedule(*, call: Call) -> bool:
    """Inside the transaction that created the call: start the egress after commit."""
    if not recording_wanted(call):
        return False
    outbox.enqueue("calls.tasks.start_recording", call.pk)
    return True


def _key(call: Call) -> str:
    return f"recordings/{call.customer_id}/{call.pk}.{recording_format()}"


def _s3_upload() -> api.S3Upload:
    return api.S3Upload(
        access_key=settings.RECORDINGS_S3_ACCESS_KEY,
        secret=settings.RECORDINGS_S3_SECRET_KEY,
        region=settings.RECORDINGS_S3_REGION,
        endpoint=settings.RECORDINGS_EGRESS_S3_ENDPOINT_URL or settings.RECORDINGS_S3_ENDPOINT_URL,
        bucket=settings.RECORDINGS_S3_BUCKET,
        force_path_style=True,
    )


def recording_start(*, call: Call) -> str:
    """Starts the egress once (a retried task finds the egress id and stops). Raises
    LiveKitUnavailable for the task to retry."""
    if call.recording_egress_id or call.recording_status:
        return "skipped"
    if not call.is_open:
        return "skipped"
    key = _key(call)
    info = livekit_client.start_audio_egress(
        call.room_name, file_type=FILE_TYPES[recording_format()], filepath=key, s3=_s3_upload()
    )
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        if locked.recording_egress_id:
            return "skipped"
        locked.recording_egress_id = info.egress_id
        locked.recording_key = key
        locked.recording_status = RecordingStatus.RECORDING
        locked.save(update_fields=["recording_egress_id", "recording_key", "recording_status", "updated_at"])
    return "recording"


@transaction.atomic
def recording_fail(*, call_id: int, reason: str) -> None:
    locked = Call.objects.select_for_update().get(pk=call_id)
    if locked.recording_status in (RecordingStatus.READY, RecordingStatus.DELETED):
        return
    locked.recording_status = RecordingStatus.FAILED
    locked.recording_error = reason[:2000]
    locked.save(update_fields=["recording_status", "recording_error", "updated_at"])


@transaction.atomic
def recording_apply_egress(*, info) -> Call | None:
    """`egress_ended` (and `egress_updated`) from LiveKit's webhook. Returns the call."""
    call = Call.objects.select_for_update().filter(recording_egress_id=info.egress_id).first()
    if call is None or call.recording_status != RecordingStatus.RECORDING:
        return call
    if info.status in EGRESS_FAILED:
        call.recording_status = RecordingStatus.FAILED
        call.recording_error = (info.error or f"Egress {EGRESS_FAILED[info.status]}")[:2000]
        call.save(update_fields=["recording_status", "recording_error", "updated_at"])
        return call
    if info.status not in (api.EgressStatus.EGRESS_COMPLETE, api.EgressStatus.EGRESS_LIMIT_REACHED):
        return call  # still starting, active or ending
    result = info.file_results[0] if info.file_results else None
    if result is None:
        call.recording_status = RecordingStatus.FAILED
        call.recording_error = "Egress ended without a file"
        call.save(update_fields=["recording_status", "recording_error", "updated_at"])
        return call
    call.recording_key = result.filename or call.recording_key
    call.recording_duration = round(result.duration / 1e9, 3) if result.duration else None
    call.recording_size = result.size or None
    call.recording_status = RecordingStatus.PENDING
    call.save(update_fields=["recording_key", "recording_duration", "recording_size", "recording_status", "updated_at"])
    outbox.enqueue("calls.tasks.verify_recording", call.pk)
    return call


def recording_verify(*, call: Call) -> str:
    """Pending -> ready once the object is in the bucket. Raises StorageUnavailable (keep
    pending, retry); returns "missing" when the bucket has no such object (yet)."""
    if call.recording_status != RecordingStatus.PENDING:
        return "skipped"
    size = storage.object_size(call.recording_key)
    if size is None:
        return "missing"
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        if locked.recording_status != RecordingStatus.PENDING:
            return "skipped"
        locked.recording_status = RecordingStatus.READY
        locked.recording_size = size
        locked.save(update_fields=["recording_status", "recording_size", "updated_at"])
        _emit_ready(locked)
    return "ready"


def _emit_ready(call: Call) -> None:
    from integrations import events

    from .serializers import CallListItem

    events.emit(
        customer_id=call.customer_id,
        event_type="recording.ready",
        data=lambda: {**CallListItem(call).data, "recording": recording_details(call)},
        agent_id=call.agent_id,
    )


def recording_details(call: Call) -> dict | None:
    if not call.recording_status:
        return None
    return {
        "status": call.recording_status,
        "format": call.recording_key.rsplit(".", 1)[-1] if call.recording_key else None,
        "durationSeconds": call.recording_duration,
        "sizeBytes": call.recording_size,
        "error": call.recording_error or None,
    }


def recording_url(call: Call) -> str | None:
    """A presigned URL of a ready recording (signed locally, no request); the stored
    external URL of calls recorded elsewhere; else None."""
    if call.recording_status == RecordingStatus.READY and call.recording_key and storage.storage_configured():
        try:
            return storage.presigned_url(call.recording_key)
        except storage.StorageUnavailable:
            logger.warning("Cannot sign a URL for the recording of call %s: check RECORDINGS_S3_*", call.pk)
            return None
    if not call.recording_status:
        return call.recording_url
    return None


@transaction.atomic
def recording_delete(*, call: Call) -> Call:
    """Deletes the file and marks the recording deleted. Storage down: 503, nothing changed."""
    locked = Call.objects.select_for_update().get(pk=call.pk)
    if locked.recording_status in ("", RecordingStatus.DELETED):
        raise NotFound(f"Call with ID {locked.pk} has no recording")
    if locked.recording_status == RecordingStatus.RECORDING:
        raise Conflict(f"Call with ID {locked.pk} is still being recorded")
    if locked.recording_key:
        storage.delete_object(locked.recording_key)
    _mark_deleted(locked)
    return locked


def _mark_deleted(call: Call) -> None:
    call.recording_status = RecordingStatus.DELETED
    call.recording_key = ""
    call.recording_size = None
    call.recording_url = None
    call.save(update_fields=["recording_status", "recording_key", "recording_size", "recording_url", "updated_at"])


def retention_days(customer) -> int:
    value = (customer.settings or {}).get(RETENTION_SETTING)
    return (
        value
        if isinstance(value, int) and not isinstance(value, bool) and value > 0
        else settings.RECORDINGS_RETENTION_DAYS
    )


def recordings_purge(*, now: datetime.datetime | None = None, batch: int = 200) -> int:
    """Beat: deletes ready (and failed/pending leftovers') files older than each
    organization's retention. Storage down: stops, the next run carries on."""
    from tenants.models import Customer

    now = now or timezone.now()
    kept = (RecordingStatus.READY, RecordingStatus.PENDING, RecordingStatus.FAILED)
    customer_ids = (
        Call.objects.filter(recording_status__in=kept).exclude(recording_key="").values_list("customer_id", flat=True)
    )
    purged = 0
    for customer in Customer.objects.filter(pk__in=customer_ids.distinct()):
        cutoff = now - datetime.timedelta(days=retention_days(customer))
        old = Call.objects.filter(customer=customer, recording_status__in=kept, ended_at__lt=cutoff).exclude(
            recording_key=""
        )
        for call in old.order_by("ended_at")[:batch]:
            try:
                recording_delete_expired(call=call)
            except storage.StorageUnavailable:
                logger.warning("Recording storage down: the purge stops and resumes at its next run")
                return purged
            purged += 1
    return purged


@transaction.atomic
def recording_delete_expired(*, call: Call) -> None:
    locked = Call.objects.select_for_update().get(pk=call.pk)
    if locked.recording_key:
        storage.delete_object(locked.recording_key)
    _mark_deleted(locked)
