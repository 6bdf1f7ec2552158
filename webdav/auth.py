"""Who a WebDAV request comes from: ``Authorization: Token <key>`` (the API token) or HTTP Basic
with the username and one of the user's app passwords. No session cookies. Failed Basic
sign-ins count towards the same lockout as the API's (per username and address), and each
user's requests are throttled by the ``dav`` scope of ``BIOFM_THROTTLE_RATES``."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle

from authentication import lockout
from file_project.client_address import client_address

from . import services

REALM = "BioFileManager WebDAV"


@dataclass
class Outcome:
    user: Any = None
    status: int = 401
    detail: str = "Sign in with an API token or an app password."
    retry_after: int = 0


class _DavThrottle(SimpleRateThrottle):
    scope = "dav"

    def get_rate(self) -> str | None:
        return (getattr(settings, "BIOFM_THROTTLE_RATES", None) or {}).get("dav")

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


def _throttled(request: HttpRequest, user: Any) -> int:
    throttle = _DavThrottle()
    if throttle.rate is None:
        return 0
    request.user = user
    if throttle.allow_request(request, None):
        return 0
    return int(throttle.wait() or 1) + 1


def authenticate(request: HttpRequest) -> Outcome:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    user = None
    if scheme in ("token", "bearer") and credentials.strip():
        token = Token.objects.select_related("user").filter(key=credentials.strip()).first()
        user = token.user if token is not None and token.user.is_active else None
        if user is None:
            return Outcome(detail="Invalid token.")
    elif scheme == "basic":
        try:
            username, _, password = base64.b64decode(credentials.strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return Outcome(status=400, detail="Malformed Basic credentials.")
        address = client_address(request)
        wait = lockout.seconds_locked(username, address)
        if wait:
            return Outcome(
                status=429, detail=f"Too many failed sign-ins; try again in {wait} seconds.", retry_after=wait
            )
        user = services.check_app_password(username, password)
        if user is None:
            # Audited and counted towards the lockout like every failed sign-in.
            user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
            return Outcome(detail="Wrong username or app password (create one under Settings → App passwords).")
        lockout.clear(username, address)
    else:
        return Outcome()
    wait = _throttled(request, user)
    if wait:
        return Outcome(status=429, detail="Too many requests.", retry_after=wait)
    return Outcome(user=user, status=200, detail="")
