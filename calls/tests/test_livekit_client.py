"""The LiveKit client against the local Twirp server: wire format, auth, errors, timeouts."""

import datetime
import json

import pytest
from livekit import api

from calls import livekit_client
from calls.livekit_client import LiveKitUnavailable
from testsupport.forking import outcome_in_forked_child
from testsupport.livekit import LiveKitServer


def test_it_creates_a_room_with_protobuf_and_a_signed_token(livekit_server, settings):
    room = livekit_client.create_room("call-abc", empty_timeout=60, max_participants=3, metadata={"callId": 7})
    assert room.name == "call-abc" and room.sid.startswith("RM_")
    [request] = livekit_server.requests_for("CreateRoom")
    assert request.service == "RoomService" and request.content_type == "application/protobuf"
    assert request.message.name == "call-abc"
    assert request.message.empty_timeout == 60 and request.message.max_participants == 3
    assert json.loads(request.message.metadata) == {"callId": 7}
    assert request.claims.video.room_create is True
    assert livekit_server.rooms["call-abc"].metadata == '{"callId": 7}'


def test_it_dispatches_the_configured_agent_with_json_metadata(livekit_server, settings):
    settings.VOICE_AGENT_NAME = "my-agent"
    dispatch = livekit_client.create_agent_dispatch("call-abc", metadata={"callId": 7})
    assert dispatch.agent_name == "my-agent" and dispatch.room == "call-abc"
    [request] = livekit_server.requests_for("CreateDispatch", service="AgentDispatchService")
    assert json.loads(request.message.metadata) == {"callId": 7}
    assert request.claims.video.room_admin is True and request.claims.video.room == "call-abc"
    assert [d.id for d in livekit_client.list_agent_dispatches("call-abc")] == [dispatch.id]
    assert livekit_client.list_agent_dispatches("other-room") == []


def test_it_treats_a_room_that_is_already_gone_as_deleted(livekit_server):
    livekit_client.create_room("call-abc", empty_timeout=60, max_participants=3)
    assert livekit_client.delete_room("call-abc") is True
    assert livekit_client.delete_room("call-abc") is False
    assert "call-abc" not in livekit_server.rooms
    assert [r.message.room for r in livekit_server.requests_for("DeleteRoom")] == ["call-abc", "call-abc"]


def test_it_lists_rooms_and_participants(livekit_server):
    livekit_client.create_room("a", empty_timeout=10, max_participants=2)
    livekit_client.create_room("b", empty_timeout=10, max_participants=2)
    livekit_server.add_participant("a", "caller", kind=api.ParticipantInfo.Kind.SIP)
    assert sorted(r.name for r in livekit_client.list_rooms()) == ["a", "b"]
    assert [r.name for r in livekit_client.list_rooms(["b"])] == ["b"]
    assert [p.identity for p in livekit_client.list_participants("a")] == ["caller"]
    assert livekit_client.list_participants("missing") == []
    assert livekit_client.remove_participant("a", "caller") is True
    assert livekit_client.remove_participant("a", "caller") is False


def test_it_transfers_a_sip_participant(livekit_server):
    livekit_server.add_participant("call-x", "sip-caller", kind=api.ParticipantInfo.Kind.SIP)
    response = livekit_client.transfer_sip_participant("call-x", "sip-caller", "tel:+14155550100")
    assert response.status == api.SIPTransferStatus.STS_TRANSFER_SUCCESSFUL
    [transfer] = livekit_server.transfers
    assert transfer.transfer_to == "tel:+14155550100" and transfer.participant_identity == "sip-caller"
    [request] = livekit_server.requests_for("TransferSIPParticipant", service="SIP")
    assert request.claims.sip.call is True and request.claims.video.room == "call-x"


def test_it_signs_participant_tokens_for_one_room_only(livekit_server):
    token = livekit_client.participant_token(
        room_name="sim-1", identity="user-1", name="Alice", ttl=datetime.timedelta(minutes=10)
    )
    claims = api.TokenVerifier(livekit_server.api_key, livekit_server.api_secret).verify(token)
    assert claims.identity == "user-1" and claims.name == "Alice"
    assert claims.video.room_join is True and claims.video.room == "sim-1"
    assert not claims.video.room_admin and not claims.video.room_create and not claims.video.room_list


def test_it_maps_a_twirp_error_to_unavailable(livekit_server):
    livekit_server.fail_next("CreateRoom", code="internal", msg="boom")
    with pytest.raises(LiveKitUnavailable) as caught:
        livekit_client.create_room("x", empty_timeout=10, max_participants=2)
    assert caught.value.status_code == 503 and caught.value.twirp_code == "internal"
    assert caught.value.message == "Voice service is unavailable, please try again later"
    assert "x" not in livekit_server.rooms
    # Only the next call failed.
    livekit_client.create_room("x", empty_timeout=10, max_participants=2)
    assert "x" in livekit_server.rooms


def test_it_maps_a_refused_connection_to_unavailable(livekit_server):
    livekit_server.stop()
    with pytest.raises(LiveKitUnavailable) as caught:
        livekit_client.list_rooms()
    assert caught.value.twirp_code == "transport"


def test_it_maps_a_timeout_to_unavailable_and_the_loop_stays_usable(livekit_server, settings):
    settings.LIVEKIT_TIMEOUT_SECONDS = 0.2
    livekit_server.stall_next(1.0, "ListRooms")
    with pytest.raises(LiveKitUnavailable) as caught:
        livekit_client.list_rooms()
    assert caught.value.twirp_code == "timeout"
    livekit_client.create_room("after-timeout", empty_timeout=10, max_participants=2)
    assert "after-timeout" in livekit_server.rooms


def test_it_maps_a_wrong_secret_to_unavailable(livekit_server, settings):
    settings.LIVEKIT_API_SECRET = "not-the-secret-but-long-enough-for-hs256-keys"
    with pytest.raises(LiveKitUnavailable) as caught:
        livekit_client.list_rooms()
    assert caught.value.twirp_code == "unauthenticated"
    assert livekit_server.requests == []


@pytest.mark.parametrize("missing", ["LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"])
def test_it_refuses_when_not_configured(livekit_server, settings, missing):
    setattr(settings, missing, "")
    assert livekit_client.livekit_configured() is False
    with pytest.raises(LiveKitUnavailable) as caught:
        livekit_client.create_room("x", empty_timeout=10, max_participants=2)
    assert caught.value.message == "Voice service is not configured"
    with pytest.raises(LiveKitUnavailable):
        livekit_client.participant_token(room_name="x", identity="u", ttl=datetime.timedelta(minutes=1))
    assert livekit_server.requests == []


def test_it_runs_inside_a_running_event_loop(livekit_server):
    import asyncio

    async def from_async_code():
        return livekit_client.create_room("loop-room", empty_timeout=10, max_participants=2)

    assert asyncio.run(from_async_code()).name == "loop-room"


def test_the_async_variants_work(livekit_server):
    import asyncio

    async def flow():
        await livekit_client.acreate_room("r", empty_timeout=10, max_participants=2)
        await livekit_client.acreate_agent_dispatch("r", metadata={"callId": 1})
        return await livekit_client.adelete_room("r")

    assert asyncio.run(flow()) is True
    assert [r.method for r in livekit_server.requests] == ["CreateRoom", "CreateDispatch", "DeleteRoom"]


class TestTheFakeServer:
    """The double enforces what LiveKit enforces, so tests against it can fail."""

    def test_it_refuses_a_token_without_the_needed_grant(self, livekit_server):
        import asyncio

        async def list_with_wrong_grant():
            token = (
                api.AccessToken(livekit_server.api_key, livekit_server.api_secret)
                .with_grants(api.VideoGrants(room_join=True, room="r"))
                .with_identity("u")
                .to_jwt()
            )
            async with api.LiveKitAPI.with_token(token, livekit_server.url, failover=False) as lk:
                await lk.room.list_rooms(api.ListRoomsRequest())

        with pytest.raises(api.TwirpError) as caught:
            asyncio.run(list_with_wrong_grant())
        assert caught.value.code == "permission_denied" and caught.value.status == 403

    def test_it_answers_unknown_routes_with_bad_route(self):
        import urllib.error
        import urllib.request

        with LiveKitServer() as server:
            request = urllib.request.Request(f"{server.url}/twirp/livekit.Nope/Nothing", data=b"", method="POST")
            with pytest.raises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(request, timeout=5)
            assert caught.value.code == 404
            assert json.loads(caught.value.read())["code"] == "bad_route"

    def test_it_speaks_twirp_json_too(self):
        import urllib.request

        with LiveKitServer() as server:
            token = api.AccessToken(server.api_key, server.api_secret).with_grants(api.VideoGrants(room_create=True))
            request = urllib.request.Request(
                f"{server.url}/twirp/livekit.RoomService/CreateRoom",
                data=json.dumps({"name": "json-room", "emptyTimeout": 5}).encode(),
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {token.to_jwt()}"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                body = json.loads(response.read())
            assert body["name"] == "json-room" and body["emptyTimeout"] == 5
            assert server.requests_for("CreateRoom")[0].content_type == "application/json"

    def test_it_keeps_sip_trunks_and_dispatch_rules(self, livekit_server):
        import asyncio

        async def flow():
            async with api.LiveKitAPI(
                livekit_server.url, livekit_server.api_key, livekit_server.api_secret, failover=False
            ) as lk:
                trunk = await lk.sip.create_inbound_trunk(
                    api.CreateSIPInboundTrunkRequest(trunk=api.SIPInboundTrunkInfo(name="in", numbers=["+1415"]))
                )
                await lk.sip.update_inbound_trunk_fields(trunk.sip_trunk_id, name="renamed")
                rule = await lk.sip.create_dispatch_rule(
                    api.CreateSIPDispatchRuleRequest(
                        dispatch_rule=api.SIPDispatchRuleInfo(
                            name="rooms",
                            rule=api.SIPDispatchRule(
                                dispatch_rule_callee=api.SIPDispatchRuleCallee(room_prefix="call-")
                            ),
                        )
                    )
                )
                trunks = await lk.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest())
                rules = await lk.sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest())
                return trunk, rule, trunks, rules

        trunk, rule, trunks, rules = asyncio.run(flow())
        assert [t.name for t in trunks.items] == ["renamed"]
        assert [r.sip_dispatch_rule_id for r in rules.items] == [rule.sip_dispatch_rule_id]
        assert livekit_server.dispatch_rules[rule.sip_dispatch_rule_id].rule.dispatch_rule_callee.room_prefix == "call-"
        assert all(r.claims.sip.admin for r in livekit_server.requests)


# --- One loop and one HTTP session per process (calls/livekit_loop.py) -----------------


def test_requests_reuse_one_connection(livekit_server):
    livekit_client.create_room("reuse-room", empty_timeout=10, max_participants=2)
    livekit_client.create_agent_dispatch("reuse-room", metadata={"callId": 1})
    livekit_client.list_rooms()
    assert len(livekit_server.requests) == 3
    assert livekit_server.connections == 1


def test_threads_share_the_loop_and_the_pool(livekit_server):
    from concurrent.futures import ThreadPoolExecutor

    def create(index: int) -> str:
        return livekit_client.create_room(f"room-{index}", empty_timeout=10, max_participants=2).name

    with ThreadPoolExecutor(max_workers=8) as pool:
        names = list(pool.map(create, range(40)))
    assert names == [f"room-{index}" for index in range(40)]
    assert set(livekit_server.rooms) == set(names)
    # The pool keeps at most a connection per request in flight, never one per request.
    assert livekit_server.connections <= 8


def test_the_sync_wait_is_bounded_too(livekit_server, monkeypatch):
    """Even if the operation's own timeout never fired, the caller gets a 503 in time."""
    import asyncio

    async def hangs():
        await asyncio.sleep(30)

    monkeypatch.setattr(livekit_client, "SYNC_GRACE_SECONDS", 0.0)
    with pytest.raises(LiveKitUnavailable) as caught:
        livekit_client._run(hangs(), timeout=0.2)
    assert caught.value.twirp_code == "timeout"


def test_an_async_caller_on_its_own_loop_uses_the_shared_session(livekit_server):
    import asyncio

    async def flow():
        await livekit_client.acreate_room("async-room", empty_timeout=10, max_participants=2)
        return await livekit_client.alist_rooms()

    assert [room.name for room in asyncio.run(flow())] == ["async-room"]
    assert [room.name for room in asyncio.run(flow())] == ["async-room"]  # a second, new caller loop
    assert livekit_server.connections == 1


def test_a_forked_child_gets_its_own_loop(livekit_server):
    import gc

    livekit_client.list_rooms()  # the parent's loop thread and session exist

    def in_the_child():  # the parent's loop thread was not copied
        livekit_client.create_room("from-child", empty_timeout=10, max_participants=2)
        gc.collect()  # what the parent shares with the child must survive the child's collector

    outcome = outcome_in_forked_child(in_the_child)
    assert outcome == "ok"
    assert "from-child" in livekit_server.rooms
    livekit_client.list_rooms()  # the parent's loop still works


def test_it_moves_a_participant_between_rooms_on_livekit_cloud(livekit_server):
    livekit_server.add_participant("call-x-human-agent", "human-agent-sip", kind=api.ParticipantInfo.Kind.SIP)
    livekit_client.move_participant("call-x-human-agent", "human-agent-sip", "call-x")
    assert list(livekit_server.participants["call-x"]) == ["human-agent-sip"]
    assert livekit_server.participants["call-x-human-agent"] == {}
    [request] = livekit_server.requests_for("MoveParticipant", service="RoomService")
    assert request.claims.video.room == "call-x-human-agent" and request.claims.video.destination_room == "call-x"


def test_self_hosted_livekit_server_cannot_move_participants(livekit_server):
    """livekit-server answers HTTP 500 `unknown` "not implemented": MoveNotSupported, which
    the warm transfer falls back on (a plain LiveKitUnavailable would fail the transfer)."""
    livekit_server.self_hosted = True
    livekit_server.add_participant("call-x-human-agent", "human-agent-sip", kind=api.ParticipantInfo.Kind.SIP)
    with pytest.raises(livekit_client.MoveNotSupported) as caught:
        livekit_client.move_participant("call-x-human-agent", "human-agent-sip", "call-x")
    assert (caught.value.twirp_code, caught.value.server_message) == ("unknown", "not implemented")
    assert "HTTP 500" in caught.value.reason
    assert list(livekit_server.participants["call-x-human-agent"]) == ["human-agent-sip"]


@pytest.mark.parametrize(
    ("code", "msg", "unsupported"),
    [
        ("unimplemented", "MoveParticipant is not available", True),  # Twirp's own code for it
        ("bad_route", "no handler for RoomService/MoveParticipant", True),  # a server older than the API
        ("unknown", "participant client version does not support moving", False),  # Cloud: the client's fault
        ("internal", "boom", False),
        ("not_found", "participant does not exist", False),
    ],
)
def test_only_a_missing_move_api_counts_as_not_supported(livekit_server, code, msg, unsupported):
    livekit_server.add_participant("a", "human", kind=api.ParticipantInfo.Kind.SIP)
    livekit_server.fail_next("MoveParticipant", code=code, msg=msg)
    with pytest.raises(LiveKitUnavailable) as caught:
        livekit_client.move_participant("a", "human", "b")
    assert isinstance(caught.value, livekit_client.MoveNotSupported) is unsupported
    assert caught.value.twirp_code == code
