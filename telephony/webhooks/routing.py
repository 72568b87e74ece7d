"""Which number, customer and agent answer an inbound call, or why nobody does."""

import logging

from django.db.models import QuerySet

from agents.models import Agent, AgentStatus
from morpheus.prepared import PreparedRead, instance_from_row
from telephony.models import PhoneNumber
from tenants.models import Customer

logger = logging.getLogger(__name__)


class UnknownNumber(Exception):
    def __init__(self, number: str):
        super().__init__(number)
        self.number = number


class NotAnswering(Exception):
    """The number exists but cannot take calls now; `reason` is machine-readable."""

    def __init__(self, number: PhoneNumber, reason: str):
        super().__init__(reason)
        self.number = number
        self.reason = reason


# What an inbound call uses of its number, customer and agent: the routing below, the call
# row, the rollups' time zone (the customer's settings) and the carrier's time limit. The
# agent and customer rows are wide (prompts, JSON configuration), so nothing else is read
# (a field read later anyway is loaded then, one query more, never a wrong value).
ROUTED_NUMBER_FIELDS = ("id", "customer_id", "agent_id")
ROUTED_CUSTOMER_FIELDS = ("id", "status", "settings", "deleted_at")
ROUTED_AGENT_FIELDS = ("id", "customer_id", "status", "max_duration_seconds")


def _routed_row(phone_number: str) -> QuerySet[PhoneNumber]:
    """The number's row joined to its customer's and (LEFT JOIN: it may have none) its agent's."""
    return (
        PhoneNumber.objects.filter(phone_number=phone_number)
        .order_by()
        .values_list(  # unique: no order
            *ROUTED_NUMBER_FIELDS,
            *(f"customer__{name}" for name in ROUTED_CUSTOMER_FIELDS),
            *(f"agent__{name}" for name in ROUTED_AGENT_FIELDS),
        )[:1]
    )


# Every inbound call routes: its statement is compiled once per process (morpheus/prepared.py).
_ROUTE = PreparedRead(_routed_row, phone_number=PhoneNumber._meta.get_field("phone_number"))


def _routed_number(phone_number: str) -> PhoneNumber | None:
    """The number with its customer and agent cached, each holding only the routed fields."""
    found = _ROUTE.rows(phone_number=phone_number)
    if not found:
        return None
    row = iter(found[0])
    number_values, customer_values, agent_values = (
        [next(row) for _ in names] for names in (ROUTED_NUMBER_FIELDS, ROUTED_CUSTOMER_FIELDS, ROUTED_AGENT_FIELDS)
    )
    number = instance_from_row(PhoneNumber, ROUTED_NUMBER_FIELDS, number_values)
    customer = instance_from_row(Customer, ROUTED_CUSTOMER_FIELDS, customer_values)
    agent = instance_from_row(Agent, ROUTED_AGENT_FIELDS, agent_values) if number.agent_id else None
    PhoneNumber.customer.field.set_cached_value(number, customer)
    PhoneNumber.agent.field.set_cached_value(number, agent)
    return number


def route_inbound(to_number: str) -> PhoneNumber:
    number = _routed_number(to_number)
    if number is None:
        raise UnknownNumber(to_number)
    if not number.customer.is_active:
        raise NotAnswering(number, "customer_suspended")
    agent = number.agent
    if agent is None or agent.customer_id != number.customer_id:
        raise NotAnswering(number, "no_agent")
    if agent.status != AgentStatus.ACTIVE:
        raise NotAnswering(number, "agent_inactive")
    return number
