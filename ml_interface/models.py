"""Analysis tasks and what they leave behind.

- ``MLTask``: one request to run an analysis (``task_type``) on a file. Its ``status``,
  timestamps, ``result`` and ``error`` are written by the Celery signal handlers in
  ``signals.py`` (queued by the gateway), never by the task bodies.
- ``FileQC``: the latest QC verdict of a file (one row per file) with its metrics; the file also
  carries a ``qc:pass``/``qc:warn``/``qc:fail`` tag so the ordinary tag filter finds it.
- ``FileEmbedding``: the latest text/metadata vector of a file, with the model that made it;
  ``GET /api/files/<id>/similar/`` compares vectors of the same model only.
- ``CellEmbedding``: low-dimensional cell embeddings (``X_pca``, ``X_umap``, ``X_tsne``) that
  ``h5ad_vis`` computed for an ``.h5ad`` file, kept beside the store (the stored bytes are never
  rewritten) and used by the cellxgene publication instead of its SVD fallback.
"""

from __future__ import annotations

import uuid

import numpy as np
from django.conf import settings
from django.db import models

from access.querysets import RestrictedQuerySet


class TaskStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


FINISHED_STATUSES = (TaskStatus.DONE, TaskStatus.FAILED)


class MLTask(models.Model):
    task_type = models.CharField(max_length=64, db_index=True)
    file = models.ForeignKey("file_upload.File", on_delete=models.CASCADE, related_name="ml_tasks")
    submitter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.PENDING, db_index=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    # The Celery task id, chosen before sending so the signal handlers find the row by it.
    celery_task_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    worker = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "analysis task"

    def __str__(self) -> str:
        return f"{self.task_type} on file {self.file_id} ({self.status})"


class QcVerdict(models.TextChoices):
    PASS = "pass", "Pass"
    WARN = "warn", "Warn"
    FAIL = "fail", "Fail"


class FileQC(models.Model):
    file = models.OneToOneField("file_upload.File", on_delete=models.CASCADE, related_name="qc")
    verdict = models.CharField(max_length=8, choices=QcVerdict.choices, db_index=True)
    file_format = models.CharField(max_length=32, blank=True, default="")
    metrics = models.JSONField(default=list, blank=True)
    task = models.ForeignKey(MLTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "file QC verdict"

    def __str__(self) -> str:
        return f"QC {self.verdict} for file {self.file_id}"


class FileEmbedding(models.Model):
    file = models.OneToOneField("file_upload.File", on_delete=models.CASCADE, related_name="embedding")
    # The model that made the vector (with a version for the LSA fallback, whose basis is refitted).
    model = models.CharField(max_length=128, db_index=True)
    dimensions = models.PositiveIntegerField()
    vector = models.BinaryField()  # float32, L2-normalised
    text = models.TextField(blank=True, default="")  # what was embedded (the LSA refit reuses it)
    task = models.ForeignKey(MLTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.model} vector of file {self.file_id}"

    def as_array(self) -> np.ndarray:
        return np.frombuffer(bytes(self.vector), dtype=np.float32)


class CellEmbedding(models.Model):
    file = models.OneToOneField("file_upload.File", on_delete=models.CASCADE, related_name="cell_embedding")
    sha256 = models.CharField(max_length=64, blank=True, default="")  # of the bytes it was computed from
    path = models.CharField(max_length=1024)  # an .npz under BIOFM_DATA_DIR/ml/
    keys = models.JSONField(default=list)  # obsm keys held: X_pca, X_umap, X_tsne
    n_obs = models.PositiveIntegerField()
    task = models.ForeignKey(MLTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{', '.join(self.keys)} of file {self.file_id}"
