"""Outbound SIP trunks: the carrier trunks LiveKit dials through, kept in step with LiveKit.

A trunk row mirrors one LiveKit outbound trunk (CreateSIPOutboundTrunk). LiveKit is asked
first and the row written after, so a trunk LiveKit rejects (400) or cannot be asked
about (503) leaves nothing behind; a row that fails to save after LiveKit said yes is
compensated by deleting the LiveKit trunk. The trunk's `numbers` in LiveKit are the
caller ids allowed on it: the E.164 of the phone numbers attached to it.
"""

from __future__ import annotations

import json
import logging
import re

from django.db import transaction
from livekit import api

from agents.validation import ErrorList
from calls import livekit_client
from calls.livekit_client import LiveKitUnavailable
from morpheus.errors import Conflict

from .models import PhoneNumber, SipTransport, SipTrunk

CALLS_IN_PROGRESS_MESSAGE = "SIP trunk with ID {id} has calls in progress"

logger = logging.getLogger(__name__)

NAME_MAX = 120
# host or host:port; LiveKit wants a host, not a SIP URI (no scheme, no user part).
ADDRESS = re.compile(r"^(?=.{1,255}$)[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9])?(?::\d{1,5})?$")
TRANSPORTS = {
    SipTransport.AUTO: api.SIPTransport.SIP_TRANSPORT_AUTO,
    SipTransport.UDP: api.SIPTransport.SIP_TRANSPORT_UDP,
    SipTransport.TCP: api.SIPTransport.SIP_TRANSPORT_TCP,
    SipTransport.TLS: api.SIPTransport.SIP_TRANSPORT_TLS,
}
PLATFORM_TRUNK_NAME = "Morpheus outbound"


def _livekit_info(trunk: SipTrunk, numbers: list[str]) -> api.SIPOutboundTrunkInfo:
    return api.SIPOutboundTrunkInfo(
        name=trunk.name,
        metadata=json.dumps({"managedBy": "morpheus", "customerId": str(trunk.customer_id or "")}),
        address=trunk.address,
        transport=TRANSPORTS[trunk.transport],
        # The platform trunk may present any of the platform's numbers as caller id.
        numbers=numbers or (["*"] if trunk.is_platform else []),
        auth_username=trunk.auth_username,
        auth_password=trunk.auth_password,
    )


def _clean(errors: ErrorList, trunk: SipTrunk, data: dict, *, creating: bool) -> list[PhoneNumber] | None:
    """Applies `data` to the in-memory trunk; returns the numbers to attach (None: unchanged)."""
    if "name" in data or creating:
        name = (data.get("name") or "").strip()
        if not name:
            errors.add("name", "This field is required.")
        elif len(name) > NAME_MAX:
            errors.add("name", f"Ensure this field has no more than {NAME_MAX} characters.")
        trunk.name = name
    if "address" in data or creating:
        address = (data.get("address") or "").strip()
        if not ADDRESS.match(address):
            errors.add("address", "Enter the carrier's SIP host or host:port, e.g. example.pstn.twilio.com")
        trunk.address = address
    if "transport" in data:
        if data["transport"] not in SipTransport.values:
            errors.add("transport", f"Must be one of: {', '.join(SipTransport.values)}")
        else:
            trunk.transport = data["transport"]
    if "auth_username" in data:
        trunk.auth_username = (data["auth_username"] or "").strip()
    if "auth_password" in data:
        trunk.auth_password = data["auth_password"] or ""
    if trunk.auth_password and not trunk.auth_username:
        errors.add("auth_username", "A password needs a username.")
    numbers = None
    if "phone_number_ids" in data:
        ids = data["phone_number_ids"] or []
        found = {
            n.pk: n for n in PhoneNumber.objects.select_for_update().filter(customer_id=trunk.customer_id, pk__in=ids)
        }
        for index, number_id in enumerate(ids):
            if number_id not in found:
                errors.add(f"phone_number_ids.{index}", f"Phone number with ID {number_id} does not exist")
        numbers = [found[i] for i in dict.fromkeys(ids) if i in found]
    return numbers


def _attach(trunk: SipTrunk, numbers: list[PhoneNumber] | None) -> None:
    if numbers is None:
        return
    PhoneNumber.objects.filter(sip_trunk=trunk).exclude(pk__in=[n.pk for n in numbers]).update(sip_trunk=None)
    PhoneNumber.objects.filter(pk__in=[n.pk for n in numbers]).update(sip_trunk=trunk)


def _numbers_of(trunk: SipTrunk, numbers: list[PhoneNumber] | None) -> list[str]:
    if numbers is not None:
        return [n.phone_number for n in numbers]
    if trunk.pk is None:
        return []
    return list(trunk.phone_numbers.values_list("phone_number", flat=True))


@transaction.atomic
def sip_trunk_create(*, customer, data: dict) -> SipTrunk:
    """A trunk for `customer` (None: the platform trunk). Raises ValidationError (400),
    LiveKitRefused (400), LiveKitUnavailable (503); nothing is created then."""
    trunk = SipTrunk(customer=customer)
    errors = ErrorList()
    numbers = _clean(errors, trunk, data, creating=True)
    errors.raise_if_any()
    created = livekit_client.create_sip_outbound_trunk(_livekit_info(trunk, _numbers_of(trunk, numbers)))
    try:
        trunk.livekit_trunk_id = created.sip_trunk_id
        with transaction.atomic():
            trunk.save()
            _attach(trunk, numbers)
    except Exception:
        _forget_livekit_trunk(created.sip_trunk_id)
        raise
    return trunk


@transaction.atomic
def sip_trunk_update(*, trunk: SipTrunk, data: dict) -> SipTrunk:
    """Changes the trunk here and replaces it in LiveKit (same errors as create)."""
    trunk = SipTrunk.objects.select_for_update().get(pk=trunk.pk)
    errors = ErrorList()
    numbers = _clean(errors, trunk, data, creating=False)
    errors.raise_if_any()
    info = _livekit_info(trunk, _numbers_of(trunk, numbers))
    if trunk.livekit_trunk_id:
        livekit_client.update_sip_outbound_trunk(trunk.livekit_trunk_id, info)
    else:
        trunk.livekit_trunk_id = livekit_client.create_sip_outbound_trunk(info).sip_trunk_id
    trunk.save()
    _attach(trunk, numbers)
    return trunk


@transaction.atomic
def sip_trunk_delete(*, trunk: SipTrunk) -> None:
    """Deletes the trunk in LiveKit, then here; refused (409) while a call dials through it."""
    from calls.models import OPEN_CALL_STATUSES, Call

    if Call.objects.filter(phone_number__sip_trunk=trunk, status__in=OPEN_CALL_STATUSES, direction="outbound").exists():
        raise Conflict(CALLS_IN_PROGRESS_MESSAGE.format(id=trunk.pk))
    if trunk.livekit_trunk_id:
        livekit_client.delete_sip_trunk(trunk.livekit_trunk_id)
    trunk.delete()


def _forget_livekit_trunk(trunk_id: str) -> None:
    try:
        livekit_client.delete_sip_trunk(trunk_id)
    except LiveKitUnavailable:
        logger.error("LiveKit outbound trunk %s was created but not saved; delete it by hand", trunk_id)


def platform_trunk() -> SipTrunk | None:
    return SipTrunk.objects.filter(customer__isnull=True).order_by("created_at").first()


def trunk_for_number(number: PhoneNumber) -> SipTrunk | None:
    """The trunk calls from `number` go through: its own, else the platform's."""
    if number.sip_trunk_id is not None:
        return number.sip_trunk
    return platform_trunk()


def platform_trunk_setup(*, address: str, transport: str = SipTransport.AUTO, auth_username="", auth_password=""):
    """`setup_livekit_sip --outbound`: creates or updates the one platform trunk. Returns
    (trunk, "created" | "updated")."""
    data = {
        "name": PLATFORM_TRUNK_NAME,
        "address": address,
        "transport": transport,
        "auth_username": auth_username,
        "auth_password": auth_password,
    }
    existing = platform_trunk()
    if existing is None:
        return sip_trunk_create(customer=None, data=data), "created"
    return sip_trunk_update(trunk=existing, data=data), "updated"
