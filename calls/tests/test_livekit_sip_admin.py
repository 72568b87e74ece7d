"""The LiveKit client's SIP trunk and dispatch-rule calls, against the local Twirp server."""

import pytest
from livekit import api

from calls import livekit_client
from calls.livekit_client import LiveKitUnavailable


def test_it_creates_lists_and_replaces_inbound_trunks(livekit_server):
    created = livekit_client.create_sip_inbound_trunk(
        api.SIPInboundTrunkInfo(name="Trunk", allowed_addresses=["192.0.2.0/24"])
    )
    assert created.sip_trunk_id.startswith("ST_")
    [request] = livekit_server.requests_for("CreateSIPInboundTrunk", service="SIP")
    assert request.message.trunk.name == "Trunk" and request.claims.sip.admin is True
    assert [t.sip_trunk_id for t in livekit_client.list_sip_inbound_trunks()] == [created.sip_trunk_id]

    updated = livekit_client.update_sip_inbound_trunk(created.sip_trunk_id, api.SIPInboundTrunkInfo(name="Renamed"))
    assert (updated.sip_trunk_id, updated.name, list(updated.allowed_addresses)) == (
        created.sip_trunk_id,
        "Renamed",
        [],
    )
    [update] = livekit_server.requests_for("UpdateSIPInboundTrunk")
    assert update.message.WhichOneof("action") == "replace"


def test_it_creates_lists_and_replaces_dispatch_rules(livekit_server):
    rule = api.SIPDispatchRuleInfo(
        name="Rule",
        rule=api.SIPDispatchRule(dispatch_rule_callee=api.SIPDispatchRuleCallee(room_prefix="call-")),
    )
    created = livekit_client.create_sip_dispatch_rule(api.CreateSIPDispatchRuleRequest(dispatch_rule=rule))
    assert created.sip_dispatch_rule_id.startswith("SDR_")
    assert [r.name for r in livekit_client.list_sip_dispatch_rules()] == ["Rule"]
    rule.trunk_ids.append("ST_1")
    updated = livekit_client.update_sip_dispatch_rule(created.sip_dispatch_rule_id, rule)
    assert list(updated.trunk_ids) == ["ST_1"]
    assert livekit_server.dispatch_rules[created.sip_dispatch_rule_id].trunk_ids == ["ST_1"]


def test_sip_failures_are_unavailable(livekit_server):
    livekit_server.fail_next("ListSIPInboundTrunk", code="permission_denied")
    with pytest.raises(LiveKitUnavailable) as raised:
        livekit_client.list_sip_inbound_trunks()
    assert raised.value.twirp_code == "permission_denied"
    with pytest.raises(LiveKitUnavailable) as raised:
        livekit_client.update_sip_dispatch_rule("SDR_missing", api.SIPDispatchRuleInfo(name="x"))
    assert raised.value.twirp_code == "not_found"
