"""``BackgroundTask``: one row per Celery task run, written by the signal handlers in
``signals.py`` (queued on publish, running on prerun, done on postrun, failed on failure) and
marked ``lost`` by the sweeper when its worker went away. The per-feature status fields the SPA
reads (``File.parse_status``, ``Upload.state``, ``NcbiImport.status``, ``Publication.status``,
``MLTask.status``) stay where they are: this table is the operators' one view of all of them."""

from __future__ import annotations

from django.db import models

from access.querysets import RestrictedQuerySet


class TaskState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    RETRYING = "retrying", "Retrying"
    LOST = "lost", "Lost"


FINISHED_STATES = (TaskState.DONE, TaskState.FAILED, TaskState.LOST)


class BackgroundTask(models.Model):
    task_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, db_index=True)
    # The primary key the task was sent (its first argument), as text: tasks send pks over JSON.
    object_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    state = models.CharField(max_length=16, choices=TaskState.choices, default=TaskState.QUEUED, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    result = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "name"])]

    def __str__(self) -> str:
        return f"{self.name}({self.object_id}) {self.state}"
