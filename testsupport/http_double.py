"""The base of every HTTP test double (LiveKit's Twirp API, the OpenAI stand-in, customer
webhook endpoints).

The servers they stand in for (Go's net/http, uvicorn, any production web server) set
TCP_NODELAY. `BaseHTTPRequestHandler` does not, and it writes a response's headers and body
in two sends: with Nagle on, the body waits for the client's delayed ACK of the headers,
and every request took 40 ms longer than the real server would (a LiveKit `CreateRoom`
measured 44 ms instead of under 1). Benchmarks that call a double would time that stall.
"""

from http.server import BaseHTTPRequestHandler


class DoubleHandler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # StreamRequestHandler sets TCP_NODELAY on each connection

    def log_message(self, format, *args):  # keep test output quiet
        return
