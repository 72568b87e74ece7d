"""Rate limits for the endpoints that check passwords or send mail.

Counters live in Redis when REDIS_URL is set (one atomic increment per request, shared
by every API process; `morpheus.ratelimit`). Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
looked up per request rather than frozen at import, so settings overrides apply.
Per-IP limits stop one client hammering many accounts; per-email limits stop many
clients hammering one account (or one inbox).
"""

import hashlib

from morpheus.api.request_info import client_ip
from morpheus.api.throttling import AtomicRateThrottle

from .selectors import normalize_email


class _IpThrottle(AtomicRateThrottle):
    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "unknown"}


class _EmailThrottle(AtomicRateThrottle):
    """Keyed on the email in the body, or the signed-in user's; hashed, so the
    cache never holds addresses. A body without an email is not counted here (it
    fails validation anyway)."""

    def get_cache_key(self, request, view):
        email = request.data.get("email") if isinstance(request.data, dict) else None
        if not isinstance(email, str) or not email.strip():
            user = getattr(request, "user", None)
            email = getattr(user, "email", None) if getattr(user, "is_authenticated", False) else None
        if not email:
            return None
        digest = hashlib.sha256(normalize_email(email).encode("utf-8")).hexdigest()[:32]
        return self.cache_format % {"scope": self.scope, "ident": digest}


class LoginIpThrottle(_IpThrottle):
    scope = "login_ip"


class LoginEmailThrottle(_EmailThrottle):
    scope = "login_email"


class MailIpThrottle(_IpThrottle):
    scope = "mail_ip"


class MailEmailThrottle(_EmailThrottle):
    scope = "mail_email"
