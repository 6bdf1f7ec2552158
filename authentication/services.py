"""Authentication actions: checking credentials, issuing tokens.

Public surface: ``authenticate_credentials``, ``issue_token``.
"""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.http import HttpRequest
from rest_framework.authtoken.models import Token

from .models import User


def authenticate_credentials(request: HttpRequest, username: str, password: str) -> User | None:
    """Return the active user these credentials belong to, or None."""
    user = authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        return None
    return user  # type: ignore[return-value]


def issue_token(user: User) -> str:
    """Return the user's API token, creating it on first use."""
    token, _ = Token.objects.get_or_create(user=user)
    return token.key
