"""Cellxgene viewer state, in the database so every gunicorn worker, Celery worker and node agrees.

- ``Publication``: one row per published dataset — which file, who asked, how far it got
  (queued → copying → embedding → starting → ready, or failed), the error with the viewer log's
  tail, when it was stopped (evicted, idle, by hand) and how often its viewer was started again.
  Its id is the dataset's address: ``/cellxgene/<id>/``.
- ``Viewer``: one row per port of ``CELLXGENE_PORT_RANGE`` the pool has used: the process serving
  there (pid, host, node, data file, publication), its status, last use, measured RSS, its own
  log file, the last error, and — on the range's first port only — the pool's lease
  (``lock_token``/``locked_until``), which serialises choosing ports and evicting viewers across
  processes without holding a database transaction open.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from access.querysets import RestrictedQuerySet


class PublicationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    COPYING = "copying", "Copying"
    EMBEDDING = "embedding", "Computing an embedding"
    STARTING = "starting", "Starting the viewer"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    STOPPED = "stopped", "Stopped"  # replaced by a later publication, or stopped by hand


ACTIVE_STATUSES = (
    PublicationStatus.QUEUED,
    PublicationStatus.COPYING,
    PublicationStatus.EMBEDDING,
    PublicationStatus.STARTING,
)


class Publication(models.Model):
    file = models.ForeignKey("file_upload.File", null=True, on_delete=models.SET_NULL, related_name="+")
    dataset = models.CharField(max_length=255, help_text="The title the viewer shows (the file's name).")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=PublicationStatus.choices, default=PublicationStatus.QUEUED)
    data_path = models.CharField(max_length=1024, blank=True)
    embedding = models.CharField(max_length=64, blank=True, help_text="obsm key computed for the viewer, if any.")
    error = models.TextField(blank=True)
    log_tail = models.TextField(blank=True)
    port = models.PositiveIntegerField(null=True, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    restarts = models.PositiveIntegerField(default=0, help_text="Times its viewer was started again.")

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.dataset} ({self.status})"


class ViewerStatus(models.TextChoices):
    STOPPED = "stopped", "Stopped"
    STOPPING = "stopping", "Stopping"  # chosen for eviction; its node's pool signals it
    STARTING = "starting", "Starting"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Viewer(models.Model):
    port = models.PositiveIntegerField(unique=True)
    host = models.CharField(max_length=255, default="127.0.0.1", help_text="Where the proxy reaches it.")
    node = models.CharField(max_length=255, blank=True, help_text="Host name of the machine running the process.")
    status = models.CharField(max_length=16, choices=ViewerStatus.choices, default=ViewerStatus.STOPPED)
    publication = models.ForeignKey(Publication, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    file = models.ForeignKey("file_upload.File", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    dataset = models.CharField(max_length=255, blank=True)
    data_path = models.CharField(max_length=1024, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    log_tail = models.TextField(blank=True)
    restarts = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True, help_text="Last proxied request (to the minute).")
    rss_mb = models.PositiveIntegerField(null=True, blank=True, help_text="Resident memory when last measured.")
    log_file = models.CharField(max_length=1024, blank=True)
    lock_token = models.CharField(max_length=64, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["port"]

    def __str__(self) -> str:
        return f"cellxgene on :{self.port} ({self.status}{': ' + self.dataset if self.dataset else ''})"
