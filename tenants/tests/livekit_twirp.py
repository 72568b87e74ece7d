"""A tiny LiveKit server for tests: the Twirp RoomService.ListRooms call over real HTTP,
protobuf in and out, with the access token checked as LiveKit checks it."""

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from livekit.api import TokenVerifier
from livekit.protocol import models, room

LIST_ROOMS_PATH = "/twirp/livekit.RoomService/ListRooms"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def do_POST(self):
        server = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != LIST_ROOMS_PATH:
            self._twirp_error(404, "bad_route", f"no handler for {self.path}")
            return
        try:
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            claims = TokenVerifier(server.api_key, server.api_secret).verify(token)
        except Exception:
            self._twirp_error(401, "unauthenticated", "invalid token")
            return
        if not claims.video.room_list:
            self._twirp_error(403, "permission_denied", "roomList grant required")
            return
        server.requests.append(
            {"content_type": self.headers.get("Content-Type"), "request": room.ListRoomsRequest.FromString(body)}
        )
        payload = room.ListRoomsResponse(rooms=[models.Room(name=name) for name in server.rooms]).SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/protobuf")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _twirp_error(self, status, code, message):
        payload = json.dumps({"code": code, "msg": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@contextmanager
def livekit_server(*, api_key: str, api_secret: str, rooms=()):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.api_key, server.api_secret, server.rooms, server.requests = api_key, api_secret, list(rooms), []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        server.url = f"http://127.0.0.1:{server.server_address[1]}"
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
