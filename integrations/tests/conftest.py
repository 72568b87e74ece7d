import pytest

from testsupport.webhooks import WebhookReceiver


@pytest.fixture
def receiver():
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def local_webhooks(settings):
    """The local receiver is plain HTTP on 127.0.0.1: allowed only by the development flag."""
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 2.0
    return settings
