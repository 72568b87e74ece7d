"""Test helpers every app uses: envelope assertions and authenticated clients."""

from urllib.parse import urlsplit

from rest_framework.test import APIClient

from accounts.authentication import issue_access_token


def _assert_request_info(response, body):
    info = body["requestInfo"]
    request = response.wsgi_request
    assert info["url"] == urlsplit(request.get_full_path()).path, info
    assert info["method"] == request.method, info
    assert isinstance(info["ip"], str) and info["ip"], info


def assert_success(response, status: int = 200, message: str | None = None):
    """Asserts the success envelope and returns its data."""
    body = response.json()
    assert response.status_code == status, (response.status_code, body)
    assert body["success"] is True, body
    assert body["status"] == status, body
    assert isinstance(body["message"], str) and body["message"], body
    if message is not None:
        assert body["message"] == message, body
    assert set(body) == {"success", "status", "message", "data", "requestInfo"}, body
    _assert_request_info(response, body)
    return body["data"]


def assert_error(response, status: int, message: str | None = None, fields: list[str] | None = None):
    """Asserts the error envelope; `fields` are the exact fields in `errors`. Returns the body."""
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert response.status_code == status, (response.status_code, body)
    assert body["success"] is False, body
    assert body["statusCode"] == status, body
    assert "status" not in body, body
    if message is not None:
        assert body["message"] == message, body
    if fields is not None:
        assert body["message"] == "Validation failed", body
        assert sorted({e["field"] for e in body["errors"]}) == sorted(fields), body["errors"]
        assert all(isinstance(e["message"], str) and e["message"] for e in body["errors"]), body
    if status != 503 or body.get("data") is None:
        assert body["data"] is None, body
    _assert_request_info(response, body)
    return body


def assert_only_row(response, message: str, key: str) -> dict:
    """A list answer (`message`) whose first page of 10 holds exactly one row, listed
    under `key`: checks the envelope and the pagination, and returns that row."""
    data = assert_success(response, 200, message)
    assert data["pagination"] == {"page": 1, "limit": 10, "total": 1, "totalPages": 1}
    [row] = data[key]
    return row


def assert_delete_refused(client, url: str, row, status: int, message: str | None = None, fields=None) -> None:
    """A DELETE the API refuses (the error `status` with `message`, or a 400 naming
    `fields`) leaves `row` stored."""
    assert_error(client.delete(url), status, message, fields)
    assert type(row)._base_manager.filter(pk=row.pk).exists()


def assert_bare(response, status: int = 200) -> dict:
    """The JSON inbound webhook's success: the spec's bare body, no envelope keys."""
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert response.status_code == status, (response.status_code, body)
    assert set(body) == {"action", "roomName", "agentId", "callId", "sipUri", "reason"}, body
    return body


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_access_token(user)}")
    return client
