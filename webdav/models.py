"""App passwords for WebDAV clients, and the WebDAV server's own state (locks, dead properties)
in the database so that every gunicorn worker and node shares it."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AppPassword(models.Model):
    """A password for one WebDAV client (Finder, Explorer, rclone, davfs2), used with HTTP Basic
    instead of the account's own password. Only its SHA-256 is kept: it is a random 32-byte secret,
    shown once when created, and can be revoked on its own."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="app_passwords")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user} / {self.name}"


class DavEntry(models.Model):
    """One key of the WebDAV lock table or property store (``webdav.state``)."""

    namespace = models.CharField(max_length=8)  # "lock" | "prop"
    key = models.TextField()
    value = models.JSONField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["namespace", "key"], name="uniq_dav_entry")]

    def __str__(self) -> str:
        return f"{self.namespace}:{self.key}"
