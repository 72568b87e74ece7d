"""Custom function calls: signing, and every way an endpoint can fail."""

import json
import time

import pytest
from asgiref.sync import async_to_sync

from voice_worker import functions
from voice_worker.config import CallInfo, FunctionSpec

from .servers import FunctionServer, _Handler, _Server

SECRET = "customer-signing-secret-0123456789abcdef"
CALL = CallInfo(
    call_id=7,
    customer_id="c-1",
    agent_id=3,
    direction="inbound",
    from_number="+14155550199",
    to_number="+14155550100",
    room_name="call-1",
    is_simulation=False,
)


def invoke(url, arguments=None, *, timeout=2.0, allow_private=True, name="lookup"):
    spec = FunctionSpec(name=name, description="", parameters={"type": "object"}, url=url)
    return async_to_sync(functions.invoke)(
        spec, arguments or {}, call=CALL, secret=SECRET, timeout=timeout, allow_private=allow_private
    )


def test_the_signature_covers_the_timestamp_and_the_raw_body():
    body = b'{"a":1}'
    signature = functions.sign(SECRET, "1700000000", body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert functions.verify(SECRET, timestamp="1700000000", body=body, signature=signature, now=1700000010)
    assert not functions.verify(SECRET, timestamp="1700000000", body=b'{"a":2}', signature=signature, now=1700000010)
    assert not functions.verify("other-secret", timestamp="1700000000", body=body, signature=signature, now=1700000010)
    # A replayed request (old timestamp) and a forged timestamp are refused.
    assert not functions.verify(SECRET, timestamp="1700000000", body=body, signature=signature, now=1700009999)
    assert not functions.verify(SECRET, timestamp="1700000001", body=body, signature=signature, now=1700000010)
    assert not functions.verify(SECRET, timestamp="soon", body=body, signature=signature)


def test_it_posts_the_signed_call_and_returns_the_json_answer():
    with FunctionServer(SECRET, respond=lambda body: (200, {"balance": 42})) as server:
        assert invoke(f"{server.url}/balance", {"account": "x"}) == {"balance": 42}
    [received] = server.calls
    assert received["signature_valid"]
    assert received["body"] == {"function": "lookup", "arguments": {"account": "x"}, "call": CALL.as_payload()}


def test_an_empty_answer_is_no_result():
    with FunctionServer(SECRET, respond=lambda body: (204, b"")) as server:
        assert invoke(server.url) is None


@pytest.mark.parametrize(
    ("respond", "message"),
    [
        (lambda body: (200, b"not json at all"), "answered with something that is not JSON"),
        (lambda body: (404, {"error": "nope"}), "failed with HTTP status 404"),
        (lambda body: (200, b"x" * (functions.MAX_RESPONSE_BYTES + 10)), "answered with more than"),
    ],
    ids=["garbage", "http-error", "too-large"],
)
def test_bad_answers_become_errors_for_the_model(respond, message):
    with FunctionServer(SECRET, respond=respond) as server, pytest.raises(functions.FunctionCallError) as error:
        invoke(server.url)
    assert message in str(error.value) and "`lookup`" in str(error.value)


def test_a_slow_endpoint_times_out():
    def slow(body):
        time.sleep(1.0)
        return 200, {}

    with FunctionServer(SECRET, respond=slow) as server, pytest.raises(functions.FunctionCallError) as error:
        invoke(server.url, timeout=0.2)
    assert str(error.value) == "The function `lookup` did not answer within 0.2 seconds."


def test_an_unreachable_endpoint_is_an_error():
    with FunctionServer(SECRET) as server:
        url = server.url
    with pytest.raises(functions.FunctionCallError) as error:
        invoke(url)
    assert "could not be reached" in str(error.value)


class _Redirect(_Handler):
    def do_POST(self):
        self._body()
        self.owner.hits += 1
        self._send(302, b"{}", headers={"Location": "http://169.254.169.254/latest/meta-data"})


class RedirectServer(_Server):
    handler_class = _Redirect

    def __init__(self):
        super().__init__()
        self.hits = 0


def test_redirects_are_not_followed():
    with RedirectServer() as server, pytest.raises(functions.FunctionCallError) as error:
        invoke(server.url)
    assert server.hits == 1 and "HTTP status 302" in str(error.value)


@pytest.mark.parametrize(
    "url",
    ["https://127.0.0.1/hook", "https://10.0.0.5/hook", "https://[::1]/hook", "https://169.254.169.254/latest"],
)
def test_private_addresses_are_refused_by_default(url):
    with pytest.raises(functions.FunctionCallError) as error:
        invoke(url, allow_private=False)
    assert "private address" in str(error.value)


def test_names_resolving_to_private_addresses_are_refused_by_default():
    with FunctionServer(SECRET) as server:
        url = server.url.replace("http://127.0.0.1", "https://localhost")
        with pytest.raises(functions.FunctionCallError) as error:
            invoke(url, allow_private=False)
    assert "private address" in str(error.value)
    assert server.calls == []


def test_plain_http_is_refused_by_default():
    with pytest.raises(functions.FunctionCallError) as error:
        invoke("http://example.com/hook", allow_private=False)
    assert str(error.value) == "The function `lookup` must use HTTPS."


def test_the_request_body_is_compact_json():
    spec = FunctionSpec(name="f", description="", parameters={}, url="https://x")
    assert json.loads(functions.request_body(spec, {"q": "é"}, CALL)) == {
        "function": "f",
        "arguments": {"q": "é"},
        "call": CALL.as_payload(),
    }
