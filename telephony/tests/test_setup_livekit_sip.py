"""`manage.py setup_livekit_sip` against the local LiveKit Twirp server: it creates the inbound
trunk and the callee dispatch rule once, updates them in place afterwards, and refuses
clearly (changing nothing) when it cannot proceed."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from livekit import api

from calls import livekit_client
from telephony.livekit_sip import CALL_ID_ATTRIBUTE, CALL_ID_HEADER, DISPATCH_RULE_NAME, INBOUND_TRUNK_NAME
from telephony.tests.factories import PhoneNumberFactory

pytestmark = pytest.mark.django_db

WRITES = ("CreateSIPInboundTrunk", "UpdateSIPInboundTrunk", "CreateSIPDispatchRule", "UpdateSIPDispatchRule")


def run(*args) -> str:
    out = StringIO()
    call_command("setup_livekit_sip", *args, stdout=out)
    return out.getvalue()


def writes(server) -> list[str]:
    return [r.method for r in server.requests if r.method in WRITES]


def the_trunk(server):
    [trunk] = server.inbound_trunks.values()
    return trunk


def the_rule(server):
    [rule] = server.dispatch_rules.values()
    return rule


def test_the_first_run_creates_the_trunk_and_the_callee_rule(livekit_server, settings):
    settings.LIVEKIT_SIP_URI = "sip:sip.example.com"
    PhoneNumberFactory.create_batch(2)

    out = run("--allowed-address", "192.0.2.0/24", "--allowed-address", "198.51.100.7")

    trunk, rule = the_trunk(livekit_server), the_rule(livekit_server)
    assert trunk.name == INBOUND_TRUNK_NAME and list(trunk.numbers) == []
    assert list(trunk.allowed_addresses) == ["192.0.2.0/24", "198.51.100.7/32"]
    assert dict(trunk.headers_to_attributes) == {CALL_ID_HEADER: CALL_ID_ATTRIBUTE}
    assert rule.name == DISPATCH_RULE_NAME and list(rule.trunk_ids) == [trunk.sip_trunk_id]
    callee = rule.rule.dispatch_rule_callee
    assert (rule.rule.WhichOneof("rule"), callee.room_prefix, callee.randomize) == (
        "dispatch_rule_callee",
        "call-",
        False,
    )
    assert f"inbound trunk {trunk.sip_trunk_id}: created" in out
    assert f"dispatch rule {rule.sip_dispatch_rule_id}: created" in out
    assert "accepts calls from: 192.0.2.0/24, 198.51.100.7/32" in out
    assert "phone numbers on the platform: 2" in out
    assert "Warning" not in out and out.rstrip().endswith("LiveKit SIP is set up.")


def test_a_second_run_finds_both_and_writes_nothing(livekit_server):
    run("--auth-username", "carrier", "--auth-password", "s3cret")
    first_trunk, first_rule = the_trunk(livekit_server).sip_trunk_id, the_rule(livekit_server).sip_dispatch_rule_id
    livekit_server.requests.clear()

    out = run()

    assert writes(livekit_server) == []
    assert the_trunk(livekit_server).sip_trunk_id == first_trunk  # still exactly one of each
    assert the_rule(livekit_server).sip_dispatch_rule_id == first_rule
    assert f"inbound trunk {first_trunk}: unchanged" in out and f"dispatch rule {first_rule}: unchanged" in out
    assert the_trunk(livekit_server).auth_username == "carrier"  # omitted options keep the trunk's


def test_changed_options_update_the_trunk_in_place(livekit_server):
    run()
    trunk_id = the_trunk(livekit_server).sip_trunk_id
    livekit_server.requests.clear()

    out = run("--allowed-address", "203.0.113.0/24")

    assert writes(livekit_server) == ["UpdateSIPInboundTrunk"]
    assert the_trunk(livekit_server).sip_trunk_id == trunk_id
    assert list(the_trunk(livekit_server).allowed_addresses) == ["203.0.113.0/24"]
    assert f"inbound trunk {trunk_id}: updated" in out

    run("--allow-any-address")
    assert list(the_trunk(livekit_server).allowed_addresses) == []


def test_a_rule_edited_by_hand_is_put_back(livekit_server):
    run()
    rule = the_rule(livekit_server)
    rule.rule.dispatch_rule_callee.randomize = True
    del rule.trunk_ids[:]

    out = run()

    rule = the_rule(livekit_server)
    assert rule.rule.dispatch_rule_callee.randomize is False
    assert list(rule.trunk_ids) == [the_trunk(livekit_server).sip_trunk_id]
    assert f"dispatch rule {rule.sip_dispatch_rule_id}: updated" in out


def test_it_warns_about_an_open_trunk_and_a_missing_sip_uri(livekit_server, settings):
    settings.LIVEKIT_SIP_URI = ""
    out = run()
    assert "Warning: The trunk accepts calls from any address" in out
    assert "Warning: LIVEKIT_SIP_URI is not set" in out


def test_a_dry_run_changes_nothing(livekit_server):
    out = run("--dry-run")
    assert writes(livekit_server) == [] and livekit_server.inbound_trunks == {}
    assert "inbound trunk: would be created" in out and "dispatch rule: would be created" in out
    assert out.rstrip().endswith("Dry run: nothing was changed.")


def test_duplicates_are_refused_before_anything_changes(livekit_server):
    for _ in range(2):  # someone created the trunk twice by hand
        livekit_client.create_sip_inbound_trunk(api.SIPInboundTrunkInfo(name=INBOUND_TRUNK_NAME))
    livekit_server.requests.clear()
    with pytest.raises(
        CommandError, match=r"LiveKit has 2 inbound trunks named 'Morpheus inbound' .*Nothing was changed"
    ):
        run()
    assert writes(livekit_server) == [] and livekit_server.dispatch_rules == {}


def test_bad_input_is_refused(livekit_server):
    with pytest.raises(CommandError, match="'10.0.0.300' is not an IP address or CIDR range"):
        run("--allowed-address", "10.0.0.300")
    with pytest.raises(CommandError, match="Give both the SIP auth username and password"):
        run("--auth-username", "carrier")
    with pytest.raises(CommandError, match="contradict"):
        run("--allowed-address", "10.0.0.1", "--allow-any-address")
    assert livekit_server.requests == []


def test_it_refuses_without_livekit(settings):
    settings.LIVEKIT_URL = ""
    with pytest.raises(CommandError, match="LiveKit is not configured"):
        run()


def test_livekit_down_is_a_clear_error(livekit_server):
    livekit_server.stop()
    with pytest.raises(CommandError, match="LiveKit did not answer as expected: .*Running the command again is safe"):
        run()


def test_a_failure_half_way_converges_on_the_next_run(livekit_server):
    livekit_server.fail_next("CreateSIPDispatchRule", code="internal")
    with pytest.raises(CommandError, match="internal"):
        run()
    assert len(livekit_server.inbound_trunks) == 1 and livekit_server.dispatch_rules == {}

    out = run()

    trunk = the_trunk(livekit_server)
    assert list(the_rule(livekit_server).trunk_ids) == [trunk.sip_trunk_id]
    assert f"inbound trunk {trunk.sip_trunk_id}: unchanged" in out and "dispatch rule" in out
    assert "created" in out.splitlines()[1]


def test_help_describes_the_command():
    from telephony.management.commands.setup_livekit_sip import Command

    parser = Command().create_parser("manage.py", "setup_livekit_sip")
    text = " ".join(parser.format_help().split())
    assert "inbound SIP trunk" in text and "--allowed-address" in text and "--dry-run" in text


def test_outbound_creates_then_updates_the_platform_trunk(livekit_server):

    from telephony.models import SipTrunk

    out = StringIO()
    call_command("setup_livekit_sip", "--outbound", "--outbound-address", "sip.carrier.example", stdout=out)
    trunk = SipTrunk.objects.get(customer__isnull=True)
    assert f"outbound trunk {trunk.livekit_trunk_id}: created" in out.getvalue()
    call_command(
        "setup_livekit_sip",
        "--outbound",
        "--outbound-address",
        "sip2.carrier.example",
        "--outbound-auth-username",
        "u",
        "--outbound-auth-password",
        "p",
        stdout=out,
    )
    assert SipTrunk.objects.count() == 1
    lk_trunk = livekit_server.outbound_trunks[trunk.livekit_trunk_id]
    assert (lk_trunk.address, lk_trunk.auth_username, lk_trunk.auth_password) == ("sip2.carrier.example", "u", "p")


def test_outbound_without_an_address_is_refused(livekit_server):

    with pytest.raises(CommandError, match="--outbound-address"):
        call_command("setup_livekit_sip", "--outbound")
    assert livekit_server.requests == []
