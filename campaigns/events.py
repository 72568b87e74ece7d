"""campaign.* webhook events (integrations), emitted inside the transaction of the change."""

from integrations import events
from integrations.catalogue import register_event_type

register_event_type("campaign.started", "A campaign began dialing.")
register_event_type("campaign.paused", "A campaign was paused, by a user or by its circuit breaker (with the reason).")
register_event_type("campaign.resumed", "A paused campaign resumed dialing.")
register_event_type("campaign.completed", "Every contact of a campaign reached a final outcome.")
register_event_type("campaign.canceled", "A campaign was canceled; its pending contacts will not be called.")


def emit_campaign_event(campaign, event_type: str) -> None:
    from .selectors import campaign_with_progress
    from .serializers import CampaignOutput

    def data():
        return CampaignOutput(campaign_with_progress(campaign.customer_id, campaign.pk)).data

    events.emit(customer_id=campaign.customer_id, event_type=event_type, data=data, agent_id=campaign.agent_id)
