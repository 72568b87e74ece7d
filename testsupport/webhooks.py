"""A real local HTTP receiver for webhook tests: records every request (headers and raw
body) and answers with whatever the test scripts (a status, a delay, a redirect). It can
be stopped and started again on the same port (receiver down, then up)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import ThreadingHTTPServer

from testsupport.http_double import DoubleHandler


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0
    headers: dict | None = None


class _Handler(DoubleHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        owner: WebhookReceiver = self.server.owner  # type: ignore[attr-defined]
        received = Received(path=self.path, headers={k.lower(): v for k, v in self.headers.items()}, body=body)
        with owner.lock:
            owner.requests.append(received)
        reply = owner.respond(received)
        if reply.delay:
            owner.released.wait(reply.delay)
        try:
            self.send_response(reply.status)
            for key, value in (reply.headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:  # the client gave up (timeout)
            pass


class WebhookReceiver:
    def __init__(self, respond: Callable[[Received], Reply] | None = None):
        self.respond = respond or (lambda received: Reply())
        self.requests: list[Received] = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> WebhookReceiver:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        server.daemon_threads = True
        server.owner = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.released = threading.Event()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} request(s), got {len(self.requests)}")

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
