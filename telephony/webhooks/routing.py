"""Which number, customer and agent answer an inbound call, or why nobody does."""

import logging

from agents.models import AgentStatus
from telephony.models import PhoneNumber

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
ROUTED_FIELDS = (
    "customer",
    "agent",
    "customer__status",
    "customer__deleted_at",
    "customer__settings",
    "agent__customer",
    "agent__status",
    "agent__max_duration_seconds",
)


def route_inbound(to_number: str) -> PhoneNumber:
    number = (
        PhoneNumber.objects.select_related("agent", "customer")
        .only(*ROUTED_FIELDS)
        .filter(phone_number=to_number)
        .first()
    )
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
