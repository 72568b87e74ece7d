"""Recordings: egress through the LiveKit Twirp double, files in moto's S3 server,
presigned URLs, deletion, retention and every failure on the way."""

import datetime
import urllib.request

import pytest
from django.utils import timezone
from livekit import api

from agents.tests.factories import AgentFactory
from calls import services, tasks
from calls.models import Call, CallStatus, RecordingStatus
from calls.tests.factories import CallFactory
from testsupport.api import assert_error, assert_success, client_for
from testsupport.s3 import BUCKET

from .test_livekit_webhook import post_event

pytestmark = pytest.mark.django_db
AUDIO = b"OggS" + bytes(range(256)) * 40


@pytest.fixture
def agent(customer_a):
    return AgentFactory(customer=customer_a, recording_enabled=True)


def start_simulation(alice, agent, capture) -> Call:
    with capture(execute=True):
        started = services.call_start_simulation(user=alice, agent=agent)
    return Call.objects.get(pk=started.call.pk)


def egress_event(info, event="egress_ended") -> str:
    from google.protobuf.json_format import MessageToJson

    return MessageToJson(api.WebhookEvent(event=event, egress_info=info, id="EV_9", created_at=1))


def finish(api_client, livekit_server, s3_server, call, capture, *, upload=True, error=""):
    """What Egress does when the room closes: upload the file, then LiveKit's webhook."""
    if upload and not error:
        s3_server.client().put_object(Bucket=BUCKET, Key=call.recording_key, Body=AUDIO)
    info = livekit_server.finish_egress(call.recording_egress_id, size=len(AUDIO), duration_s=12.5, error=error)
    with capture(execute=True):
        data = assert_success(post_event(api_client, livekit_server, egress_event(info)), 200, "Webhook processed")
    assert data == {"event": "egress_ended", "callId": call.id}
    call.refresh_from_db()
    return call


def test_a_recorded_call_from_egress_to_presigned_url(
    alice, alice_client, api_client, agent, livekit_server, s3_server, django_capture_on_commit_callbacks
):
    call = start_simulation(alice, agent, django_capture_on_commit_callbacks)
    # The egress request LiveKit received, decoded with livekit.protocol.
    (request,) = livekit_server.messages("StartRoomCompositeEgress")
    assert request.room_name == call.room_name and request.audio_only is True
    (output,) = request.file_outputs
    assert output.file_type == api.EncodedFileType.OGG
    assert output.filepath == f"recordings/{call.customer_id}/{call.id}.ogg"
    assert (output.s3.bucket, output.s3.endpoint, output.s3.force_path_style) == (BUCKET, s3_server.url, True)
    assert call.recording_status == RecordingStatus.RECORDING and call.recording_egress_id
    assert assert_success(alice_client.get(f"/api/v1/calls/{call.id}"))["recordingUrl"] is None

    call = finish(api_client, livekit_server, s3_server, call, django_capture_on_commit_callbacks)
    assert call.recording_status == RecordingStatus.READY
    assert (call.recording_duration, call.recording_size) == (12.5, len(AUDIO))

    data = assert_success(alice_client.get(f"/api/v1/calls/{call.id}"), 200)
    assert data["recordingStatus"] == "ready"
    assert data["recording"] == {
        "status": "ready",
        "format": "ogg",
        "durationSeconds": 12.5,
        "sizeBytes": len(AUDIO),
        "error": None,
    }
    url = data["recordingUrl"]
    assert url.startswith(f"{s3_server.url}/{BUCKET}/recordings/") and "X-Amz-Expires=3600" in url
    with urllib.request.urlopen(url) as response:  # the presigned URL works as is
        assert response.read() == AUDIO
    listed = assert_success(alice_client.get("/api/v1/calls"), 200)["calls"][0]
    assert listed["recordingStatus"] == "ready" and listed["recordingUrl"].startswith(s3_server.url)


def test_recording_ready_is_an_event(
    alice, api_client, agent, customer_a, livekit_server, s3_server, django_capture_on_commit_callbacks
):
    from integrations.models import Event
    from integrations.tests.factories import WebhookEndpointFactory

    WebhookEndpointFactory(customer=customer_a, events=["recording.ready"])
    call = start_simulation(alice, agent, django_capture_on_commit_callbacks)
    finish(api_client, livekit_server, s3_server, call, django_capture_on_commit_callbacks)
    event = Event.objects.get(type="recording.ready")
    assert event.data["id"] == call.id and event.data["recording"]["status"] == "ready"


def test_an_egress_failure_marks_the_recording_failed(
    alice, api_client, agent, livekit_server, s3_server, django_capture_on_commit_callbacks
):
    call = start_simulation(alice, agent, django_capture_on_commit_callbacks)
    call = finish(
        api_client,
        livekit_server,
        s3_server,
        call,
        django_capture_on_commit_callbacks,
        error="Start signal not received",
    )
    assert (call.recording_status, call.recording_error) == (RecordingStatus.FAILED, "Start signal not received")


def test_livekit_down_at_start_is_retried_then_failed_without_touching_the_call(
    alice, agent, livekit_server, s3_server, django_capture_on_commit_callbacks
):
    livekit_server.fail_next("StartRoomCompositeEgress", times=tasks.RECORDING_START_RETRIES + 1)
    call = start_simulation(alice, agent, django_capture_on_commit_callbacks)
    assert len(livekit_server.messages("StartRoomCompositeEgress")) == tasks.RECORDING_START_RETRIES + 1
    assert call.recording_status == RecordingStatus.FAILED
    assert call.recording_error.startswith("Recording could not start: Voice service is unavailable")
    assert call.status == CallStatus.ACTIVE


def test_livekit_down_once_is_retried_into_a_recording(
    alice, agent, livekit_server, s3_server, django_capture_on_commit_callbacks
):
    livekit_server.fail_next("StartRoomCompositeEgress")
    call = start_simulation(alice, agent, django_capture_on_commit_callbacks)
    assert call.recording_status == RecordingStatus.RECORDING


def test_storage_down_keeps_it_pending_until_the_next_check(
    alice, api_client, agent, livekit_server, s3_server, django_capture_on_commit_callbacks
):
    call = start_simulation(alice, agent, django_capture_on_commit_callbacks)
    s3_server.client().put_object(Bucket=BUCKET, Key=call.recording_key, Body=AUDIO)
    s3_server.stop()
    call = finish(api_client, livekit_server, s3_server, call, django_capture_on_commit_callbacks, upload=False)
    assert call.recording_status == RecordingStatus.PENDING  # not lost, not ready
    s3_server.start()
    s3_server.client().create_bucket(Bucket=BUCKET)
    s3_server.client().put_object(Bucket=BUCKET, Key=call.recording_key, Body=AUDIO)
    assert tasks.purge_recordings.apply().get() == 0
    call.refresh_from_db()
    assert call.recording_status == RecordingStatus.READY


def test_nothing_is_recorded_unless_enabled(
    alice, customer_a, livekit_server, s3_server, django_capture_on_commit_callbacks
):
    follows = AgentFactory(customer=customer_a, recording_enabled=None)
    call = start_simulation(alice, follows, django_capture_on_commit_callbacks)
    assert call.recording_status == "" and livekit_server.messages("StartRoomCompositeEgress") == []
    customer_a.settings = {"recordingEnabled": True}
    customer_a.save()
    call = start_simulation(alice, follows, django_capture_on_commit_callbacks)
    assert call.recording_status == RecordingStatus.RECORDING
    off = AgentFactory(customer=customer_a, recording_enabled=False)
    call = start_simulation(alice, off, django_capture_on_commit_callbacks)
    assert call.recording_status == ""


def test_no_bucket_means_no_recording(alice, agent, livekit_server, settings, django_capture_on_commit_callbacks):
    settings.RECORDINGS_S3_BUCKET = ""
    call = start_simulation(alice, agent, django_capture_on_commit_callbacks)
    assert call.recording_status == "" and livekit_server.messages("StartRoomCompositeEgress") == []


# --- DELETE /calls/:id/recording --------------------------------------------------------------


def ready_call(agent, s3_server, *, ended_days_ago=1, key=None) -> Call:
    ended = timezone.now() - datetime.timedelta(days=ended_days_ago)
    call = CallFactory(agent=agent, status=CallStatus.COMPLETED, started_at=ended, ended_at=ended)
    call.recording_key = key or f"recordings/{call.customer_id}/{call.id}.ogg"
    call.recording_status = RecordingStatus.READY
    call.save()
    s3_server.client().put_object(Bucket=BUCKET, Key=call.recording_key, Body=AUDIO)
    return call


def stored(s3_server, key) -> bool:
    return s3_server.client().list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount", 0) > 0


def test_deleting_removes_the_file(alice_client, agent, s3_server):
    call = ready_call(agent, s3_server)
    key = call.recording_key
    data = assert_success(
        alice_client.delete(f"/api/v1/calls/{call.id}/recording"), 200, "Recording deleted successfully"
    )
    assert data == {"callId": call.id, "recordingStatus": "deleted"}
    assert not stored(s3_server, key)
    detail = assert_success(alice_client.get(f"/api/v1/calls/{call.id}"))
    assert detail["recordingUrl"] is None and detail["recordingStatus"] == "deleted"
    assert_error(
        alice_client.delete(f"/api/v1/calls/{call.id}/recording"), 404, f"Call with ID {call.id} has no recording"
    )


def test_storage_down_answers_503_and_keeps_everything(alice_client, agent, s3_server):
    call = ready_call(agent, s3_server)
    s3_server.stop()
    assert_error(
        alice_client.delete(f"/api/v1/calls/{call.id}/recording"),
        503,
        "Recording storage is unavailable, please try again later",
    )
    call.refresh_from_db()
    assert call.recording_status == RecordingStatus.READY and call.recording_key


def test_members_may_not_delete_and_other_tenants_get_404(charlie, bob_client, agent, s3_server):
    call = ready_call(agent, s3_server)
    assert_error(client_for(charlie).delete(f"/api/v1/calls/{call.id}/recording"), 403)
    assert_error(bob_client.delete(f"/api/v1/calls/{call.id}/recording"), 404, f"Call with ID {call.id} does not exist")
    assert stored(s3_server, call.recording_key)


def test_a_recording_in_progress_cannot_be_deleted(alice_client, agent, s3_server):
    call = CallFactory(agent=agent, recording_status=RecordingStatus.RECORDING, recording_egress_id="EG_1")
    assert_error(alice_client.delete(f"/api/v1/calls/{call.id}/recording"), 409)


# --- Retention ------------------------------------------------------------------------------


def test_the_purge_keeps_each_organizations_retention(agent, customer_a, customer_b, s3_server, settings):
    settings.RECORDINGS_RETENTION_DAYS = 30
    customer_a.settings = {"recordingRetentionDays": 7}
    customer_a.save()
    expired = ready_call(agent, s3_server, ended_days_ago=8)
    fresh = ready_call(agent, s3_server, ended_days_ago=6)
    other = ready_call(AgentFactory(customer=customer_b), s3_server, ended_days_ago=8)  # default 30 days
    assert tasks.purge_recordings.apply().get() == 1
    for call in (expired, fresh, other):
        call.refresh_from_db()
    assert expired.recording_status == RecordingStatus.DELETED and not stored(
        s3_server, f"recordings/{customer_a.id}/{expired.id}"
    )
    assert fresh.recording_status == RecordingStatus.READY and stored(s3_server, fresh.recording_key)
    assert other.recording_status == RecordingStatus.READY


def test_the_purge_stops_when_storage_is_down(agent, customer_a, s3_server):
    customer_a.settings = {"recordingRetentionDays": 1}
    customer_a.save()
    call = ready_call(agent, s3_server, ended_days_ago=3)
    s3_server.stop()
    assert tasks.purge_recordings.apply().get() == 0
    call.refresh_from_db()
    assert call.recording_status == RecordingStatus.READY


@pytest.mark.parametrize(
    "settings_patch, field",
    [
        ({"recordingRetentionDays": 0}, "settings.recordingRetentionDays"),
        ({"recordingRetentionDays": "7"}, "settings.recordingRetentionDays"),
        ({"recordingEnabled": "yes"}, "settings.recordingEnabled"),
    ],
)
def test_bad_recording_settings_are_refused(alice_client, settings_patch, field):
    response = alice_client.patch("/api/v1/customers/me", {"settings": settings_patch}, format="json")
    assert_error(response, 400, fields=[field])


def test_the_release_step_creates_the_bucket_once(s3_server, settings):
    from django.core.management import call_command

    settings.RECORDINGS_S3_BUCKET = "fresh-bucket"
    call_command("ensure_recordings_bucket")
    call_command("ensure_recordings_bucket")
    names = [b["Name"] for b in s3_server.client().list_buckets()["Buckets"]]
    assert names.count("fresh-bucket") == 1
