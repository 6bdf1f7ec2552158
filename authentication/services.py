"""Authentication and access actions: checking credentials, issuing tokens, managing grants.

Public surface: ``authenticate_credentials`` (``LoginLocked``), ``issue_token``, ``create_grant``, ``update_grant``,
``delete_grant``, ``get_profile``, ``update_profile``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from file_project.client_address import client_address
from file_project.domain import Conflict, TooManyAttempts

from . import audit, lockout
from .models import AccessGrant, Token, User, UserProfile


class LoginLocked(TooManyAttempts, code="locked_out"):
    """Too many failed sign-ins from this address or for this account (429, ``Retry-After``)."""

    def __init__(self, wait: int) -> None:
        super().__init__(f"Too many failed sign-ins from here; try again in {wait} seconds.", wait=wait)


def authenticate_credentials(request: HttpRequest, username: str, password: str) -> User | None:
    """Return the active user these credentials belong to, or None; raise ``LoginLocked`` (429)
    while the username is locked out for this client address (``lockout``)."""
    address = client_address(request)
    wait = lockout.seconds_locked(username, address)
    if wait:
        raise LoginLocked(wait)
    user = authenticate(request, username=username, password=password)  # a failure is counted by a signal
    if user is None or not user.is_active:
        wait = lockout.seconds_locked(username, address)
        if wait:
            raise LoginLocked(wait)
        return None
    lockout.clear(username, address)
    return user  # type: ignore[return-value]


def issue_token(user: User) -> str:
    """Return the user's API token, creating it on first use."""
    token, created = Token.objects.get_or_create(user=user)
    if created:
        audit.record(user, "auth.token_created", user)
    return token.key


# --- access grants -----------------------------------------------------------------------------


def _grant_details(grant: AccessGrant) -> dict[str, Any]:
    subject = grant.subject_user.get_username() if grant.subject_user_id else grant.subject_group.name
    return {
        "subject_type": "user" if grant.subject_user_id else "group",
        "subject": subject,
        "object_type": grant.object_type,
        "object_id": grant.target.pk,
        "object_name": grant.target.name,
        "permission": grant.permission,
    }


def create_grant(*, actor: Any, subject: User | Group, target: Any, permission: str) -> AccessGrant:
    """Give ``subject`` ``permission`` on a project, folder or file (and its subtree)."""
    object_type = target._meta.model_name
    grant = AccessGrant(
        subject_user=subject if isinstance(subject, User) else None,
        subject_group=subject if isinstance(subject, Group) else None,
        object_type=object_type,
        project=target if object_type == "project" else target.project,
        folder=target if object_type == "folder" else None,
        file=target if object_type == "file" else None,
        permission=permission,
        granted_by=actor,
    )
    try:
        with transaction.atomic():
            grant.save()
            audit.record(actor, "grant.create", grant, project_id=grant.project_id, **_grant_details(grant))
    except IntegrityError as exc:
        raise Conflict(
            "This user or group already has access here; change that grant instead.", code="grant_exists"
        ) from exc
    return grant


def update_grant(grant: AccessGrant, *, actor: Any, permission: str) -> AccessGrant:
    if grant.permission == permission:
        return grant
    with transaction.atomic():
        before = grant.permission
        grant.permission = permission
        grant.save(update_fields=["permission"])
        audit.record(
            actor,
            "grant.update",
            grant,
            project_id=grant.project_id,
            **_grant_details(grant),
            changes={"permission": [before, permission]},
        )
    return grant


def delete_grant(grant: AccessGrant, *, actor: Any) -> None:
    with transaction.atomic():
        audit.record(actor, "grant.delete", grant, project_id=grant.project_id, **_grant_details(grant))
        grant.delete()


# --- personal data ---------------------------------------------------------------------------

PROFILE_FIELDS = ("full_name", "phone", "affiliation")


def get_profile(user: User) -> UserProfile:
    profile, _ = UserProfile.objects.get_or_create(user=user)
    return profile


def update_profile(user: User, *, actor: Any, **changes: Any) -> UserProfile:
    """Edit the encrypted profile; the audit trail names the fields changed, never their values."""
    profile = get_profile(user)
    changed = [f for f in PROFILE_FIELDS if f in changes and getattr(profile, f) != changes[f]]
    for field in changed:
        setattr(profile, field, changes[field])
    if changed:
        with transaction.atomic():
            profile.save()
            audit.record(actor, "user.profile_update", user, fields=changed)
    return profile
