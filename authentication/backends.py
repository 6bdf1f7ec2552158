"""Django's model backend with the login lockout applied, so Django admin's sign-in form is
locked out exactly like the API (which answers 429 before it gets here)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from file_project.client_address import client_address

from . import lockout


class LockoutModelBackend(ModelBackend):
    def authenticate(self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any):
        if request is not None and username and lockout.seconds_locked(username, client_address(request)):
            raise PermissionDenied("locked out")  # authenticate() stops here and reports a failure
        return super().authenticate(request, username=username, password=password, **kwargs)
