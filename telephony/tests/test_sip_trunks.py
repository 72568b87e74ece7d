"""/sip-trunks: outbound carrier trunks, created in LiveKit (the Twirp double) then here."""

import pytest
from django.db import connection
from livekit import api

from telephony import trunks
from telephony.models import PhoneNumber, SipTrunk
from telephony.tests.factories import PhoneNumberFactory
from tenants.tests.cross_tenant import MANAGERS, Action, ResourceMatrix
from testsupport.api import assert_error, assert_success

pytestmark = pytest.mark.django_db

URL = "/api/v1/sip-trunks"


def trunk_body(**overrides):
    body = {
        "name": "Twilio US",
        "address": "morpheus.pstn.twilio.com",
        "transport": "tls",
        "authUsername": "morpheus",
        "authPassword": "s3cret-pass",
    }
    return {**body, **overrides}


def test_it_creates_the_trunk_in_livekit_then_here(alice_client, customer_a, livekit_server):
    number = PhoneNumberFactory(customer=customer_a, phone_number="+14155550100")
    response = alice_client.post(URL, trunk_body(phoneNumberIds=[number.id]), format="json")
    data = assert_success(response, 201, "SIP trunk created successfully")

    [sent] = livekit_server.messages("CreateSIPOutboundTrunk")
    assert sent.trunk.address == "morpheus.pstn.twilio.com"
    assert sent.trunk.transport == api.SIPTransport.SIP_TRANSPORT_TLS
    assert list(sent.trunk.numbers) == ["+14155550100"]
    assert (sent.trunk.auth_username, sent.trunk.auth_password) == ("morpheus", "s3cret-pass")
    trunk = SipTrunk.objects.get()
    assert data == {
        "id": trunk.id,
        "name": "Twilio US",
        "address": "morpheus.pstn.twilio.com",
        "transport": "tls",
        "authUsername": "morpheus",
        "hasPassword": True,
        "phoneNumbers": [{"id": number.id, "phoneNumber": "+14155550100"}],
        "livekitTrunkId": trunk.livekit_trunk_id,
        "createdAt": data["createdAt"],
        "updatedAt": data["updatedAt"],
    }
    assert trunk.livekit_trunk_id in livekit_server.outbound_trunks
    number.refresh_from_db()
    assert number.sip_trunk_id == trunk.id
    # Encrypted at rest: the column never holds the password.
    with connection.cursor() as cursor:
        cursor.execute("SELECT auth_password FROM telephony_siptrunk WHERE id = %s", [trunk.id])
        assert "s3cret-pass" not in cursor.fetchone()[0]
    assert trunk.auth_password == "s3cret-pass"


def test_a_trunk_livekit_rejects_is_a_400_and_nothing_is_created(alice_client, livekit_server):
    livekit_server.fail_next("CreateSIPOutboundTrunk", code="invalid_argument", msg="unsupported transport")
    response = alice_client.post(URL, trunk_body(), format="json")
    assert_error(response, 400, "LiveKit refused the request: unsupported transport")
    assert not SipTrunk.objects.exists()


def test_livekit_down_is_a_503_and_nothing_is_created(alice_client, livekit_server):
    livekit_server.stop()
    assert_error(alice_client.post(URL, trunk_body(), format="json"), 503)
    assert not SipTrunk.objects.exists()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": "", "address": "host.example.com"}, ["name"]),
        ({"name": "x", "address": "sip:user@host.example.com"}, ["address"]),
        ({"name": "x", "address": "host.example.com", "authPassword": "p"}, ["authUsername"]),
        ({"name": "x", "address": "host.example.com", "transport": "carrier-pigeon"}, ["transport"]),
    ],
)
def test_bad_input_is_refused_before_livekit_is_asked(alice_client, livekit_server, body, fields):
    assert_error(alice_client.post(URL, body, format="json"), 400, fields=fields)
    assert livekit_server.requests == [] and not SipTrunk.objects.exists()


def test_another_tenants_number_cannot_be_attached(alice_client, customer_b, livekit_server):
    theirs = PhoneNumberFactory(customer=customer_b)
    response = alice_client.post(URL, trunk_body(phoneNumberIds=[theirs.id]), format="json")
    body = assert_error(response, 400, fields=["phoneNumberIds.0"])
    assert body["errors"][0]["message"] == f"Phone number with ID {theirs.id} does not exist"
    assert livekit_server.requests == [] and PhoneNumber.objects.get(pk=theirs.pk).sip_trunk_id is None


def test_update_replaces_the_trunk_in_livekit_and_keeps_the_password(alice_client, customer_a, livekit_server):
    trunk = trunks.sip_trunk_create(
        customer=customer_a, data={"name": "A", "address": "a.example.com", "auth_username": "u", "auth_password": "p"}
    )
    response = alice_client.patch(f"{URL}/{trunk.id}", {"address": "b.example.com:5061"}, format="json")
    data = assert_success(response, 200, "SIP trunk updated successfully")
    assert data["address"] == "b.example.com:5061" and data["hasPassword"] is True
    [sent] = livekit_server.messages("UpdateSIPOutboundTrunk")
    assert sent.sip_trunk_id == trunk.livekit_trunk_id
    assert sent.replace.address == "b.example.com:5061" and sent.replace.auth_password == "p"
    assert livekit_server.outbound_trunks[trunk.livekit_trunk_id].address == "b.example.com:5061"


def test_delete_removes_it_from_livekit(alice_client, customer_a, livekit_server):
    trunk = trunks.sip_trunk_create(customer=customer_a, data={"name": "A", "address": "a.example.com"})
    assert_success(alice_client.delete(f"{URL}/{trunk.id}"), 200, "SIP trunk deleted successfully")
    assert not SipTrunk.objects.exists() and livekit_server.outbound_trunks == {}


class TestSipTrunksMatrix(ResourceMatrix):
    list_url = URL
    list_key = "sipTrunks"
    not_found_label = "SIP trunk"
    actions = {
        "list": Action("get", on="list", message="SIP trunks retrieved successfully"),
        "create": Action("post", on="list", payload=trunk_body(), status=201, message="SIP trunk created successfully"),
        "retrieve": Action("get", message="SIP trunk retrieved successfully"),
        "update": Action("patch", payload={"name": "Hijacked"}, message="SIP trunk updated successfully"),
        "delete": Action("delete", message="SIP trunk deleted successfully"),
    }
    # Trunks carry carrier credentials: members neither see nor change them.
    roles = dict.fromkeys(actions, MANAGERS)
    query_rows = (1, 5)

    @pytest.fixture(autouse=True)
    def _livekit(self, livekit_server):
        self.livekit = livekit_server

    def make_object(self, customer):
        return trunks.sip_trunk_create(customer=customer, data={"name": "Trunk", "address": "t.example.com"})

    def make_row(self, customer, index):
        # Each trunk with a number: the list shows its numbers.
        trunk = self.make_object(customer)
        PhoneNumberFactory(customer=customer, sip_trunk=trunk)
        return trunk

    def check_data(self, name, data, obj, customer):
        super().check_data(name, data, obj, customer)
        if name == "create":
            assert data["livekitTrunkId"] in self.livekit.outbound_trunks


def test_the_platform_trunk_is_set_up_once_and_updated_after(livekit_server):
    trunk, outcome = trunks.platform_trunk_setup(address="sip.carrier.example")
    assert outcome == "created" and trunk.customer_id is None
    assert list(livekit_server.outbound_trunks[trunk.livekit_trunk_id].numbers) == ["*"]
    again, outcome = trunks.platform_trunk_setup(address="sip2.carrier.example")
    assert outcome == "updated" and again.pk == trunk.pk and SipTrunk.objects.count() == 1
