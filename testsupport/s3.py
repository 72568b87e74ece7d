"""A local S3 for tests: moto's server mode (real HTTP, the real S3 wire protocol), so
boto3 runs exactly as against AWS S3 or MinIO. `s3_server` points the RECORDINGS_S3_*
settings at it with a fresh bucket; `.stop()` makes storage unreachable, `.start()`
brings it back on the same port."""

from __future__ import annotations

import socket

import boto3
import pytest
from moto.server import ThreadedMotoServer

BUCKET = "morpheus-recordings"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class S3Server:
    def __init__(self):
        self.port = _free_port()
        self._server: ThreadedMotoServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3Server:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="test-access",
            aws_secret_access_key="test-secret",
        )


@pytest.fixture
def s3_server(settings):
    server = S3Server().start()
    server.client().create_bucket(Bucket=BUCKET)
    settings.RECORDINGS_S3_BUCKET = BUCKET
    settings.RECORDINGS_S3_ENDPOINT_URL = server.url
    settings.RECORDINGS_S3_REGION = "us-east-1"
    settings.RECORDINGS_S3_ACCESS_KEY = "test-access"
    settings.RECORDINGS_S3_SECRET_KEY = "test-secret"
    try:
        yield server
    finally:
        server.stop()
