"""The API's throttles: DRF's classes, counted with `morpheus.ratelimit` (atomic).

Every throttle in the project derives from `AtomicRateThrottle` (or the scoped one); a
test walks every view and refuses DRF's non-atomic history throttles. Rates are read
from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] on each request, so settings overrides
apply. A throttled request answers 429 with Retry-After: the seconds until the window
resets.
"""

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from morpheus import ratelimit


class AtomicRateThrottle(SimpleRateThrottle):
    """A fixed window of `duration` seconds admitting `num_requests`; subclasses set
    `scope` and `get_cache_key` (None: not counted)."""

    default_rate: str | None = None
    num_requests: int
    duration: int

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return str(rate) if rate else self.default_rate

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        count, self._retry_after = ratelimit.hit(self.key, self.duration)
        return count <= self.num_requests

    def wait(self) -> float | None:
        return getattr(self, "_retry_after", None)


class AtomicScopedRateThrottle(AtomicRateThrottle):
    """The view's `throttle_scope`, per client address (DRF's ScopedRateThrottle, atomic)."""

    scope_attr = "throttle_scope"

    def __init__(self) -> None:
        # The scope comes from the view, so the rate is resolved in allow_request.
        pass

    def allow_request(self, request: Request, view: Any) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        num_requests, duration = self.parse_rate(self.rate)
        if num_requests is None or duration is None:
            return True
        self.num_requests, self.duration = num_requests, duration
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        from .request_info import client_ip

        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "unknown"}
