"""The one encryption helper and the framework-free domain errors."""

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings
from rest_framework.test import APIRequestFactory

from morpheus import crypto, errors
from morpheus.api.exceptions import envelope_exception_handler


def test_it_round_trips_and_never_stores_the_plaintext():
    token = crypto.encrypt("sk-live-secret-1234")
    assert "sk-live" not in token
    assert crypto.decrypt(token) == "sk-live-secret-1234"
    assert crypto.last4("sk-live-secret-1234") == "1234"
    assert crypto.last4("abc") == ""


def test_rotation_keeps_old_tokens_readable_and_reencrypts_under_the_new_key():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]):
        token = crypto.encrypt("secret")
    with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
        assert crypto.decrypt(token) == "secret"
        rotated = crypto.reencrypt(token)
    with override_settings(FIELD_ENCRYPTION_KEYS=[new]):
        assert crypto.decrypt(rotated) == "secret"
        with pytest.raises(crypto.InvalidToken):
            crypto.decrypt(token)


def _handle(exc):
    request = APIRequestFactory().get("/api/v1/x")
    return envelope_exception_handler(exc, {"request": request})


@pytest.mark.parametrize(
    ("exc", "status", "message"),
    [
        (errors.NotFound("Agent with ID 9 does not exist"), 404, "Agent with ID 9 does not exist"),
        (errors.Conflict(), 409, "Resource already exists"),
        (errors.PermissionDenied(), 403, "You do not have permission to access this resource"),
        (errors.ServiceUnavailable("Voice service is not configured"), 503, "Voice service is not configured"),
        (errors.BadRequest("No contacts"), 400, "No contacts"),
    ],
)
def test_domain_errors_become_their_status_and_message(exc, status, message):
    response = _handle(exc)
    assert response.status_code == status
    assert response.data == {"message": message}


def test_validation_failed_names_camel_cased_dotted_fields():
    response = _handle(errors.ValidationFailed({"from_number_id": "Unknown number.", "schedule.time_zone": ["Bad."]}))
    assert response.status_code == 400
    assert response.data["message"] == "Validation failed"
    assert response.data["errors"] == [
        {"field": "fromNumberId", "message": "Unknown number."},
        {"field": "schedule.timeZone", "message": "Bad."},
    ]


def test_rate_limited_carries_retry_after():
    response = _handle(errors.RateLimited(retry_after=12))
    assert response.status_code == 429
    assert response["Retry-After"] == "12"
