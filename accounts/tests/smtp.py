"""A real SMTP server for tests (aiosmtpd): what Django's SMTP backend sends arrives
here over an actual SMTP conversation, and is parsed back into messages."""

import email
import socket
import threading
from email.message import EmailMessage
from email.policy import default as default_policy

from aiosmtpd.controller import Controller


class _Collector:
    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=default_policy)
        with self.arrived:
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.messages.append(message)
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    host = "127.0.0.1"

    def __init__(self):
        self.port = _free_port()
        self._collector = _Collector()
        self._controller = Controller(self._collector, hostname=self.host, port=self.port)

    def __enter__(self):
        self._controller.start()
        return self

    def __exit__(self, *exc):
        self._controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        return self._collector.messages

    @property
    def envelopes(self) -> list[tuple[str, list[str]]]:
        return self._collector.envelopes

    def wait_for(self, count: int, timeout: float = 30) -> list[EmailMessage]:
        """Blocks until `count` messages arrived (for mail sent by another thread)."""
        with self._collector.arrived:
            self._collector.arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
        return self.messages
