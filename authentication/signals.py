"""Audit events for what Django itself does: logins (SPA, API and admin), logouts, failed
logins, and every change made through Django admin."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from file_project.client_address import client_address

from . import audit, lockout

_ADMIN_ACTIONS = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}


@receiver(user_logged_in, dispatch_uid="audit_login")
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit.record(user, "auth.login", user)
    if request is not None:
        lockout.clear(user.get_username(), client_address(request))


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit.record(user, "auth.logout", user)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    audit.record(None, "auth.login_failed", username=username)
    if request is not None and username:
        lockout.register_failure(username, client_address(request))


@receiver(post_save, sender=LogEntry, dispatch_uid="audit_admin")
def _admin_action(sender: Any, instance: LogEntry, created: bool, **kwargs: Any) -> None:
    if not created:
        return
    audit.record(
        instance.user,
        _ADMIN_ACTIONS.get(instance.action_flag, "admin.action"),
        object_type=instance.content_type.model if instance.content_type_id else "",
        object_id=instance.object_id or "",
        object_repr=instance.object_repr,
        change=instance.get_change_message(),
    )
