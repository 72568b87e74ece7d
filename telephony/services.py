"""Writes for the phone-number inventory (the configuration side of telephony).

Carrier webhooks and LiveKit SIP live in their own modules; this file is only
about which numbers a tenant owns and which agent answers them.
"""

from django.db import IntegrityError, transaction

from agents.models import Agent
from agents.validation import ErrorList, clean_text
from calls.models import OPEN_CALL_STATUSES, Call
from morpheus.api.exceptions import Conflict
from tenants.models import Customer

from .e164 import InvalidNumber, country_for, normalize_country, parse_e164
from .models import Carrier, PhoneNumber

FRIENDLY_NAME_MAX = 120
CAPABILITIES = ("voice", "sms")
# The same answer whoever owns the number: another tenant's inventory is not revealed.
DUPLICATE_MESSAGE = "Phone number already exists"
PHONE_NUMBER_FIELDS = frozenset({"phone_number", "friendly_name", "country", "capabilities", "carrier", "agent_id"})


def _clean_capabilities(errors: ErrorList, value) -> list[str] | None:
    if not isinstance(value, list) or not value:
        errors.add("capabilities", f"Must be a non-empty list of: {', '.join(CAPABILITIES)}")
        return None
    unknown = [item for item in value if item not in CAPABILITIES]
    if unknown:
        errors.add("capabilities", f"Unknown capability {unknown[0]!r}; use {', '.join(CAPABILITIES)}")
        return None
    return [capability for capability in CAPABILITIES if capability in value]


def _tenant_agent(errors: ErrorList, customer: Customer, agent_id) -> Agent | None:
    """The customer's agent, row-locked so a concurrent delete waits for this write.
    Another tenant's id gets the same message as a missing one."""
    if isinstance(agent_id, bool) or not isinstance(agent_id, int):
        errors.add("agent_id", "A valid integer is required.")
        return None
    agent = Agent.objects.select_for_update().filter(customer=customer, pk=agent_id).first()
    if agent is None:
        errors.add("agent_id", f"Agent with ID {agent_id} does not exist")
    return agent


def phone_number_validate(*, phone_number: PhoneNumber, data: dict) -> set[str]:
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

    def assign(field: str, value) -> None:
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
def phone_number_create(*, customer: Customer, data: dict) -> PhoneNumber:
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
def phone_number_update(*, phone_number: PhoneNumber, data: dict) -> PhoneNumber:
    """Rename, (un)assign an agent (`agent_id` None unassigns), capabilities, carrier,
    country. The number itself is fixed."""
    changed = phone_number_validate(phone_number=phone_number, data=data)
    if changed:
        phone_number.save(update_fields=[*sorted(changed), "updated_at"])
    return phone_number


@transaction.atomic
def phone_number_delete(*, phone_number: PhoneNumber) -> None:
    """Refused (409) while a call on the number is ringing or in progress; call
    history keeps its rows (their number becomes null)."""
    phone_number = PhoneNumber.objects.select_for_update().get(pk=phone_number.pk)
    if Call.objects.filter(phone_number=phone_number, status__in=OPEN_CALL_STATUSES).exists():
        raise Conflict("Phone number is on an active call; end the call before deleting the number")
    phone_number.delete()
