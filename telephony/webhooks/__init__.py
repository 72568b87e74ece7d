"""Carrier webhooks: inbound calls and call status callbacks (JSON, Twilio, Telnyx)."""
