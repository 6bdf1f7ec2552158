"""Request throttling by scope, with rates read from settings on every request.

Views name a scope (``throttle_scope = "auth"``) or one per action or method
(``throttle_scopes = {"create": "upload", "reparse": "heavy"}``); views without one are not
throttled. Rates come from ``BIOFM_THROTTLE_RATES`` (``"10/min"``; ``None`` turns a scope off),
read at request time so tests and operators can change them without a restart. Anonymous
callers are counted by ``client_address`` (the same address the audit trail and the lockout use). The counters
live in the default cache (Redis with ``REDIS_URL``), so every gunicorn worker shares them.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.conf import settings
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from .client_address import client_address


def scope_for(request: Any, view: Any) -> str | None:
    scopes = getattr(view, "throttle_scopes", None)
    if scopes:
        action = getattr(view, "action", None)
        return scopes.get(action) or scopes.get(request.method.upper())
    return getattr(view, "throttle_scope", None)


class ScopedThrottle(ScopedRateThrottle):
    def get_rate(self) -> str | None:
        return (getattr(settings, "BIOFM_THROTTLE_RATES", None) or {}).get(self.scope)

    def allow_request(self, request: Any, view: Any) -> bool:
        scope = scope_for(request, view)
        if not scope:
            return True
        self.scope = scope
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return SimpleRateThrottle.allow_request(self, request, view)

    def get_ident(self, request: Any) -> str:
        return client_address(request)


def throttle_wait(request: Any, scope: str) -> float | None:
    """Count one request of ``scope`` for a view outside DRF (Django admin's sign-in), with the
    same counters as the API; the seconds to wait when it is over the rate, else None."""
    throttle = ScopedThrottle()
    if throttle.allow_request(request, SimpleNamespace(throttle_scope=scope)):
        return None
    return throttle.wait() or 1.0
