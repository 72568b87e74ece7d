"""The S3-compatible bucket recordings live in (AWS S3, MinIO, ...), through boto3.

Every storage failure becomes `StorageUnavailable` (an API 503): the callers keep the
recording as it was and retry later.
"""

from __future__ import annotations

import functools

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from morpheus.errors import ServiceUnavailable

UNAVAILABLE_MESSAGE = "Recording storage is unavailable, please try again later"


class StorageUnavailable(ServiceUnavailable):
    default_message = UNAVAILABLE_MESSAGE


def storage_configured() -> bool:
    return bool(settings.RECORDINGS_S3_BUCKET)


@functools.lru_cache(maxsize=4)
def _client(endpoint: str, region: str, access_key: str, secret_key: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint or None,
        region_name=region,
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        # Short timeouts and no long retry loop: a request thread is waiting; tasks retry.
        config=Config(
            connect_timeout=3,
            read_timeout=10,
            retries={"max_attempts": 1},
            signature_version="s3v4",
            s3={"addressing_style": "path"},
        ),
    )


def client():
    return _client(
        settings.RECORDINGS_S3_ENDPOINT_URL,
        settings.RECORDINGS_S3_REGION,
        settings.RECORDINGS_S3_ACCESS_KEY,
        settings.RECORDINGS_S3_SECRET_KEY,
    )


def object_size(key: str) -> int | None:
    """The stored object's size, or None when there is no such object."""
    try:
        head = client().head_object(Bucket=settings.RECORDINGS_S3_BUCKET, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise StorageUnavailable() from exc
    except BotoCoreError as exc:
        raise StorageUnavailable() from exc
    return int(head["ContentLength"])


def delete_object(key: str) -> None:
    """Deletes the object (S3 deletes are idempotent: a missing key is fine)."""
    try:
        client().delete_object(Bucket=settings.RECORDINGS_S3_BUCKET, Key=key)
    except (ClientError, BotoCoreError) as exc:
        raise StorageUnavailable() from exc


def presigned_url(key: str) -> str:
    """A GET URL valid for RECORDINGS_URL_TTL_SECONDS; signed locally, no request.
    StorageUnavailable when it cannot be signed (no credentials configured)."""
    try:
        return client().generate_presigned_url(
            "get_object",
            Params={"Bucket": settings.RECORDINGS_S3_BUCKET, "Key": key},
            ExpiresIn=settings.RECORDINGS_URL_TTL_SECONDS,
        )
    except (ClientError, BotoCoreError) as exc:
        raise StorageUnavailable() from exc
