"""NCBI imports: one row per (kind, accession, target folder), and the shared rate-limit slot."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from access.querysets import RestrictedQuerySet
from file_upload.models import File, Folder, Project


class ImportKind(models.TextChoices):
    GENE = "gene", "Gene"
    PROTEIN = "protein", "Protein"
    NUCLEOTIDE = "nucleotide", "Nucleotide"
    SRA = "sra", "SRA"
    PUBMED = "pubmed", "PubMed"
    BIOPROJECT = "bioproject", "BioProject"
    BIOSAMPLE = "biosample", "BioSample"


class ImportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DOWNLOADING = "downloading", "Downloading"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class NcbiImport(models.Model):
    """An import of one NCBI record into one folder (or a project's root).

    ``file`` is the first stored file (null until the payload is stored); ``file_ids`` lists
    every file (two or three for a paired SRA run). ``metadata`` holds the metadata fields
    filled from NCBI; ``record`` keeps what NCBI said beyond them (title, summary, attributes).
    """

    accession = models.CharField(max_length=64, db_index=True)
    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    source_url = models.TextField(blank=True, default="")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="ncbi_imports")
    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, null=True, blank=True, related_name="ncbi_imports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="ncbi_imports"
    )
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    progress_bytes = models.BigIntegerField(default=0)
    total_bytes = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    file = models.ForeignKey(File, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    file_ids = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    record = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "accession", "folder"],
                condition=Q(folder__isnull=False),
                name="uniq_ncbi_import_in_folder",
            ),
            models.UniqueConstraint(
                fields=["kind", "accession", "project"],
                condition=Q(folder__isnull=True),
                name="uniq_ncbi_import_in_project_root",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.accession} ({self.status})"


class RateSlot(models.Model):
    """The next free request time of a rate limiter shared by every process (used when there
    is no Redis)."""

    key = models.CharField(max_length=100, primary_key=True)
    next_at = models.FloatField(default=0.0)

    def __str__(self) -> str:
        return f"{self.key} @ {self.next_at:.3f}"
