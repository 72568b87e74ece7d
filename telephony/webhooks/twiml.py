"""Answers to carriers: TwiML for Twilio, TeXML (the same verbs) for Telnyx.

Built with twilio's VoiceResponse. Always HTTP 200: a carrier plays its own error (or
follows its fallback URL) on any other status, so a refusal is said in TwiML."""

from django.http import HttpResponse
from twilio.twiml.voice_response import VoiceResponse

XML = "text/xml; charset=utf-8"
UNAVAILABLE_MESSAGE = "Sorry, this number cannot take calls right now. Please try again later. Goodbye."
TRANSFER_REFUSED_MESSAGE = "Sorry, this call cannot be transferred. Goodbye."


def _xml(response: VoiceResponse, status: int = 200) -> HttpResponse:
    return HttpResponse(str(response), content_type=XML, status=status)


def connect(*, sip_uri: str, time_limit: int, action_url: str, refer_url: str) -> HttpResponse:
    """Bridge the caller to LiveKit SIP. timeLimit enforces the agent's max duration at the
    carrier too; the Dial action posts the leg's outcome to our status webhook; referUrl
    lets the agent transfer the caller (LiveKit sends a SIP REFER, Twilio asks us where to)."""
    response = VoiceResponse()
    dial = response.dial(action=action_url, method="POST", time_limit=time_limit, refer_url=refer_url)
    dial.sip(sip_uri)
    return _xml(response)


def transfer(destination: str) -> HttpResponse:
    """Dial the transfer target: an E.164 number or a sip: URI."""
    response = VoiceResponse()
    dial = response.dial()
    if destination.lower().startswith(("sip:", "sips:")):
        dial.sip(destination)
    else:
        dial.number(destination)
    return _xml(response)


def reject() -> HttpResponse:
    """Unknown number: refuse without answering (the caller hears the carrier's busy/reject)."""
    response = VoiceResponse()
    response.reject(reason="rejected")
    return _xml(response)


def busy() -> HttpResponse:
    """Every call slot of the customer is in use: the caller hears a busy signal."""
    response = VoiceResponse()
    response.reject(reason="busy")
    return _xml(response)


def unavailable(message: str = UNAVAILABLE_MESSAGE) -> HttpResponse:
    """A known number that cannot take the call: a polite sentence, then hang up."""
    response = VoiceResponse()
    response.say(message)
    response.hangup()
    return _xml(response)


def empty() -> HttpResponse:
    """Acknowledges a status callback (and ends the call if it was a Dial action)."""
    return _xml(VoiceResponse())
