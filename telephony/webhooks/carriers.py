"""Who is calling the webhook, proven: the carrier, its parameters, and how to answer it.

- `X-Twilio-Signature` → Twilio, form-encoded; answered with TwiML.
- `telnyx-signature-ed25519` → Telnyx TeXML, form-encoded or JSON; answered with TeXML.
- no carrier signature, JSON body → the spec's generic JSON form (SIP integrations);
  accepted only from VOICE_WEBHOOK_ALLOWED_IPS or with a valid X-Morpheus-Signature
  (VOICE_WEBHOOK_SECRET); anything else is 403 "Webhook source not allowed".
- no carrier signature, form body → refused: a form post claims to be a carrier.
Signatures are checked before anything is parsed, looked up or written.
"""

from dataclasses import dataclass

from rest_framework.exceptions import ParseError
from rest_framework.request import Request

from telephony.models import Carrier

from . import signatures

JSON_CARRIER = Carrier.SIP  # the generic JSON form: a SIP integration, not Twilio/Telnyx


@dataclass(frozen=True)
class CarrierRequest:
    carrier: str
    params: dict
    answers_xml: bool  # TwiML/TeXML for carriers; the JSON envelope for the generic form


def _flat(data) -> dict:
    if hasattr(data, "getlist"):  # a QueryDict: one value per key is all carriers send
        return {key: data.get(key) for key in data}
    if not isinstance(data, dict):
        raise ParseError()
    return dict(data)


def read_carrier_request(request: Request) -> CarrierRequest:
    headers = request.headers
    if signatures.TWILIO_SIGNATURE in headers:
        params = _flat(request.data)
        signatures.verify_twilio(request, params)
        return CarrierRequest(Carrier.TWILIO, params, True)
    if signatures.TELNYX_SIGNATURE in headers:
        signatures.verify_telnyx(request, request.body)  # the raw body, before parsing
        return CarrierRequest(Carrier.TELNYX, _flat(request.data), True)
    if request.content_type.split(";")[0].strip().lower() == "application/json":
        signatures.verify_json_source(request, request.body)
        return CarrierRequest(JSON_CARRIER, _flat(request.data), False)
    if request.content_type.startswith("application/x-www-form-urlencoded"):
        raise signatures.WebhookForbidden(signatures.MISSING_SIGNATURE)
    request.data  # noqa: B018 - lets DRF answer 415 for any other content type
    raise signatures.WebhookForbidden(signatures.MISSING_SIGNATURE)
