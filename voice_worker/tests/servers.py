"""Local servers speaking the real wire protocols the voice worker talks to.

- `OpenAICompatibleServer`: `POST /v1/chat/completions` (streaming SSE and plain JSON) and
  `GET /v1/models`, answering from a script, checking the bearer key.
- `TwirpServer`: LiveKit's Twirp API for the two calls the worker makes
  (`livekit.SIP/TransferSIPParticipant`, `livekit.RoomService/DeleteRoom`), decoding the
  protobuf bodies with `livekit.protocol` and checking the signed access token.
- `FunctionServer`: a customer's custom-function endpoint that verifies our signature.

Each runs in a thread on 127.0.0.1 with a free port, so it serves whichever event loop
or thread the code under test uses.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from testsupport.http_double import DoubleHandler
from voice_worker import functions


class _Server:
    handler_class: type[BaseHTTPRequestHandler]

    def __init__(self) -> None:
        handler = type("Handler", (self.handler_class,), {"owner": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()


class _Handler(DoubleHandler):
    owner: Any

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes, content_type: str = "application/json", headers=None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


# --- OpenAI-compatible ------------------------------------------------------------------


@dataclass
class ChatReply:
    """One scripted completion: text, and/or tool calls [(name, arguments dict)]."""

    text: str = ""
    tool_calls: list[tuple[str, dict]] = field(default_factory=list)
    status: int = 200  # anything else answers an OpenAI-style error
    delay: float = 0.0  # seconds before answering (a slow or hanging model)


class _OpenAIHandler(_Handler):
    def do_GET(self):
        if self.path.rstrip("/") == "/v1/models":
            self._send(200, json.dumps({"object": "list", "data": [{"id": "test-model", "object": "model"}]}).encode())
        else:
            self._send(404, b'{"error": {"message": "not found"}}')

    def do_POST(self):
        body = self._body()
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, b'{"error": {"message": "not found"}}')
            return
        if self.headers.get("Authorization") != f"Bearer {self.owner.api_key}":
            self._send(401, b'{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}')
            return
        request = json.loads(body)
        self.owner.requests.append(request)
        reply = self.owner.next_reply(request)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.status != 200:
            error = {"error": {"message": "scripted failure", "type": "server_error"}}
            self._send(reply.status, json.dumps(error).encode())
            return
        if request.get("stream"):
            self._stream(request, reply)
        else:
            self._send(200, json.dumps(self._completion(request, reply)).encode())

    def _completion(self, request, reply: ChatReply) -> dict:
        message: dict = {"role": "assistant", "content": reply.text or None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
                for i, (name, args) in enumerate(reply.tool_calls)
            ]
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "test-model"),
            "choices": [
                {"index": 0, "message": message, "finish_reason": "tool_calls" if reply.tool_calls else "stop"}
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
        }

    def _stream(self, request, reply: ChatReply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        model = request.get("model", "test-model")

        def chunk(delta: dict | None, finish_reason=None, usage=None) -> None:
            payload = {
                "id": "chatcmpl-test",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            }
            if usage is not None:
                payload["usage"] = usage
            self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
            self.wfile.flush()

        chunk({"role": "assistant", "content": ""})
        for word in reply.text.split(" ") if reply.text else []:
            chunk({"content": word + " "})
        for index, (name, args) in enumerate(reply.tool_calls):
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": f"call_{len(self.owner.requests)}_{index}",
                            "type": "function",
                            "function": {"name": name, "arguments": json.dumps(args)},
                        }
                    ]
                }
            )
        chunk({}, finish_reason="tool_calls" if reply.tool_calls else "stop")
        if (request.get("stream_options") or {}).get("include_usage"):
            chunk(None, usage={"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


class OpenAICompatibleServer(_Server):
    handler_class = _OpenAIHandler

    def __init__(
        self,
        replies: list[ChatReply] | None = None,
        *,
        api_key: str = "test-openai-key",
        responder: Callable[[dict], ChatReply] | None = None,
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.replies = list(replies or [])
        # Answers from the request itself (concurrent conversations), instead of `replies`.
        self.responder = responder
        self.requests: list[dict] = []
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def next_reply(self, request: dict | None = None) -> ChatReply:
        if self.responder is not None and request is not None:
            return self.responder(request)
        with self._lock:
            return self.replies.pop(0) if self.replies else ChatReply(text="(no scripted reply)")


# --- Custom function endpoint -----------------------------------------------------------


class _FunctionHandler(_Handler):
    def do_POST(self):
        body = self._body()
        owner = self.owner
        timestamp = self.headers.get(functions.TIMESTAMP_HEADER, "")
        signature = self.headers.get(functions.SIGNATURE_HEADER, "")
        valid = functions.verify(owner.secret, timestamp=timestamp, body=body, signature=signature)
        owner.calls.append({"body": json.loads(body), "signature_valid": valid, "path": self.path})
        if not valid:
            self._send(401, b'{"error": "bad signature"}')
            return
        status, payload = owner.respond(json.loads(body))
        if isinstance(payload, bytes):
            self._send(status, payload, content_type="text/plain")
        else:
            self._send(status, json.dumps(payload).encode())


class FunctionServer(_Server):
    handler_class = _FunctionHandler

    def __init__(self, secret: str, respond: Callable[[dict], tuple[int, Any]] | None = None) -> None:
        super().__init__()
        self.secret = secret
        self.respond = respond or (lambda body: (200, {"ok": True}))
        self.calls: list[dict] = []
