"""Writes for the phone-number inventory (the configuration side of telephony).

Carrier webhooks and LiveKit SIP live in their own modules; this file is only
about which numbers a tenant owns and which agent answers them.
"""

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from livekit import api

from agents.models import Agent
from agents.validation import ErrorList, clean_text
from calls import livekit_client
from calls.models import OPEN_CALL_STATUSES, Call
from morpheus.e164 import InvalidNumber, country_for, normalize_country, parse_e164
from morpheus.errors import Conflict
from morpheus.services import model_save_changed
from tenants.models import Customer

from . import livekit_sip
from .models import Carrier, PhoneNumber

FRIENDLY_NAME_MAX = 120
CAPABILITIES = ("voice", "sms")
# The same answer whoever owns the number: another tenant's inventory is not revealed.
DUPLICATE_MESSAGE = "Phone number already exists"
ON_CALL_MESSAGE = "Phone number is on an active call; end the call before deleting the number"
PHONE_NUMBER_FIELDS = frozenset({"phone_number", "friendly_name", "country", "capabilities", "carrier", "agent_id"})


def _clean_capabilities(errors: ErrorList, value: Any) -> list[str] | None:
    if not isinstance(value, list) or not value:
        errors.add("capabilities", f"Must be a non-empty list of: {', '.join(CAPABILITIES)}")
        return None
    unknown = [item for item in value if item not in CAPABILITIES]
    if unknown:
        errors.add("capabilities", f"Unknown capability {unknown[0]!r}; use {', '.join(CAPABILITIES)}")
        return None
    return [capability for capability in CAPABILITIES if capability in value]


def _tenant_agent(errors: ErrorList, customer: Customer, agent_id: Any) -> Agent | None:
    """The customer's agent, row-locked so a concurrent delete waits for this write.
    Another tenant's id gets the same message as a missing one."""
    if isinstance(agent_id, bool) or not isinstance(agent_id, int):
        errors.add("agent_id", "A valid integer is required.")
        return None
    agent = Agent.objects.select_for_update().filter(customer=customer, pk=agent_id).first()
    if agent is None:
        errors.add("agent_id", f"Agent with ID {agent_id} does not exist")
    return agent


def phone_number_validate(*, phone_number: PhoneNumber, data: dict[str, Any]) -> set[str]:
    """Applies `data` (model field names, `agent_id` for the agent) to the in-memory
    number and validates it; returns the changed fields. Raises Django's
    ValidationError naming every bad field (the number must then be discarded).
    Shared by the API and Django admin."""
    number = phone_number
    errors = ErrorList()
    unknown = set(data) - PHONE_NUMBER_FIELDS
    if unknown:
        raise TypeError(f"Not phone-number fields: {', '.join(sorted(unknown))}")
    creating = number._state.adding
    changed: set[str] = set()

    def assign(field: str, value: Any) -> None:
        if creating or getattr(number, field) != value:
            setattr(number, field, value)
            changed.add(field)

    parsed = None
    if creating and "phone_number" not in data:
        errors.add("phone_number", "This field is required.")
    elif "phone_number" in data:
        try:
            parsed = parse_e164(data["phone_number"])
        except InvalidNumber as exc:
            errors.add("phone_number", str(exc))
        else:
            if not creating and parsed.e164 != number.phone_number:
                errors.add("phone_number", "A number cannot be changed; add the new number and delete this one")
            else:
                assign("phone_number", parsed.e164)
    if "country" in data or (creating and parsed):
        try:
            country = normalize_country(data.get("country"))
            if parsed is None and not errors.has("phone_number"):
                parsed = parse_e164(number.phone_number)
            if parsed is not None:
                assign("country", country_for(parsed, country))
        except InvalidNumber as exc:
            errors.add("country", str(exc))
    if "friendly_name" in data:
        name = clean_text(errors, "friendly_name", data["friendly_name"], max_length=FRIENDLY_NAME_MAX)
        if name is not None:
            assign("friendly_name", name)
    if "capabilities" in data:
        capabilities = _clean_capabilities(errors, data["capabilities"])
        if capabilities is not None:
            assign("capabilities", capabilities)
    if "carrier" in data:
        if data["carrier"] not in Carrier.values:
            errors.add("carrier", f"Must be one of: {', '.join(Carrier.values)}")
        else:
            assign("carrier", data["carrier"])
    if "agent_id" in data:
        if data["agent_id"] is None:
            if number.agent_id is not None:
                number.agent = None
                changed.add("agent")
        elif data["agent_id"] != number.agent_id:
            agent = _tenant_agent(errors, number.customer, data["agent_id"])
            if agent is not None:
                number.agent = agent
                changed.add("agent")
    errors.raise_if_any()
    return changed


@transaction.atomic
def phone_number_create(*, customer: Customer, data: dict[str, Any]) -> PhoneNumber:
    """Adds a number the customer already routes to us (BYO carrier); nothing is bought.

    `data` uses model field names (`agent_id` to assign an agent of the same customer).
    A number already on the platform, whoever owns it, is a 409.
    """
    number = PhoneNumber(customer=customer)
    phone_number_validate(phone_number=number, data=data)
    if PhoneNumber.objects.filter(phone_number=number.phone_number).exists():
        raise Conflict(DUPLICATE_MESSAGE)
    try:
        # A savepoint: a concurrent insert of the same number loses here, not with a 500.
        with transaction.atomic():
            number.save()
    except IntegrityError:
        raise Conflict(DUPLICATE_MESSAGE)
    return number


@transaction.atomic
def phone_number_update(*, phone_number: PhoneNumber, data: dict[str, Any]) -> PhoneNumber:
    """Rename, (un)assign an agent (`agent_id` None unassigns), capabilities, carrier,
    country. The number itself is fixed."""
    model_save_changed(phone_number, phone_number_validate(phone_number=phone_number, data=data))
    return phone_number


@transaction.atomic
def phone_number_delete(*, phone_number: PhoneNumber) -> None:
    """Refused (409) while a call on the number is ringing or in progress; call
    history keeps its rows (their number becomes null)."""
    phone_number = PhoneNumber.objects.select_for_update().get(pk=phone_number.pk)
    if Call.objects.filter(phone_number=phone_number, status__in=OPEN_CALL_STATUSES).exists():
        raise Conflict(ON_CALL_MESSAGE)
    phone_number.delete()


# --- LiveKit SIP set-up (the `setup_livekit_sip` command) ---------------------------
# One inbound trunk and one callee dispatch rule put every carrier call into its call's
# room (telephony/livekit_sip.py explains the routing). Both are found by name, so a
# second run updates them in place (and writes nothing when they already match).


class SipSetupRefused(Exception):
    """The set-up cannot proceed as asked; nothing was changed in LiveKit."""


@dataclass(frozen=True)
class SipSetupStep:
    kind: str  # "inbound trunk" / "dispatch rule"
    id: str
    outcome: str  # "created", "updated", "unchanged" (or "would be ..." in a dry run)
    info: Any  # the livekit SIPInboundTrunkInfo / SIPDispatchRuleInfo as it is (or would be)


@dataclass(frozen=True)
class SipSetupResult:
    trunk: SipSetupStep
    rule: SipSetupStep
    phone_numbers: int
    warnings: list[str]


def _named(items: Iterable[Any], name: str, kind: str, id_field: str) -> Any:
    matches = [item for item in items if item.name == name]
    if len(matches) > 1:
        ids = ", ".join(getattr(item, id_field) for item in matches)
        raise SipSetupRefused(
            f"LiveKit has {len(matches)} {kind}s named {name!r} ({ids}); delete the extra ones and run again"
        )
    return matches[0] if matches else None


def _same(current: Any, desired: Any, id_field: str) -> bool:
    """Equal but for the server-assigned id and timestamps."""
    left, right = type(current)(), type(desired)()
    left.CopyFrom(current)
    right.CopyFrom(desired)
    for message in (left, right):
        for field in (id_field, "created_at", "updated_at"):
            message.ClearField(field)
    return bool(left == right)


def _check_addresses(addresses: list[str]) -> list[str]:
    cleaned = []
    for address in addresses:
        try:
            cleaned.append(str(ipaddress.ip_network(address.strip(), strict=False)))
        except ValueError:
            raise SipSetupRefused(f"{address!r} is not an IP address or CIDR range") from None
    return cleaned


def livekit_sip_setup(
    *,
    allowed_addresses: list[str] | None = None,
    auth_username: str | None = None,
    auth_password: str | None = None,
    dry_run: bool = False,
) -> SipSetupResult:
    """Creates or updates the inbound trunk and the dispatch rule phone calls need.

    `allowed_addresses` (the carriers' signalling IPs/CIDRs) and the digest credentials
    replace the trunk's when given; None keeps what the trunk has ([] / "" clears them).
    The trunk has no `numbers` filter: carriers dial `sip:<room suffix>@<LiveKit SIP>`,
    not the phone number, so a numbers filter would refuse every call. Raises
    SipSetupRefused (nothing changed) or LiveKitUnavailable.
    """
    if not livekit_client.livekit_configured():
        raise SipSetupRefused("LiveKit is not configured: set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET")
    if allowed_addresses is not None:
        allowed_addresses = _check_addresses(allowed_addresses)
    if (auth_username is None) != (auth_password is None) or bool(auth_username) != bool(auth_password):
        raise SipSetupRefused("Give both the SIP auth username and password, or neither")

    # Read everything first: a refusal below leaves LiveKit exactly as it was.
    trunk = _named(
        livekit_client.list_sip_inbound_trunks(), livekit_sip.INBOUND_TRUNK_NAME, "inbound trunk", "sip_trunk_id"
    )
    rule = _named(
        livekit_client.list_sip_dispatch_rules(),
        livekit_sip.DISPATCH_RULE_NAME,
        "dispatch rule",
        "sip_dispatch_rule_id",
    )
    phone_numbers = PhoneNumber.objects.count()

    desired_trunk = livekit_sip.inbound_trunk_info(
        allowed_addresses=list(trunk.allowed_addresses) if allowed_addresses is None and trunk else allowed_addresses,
        auth_username=trunk.auth_username if auth_username is None and trunk else auth_username,
        auth_password=trunk.auth_password if auth_password is None and trunk else auth_password,
    )
    trunk_step = _apply(
        "inbound trunk",
        trunk,
        desired_trunk,
        "sip_trunk_id",
        create=livekit_client.create_sip_inbound_trunk,
        update=livekit_client.update_sip_inbound_trunk,
        dry_run=dry_run,
    )
    desired_rule = livekit_sip.dispatch_rule_request(trunk_ids=[trunk_step.id] if trunk_step.id else []).dispatch_rule
    rule_step = _apply(
        "dispatch rule",
        rule,
        desired_rule,
        "sip_dispatch_rule_id",
        create=lambda info: livekit_client.create_sip_dispatch_rule(
            api.CreateSIPDispatchRuleRequest(dispatch_rule=info)
        ),
        update=livekit_client.update_sip_dispatch_rule,
        dry_run=dry_run,
    )

    warnings = []
    if not (trunk_step.info.allowed_addresses or trunk_step.info.auth_username):
        warnings.append(
            "The trunk accepts calls from any address: restrict it with --allowed-address (your carriers' "
            "signalling IPs) or --auth-username/--auth-password"
        )
    if not livekit_sip.sip_configured():
        warnings.append("LIVEKIT_SIP_URI is not set: carrier webhooks cannot tell carriers where to send calls")
    return SipSetupResult(trunk=trunk_step, rule=rule_step, phone_numbers=phone_numbers, warnings=warnings)


def _apply(
    kind: str,
    current: Any,
    desired: Any,
    id_field: str,
    *,
    create: Callable[[Any], Any],
    update: Callable[[str, Any], Any],
    dry_run: bool,
) -> SipSetupStep:
    would = "would be " if dry_run else ""
    if current is None:
        if dry_run:
            return SipSetupStep(kind, "", f"{would}created", desired)
        saved = create(desired)
        return SipSetupStep(kind, getattr(saved, id_field), "created", saved)
    current_id = getattr(current, id_field)
    if _same(current, desired, id_field):
        return SipSetupStep(kind, current_id, "unchanged", current)
    if dry_run:
        return SipSetupStep(kind, current_id, f"{would}updated", desired)
    return SipSetupStep(kind, current_id, "updated", update(current_id, desired))
