"""Helpers for identity tests."""

import re
import time
from urllib.parse import parse_qs, urlsplit

from django.core import signing
from django.core.mail import EmailMultiAlternatives

from accounts.tokens import SALTS

LINK_PATTERN = re.compile(r"https?://[^\s\"<>]+\?token=[^\s\"<>]+")
STRONG_PASSWORD = "SecurePassword123!"


class _BackdatedSigner(signing.TimestampSigner):
    def __init__(self, *, age_seconds: int, **kwargs):
        self.age_seconds = age_seconds
        super().__init__(**kwargs)

    def timestamp(self):
        return signing.b62_encode(int(time.time()) - self.age_seconds)


def backdated_token(purpose: str, claims: dict, *, age_seconds: int) -> str:
    """A genuine token of `purpose`, signed `age_seconds` ago (for expiry tests)."""
    signer = _BackdatedSigner(age_seconds=age_seconds, salt=SALTS[purpose])
    return signer.sign_object({**claims, "purpose": purpose}, serializer=signing.JSONSerializer)


def tamper(token: str) -> str:
    """Flips one character of the signed payload, keeping the token well-formed."""
    position = 2
    replacement = "A" if token[position] != "A" else "B"
    return token[:position] + replacement + token[position + 1 :]


def links_in(text: str) -> list[str]:
    return LINK_PATTERN.findall(text)


def mailed_link(message) -> str:
    """The one link of an email, checked to be the same in its text and HTML bodies."""
    if isinstance(message, EmailMultiAlternatives):
        text_body = message.body
        html_body = next(content for content, mime in message.alternatives if mime == "text/html")
    else:  # an email.message.EmailMessage received over SMTP
        text_body = message.get_body(preferencelist=("plain",)).get_content()
        html_body = message.get_body(preferencelist=("html",)).get_content()
    text_links = links_in(text_body)
    html_links = [link.replace("&amp;", "&") for link in links_in(html_body)]
    assert len(text_links) == 1, text_body
    assert text_links == html_links, (text_links, html_links)
    return text_links[0]


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def all_keys(value) -> set[str]:
    """Every key anywhere in a JSON document."""
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in all_keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in all_keys(item)}
    return set()


def as_example(example: dict, user, answer: dict, **own) -> dict:
    """The spec's example user (accounts/schema.py) as `user` answers it: its own id,
    email, name and customer, the answer's timestamps, and any other value in `own`."""
    customer_id = str(user.customer_id) if user.customer_id else None
    mine = {"id": str(user.id), "email": user.email, "name": user.name, "customerId": customer_id}
    return {**example, **mine, "createdAt": answer["createdAt"], "updatedAt": answer["updatedAt"], **own}
