"""Users, access grants and the audit trail.

The user model is the project's own from day one so profile and privacy fields can grow.
"""

from typing import Any

from django.contrib.auth.models import AbstractUser, Group
from django.db import models
from django.db.models import Q
from rest_framework.authtoken.models import Token  # noqa: F401  (the API token table; services issue tokens)

from access.querysets import RestrictedQuerySet

from .fields import EncryptedTextField


class User(AbstractUser):
    class Meta:
        db_table = "biofm_user"
        ordering = ["username"]


class UserProfile(models.Model):
    """Personal data beyond the login, encrypted at rest (``EncryptedTextField``)."""

    user = models.OneToOneField("authentication.User", on_delete=models.CASCADE, related_name="profile")
    full_name = EncryptedTextField(blank=True, default="")
    phone = EncryptedTextField(blank=True, default="")
    affiliation = EncryptedTextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "biofm_user_profile"

    def __str__(self) -> str:
        return f"profile of {self.user}"


class Permission(models.TextChoices):
    VIEW = "view", "View"
    EDIT = "edit", "Edit"
    MANAGE = "manage", "Manage"


class ObjectType(models.TextChoices):
    PROJECT = "project", "Project"
    FOLDER = "folder", "Folder"
    FILE = "file", "File"


class AccessGrant(models.Model):
    """A user or group holds ``permission`` on a project, folder or file and its subtree."""

    subject_user = models.ForeignKey(
        "authentication.User", on_delete=models.CASCADE, null=True, blank=True, related_name="access_grants"
    )
    subject_group = models.ForeignKey(
        Group, on_delete=models.CASCADE, null=True, blank=True, related_name="access_grants"
    )
    object_type = models.CharField(max_length=16, choices=ObjectType.choices)
    # The project is always set (the object's project) so one index serves every lookup.
    project = models.ForeignKey("file_upload.Project", on_delete=models.CASCADE, related_name="grants")
    folder = models.ForeignKey(
        "file_upload.Folder", on_delete=models.CASCADE, null=True, blank=True, related_name="grants"
    )
    file = models.ForeignKey("file_upload.File", on_delete=models.CASCADE, null=True, blank=True, related_name="grants")
    permission = models.CharField(max_length=16, choices=Permission.choices, default=Permission.VIEW)
    granted_by = models.ForeignKey(
        "authentication.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # "u<id>:<type>:<id>" or "g<id>:…": one grant per subject and object, portable across databases.
    key = models.CharField(max_length=80, unique=True, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(subject_user__isnull=False, subject_group__isnull=True)
                | Q(subject_user__isnull=True, subject_group__isnull=False),
                name="grant_has_one_subject",
            ),
            models.CheckConstraint(
                condition=Q(object_type="project", folder__isnull=True, file__isnull=True)
                | Q(object_type="folder", folder__isnull=False, file__isnull=True)
                | Q(object_type="file", folder__isnull=True, file__isnull=False),
                name="grant_object_matches_type",
            ),
        ]

    def __str__(self) -> str:
        kind = "user" if self.subject_user_id else "group"
        return f"{kind} {self.subject} {self.permission} on {self.object_type} {self.target}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.key = self.make_key()
        super().save(*args, **kwargs)

    def make_key(self) -> str:
        subject = f"u{self.subject_user_id}" if self.subject_user_id else f"g{self.subject_group_id}"
        target = {"project": self.project_id, "folder": self.folder_id, "file": self.file_id}[self.object_type]
        return f"{subject}:{self.object_type}:{target}"

    @property
    def subject(self) -> Any:
        return self.subject_user or self.subject_group

    @property
    def target(self) -> Any:
        return self.file or self.folder or self.project


class AuditEvent(models.Model):
    """Append-only and hash-chained: ``hash`` = SHA-256 over the canonical form of the row,
    which includes ``prev_hash``; ``mac`` = HMAC-SHA256 of ``hash`` under ``BIOFM_AUDIT_KEY``
    (null on rows written before the key existed). The database rejects UPDATE and DELETE (see
    migrations)."""

    timestamp = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        "authentication.User", on_delete=models.DO_NOTHING, null=True, blank=True, db_constraint=False, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True, default="")
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=32, blank=True, default="", db_index=True)
    object_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    object_repr = models.CharField(max_length=300, blank=True, default="")
    project_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # Nullable without a default: adding it is a plain ALTER TABLE, which keeps SQLite's triggers.
    mac = models.CharField(max_length=64, null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        db_table = "biofm_audit_event"

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.actor_username or '-'} {self.action} {self.object_type}"
