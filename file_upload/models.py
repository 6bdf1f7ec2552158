"""Workspace models: projects with members, a folder tree, and files with their metadata."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Func, Q, Value
from django.db.models.functions import Cast, Coalesce

from access.querysets import RestrictedQuerySet
from authentication.fields import EncryptedTextField

from .metadata import SEARCH_TEXT_FIELDS, Vocabulary, choices_for
from .metadata import TEXT_FIELD_MAX_LENGTH as TEXT_MAX
from .validators import validate_bioproject, validate_biosample, validate_object_name, validate_sra


class AccessLevel(models.TextChoices):
    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal"
    RESTRICTED = "restricted", "Restricted"


# How far a level opens: restricted < internal < public.
OPENNESS = {AccessLevel.RESTRICTED: 0, AccessLevel.INTERNAL: 1, AccessLevel.PUBLIC: 2}


def more_open(level: str, than: str) -> bool:
    """Whether the effective level ``level`` lets more people in than ``than``."""
    return OPENNESS[AccessLevel(level)] > OPENNESS[AccessLevel(than)]


class NodeAccessLevel(models.TextChoices):
    """Folders and files may inherit their level from their parent."""

    INHERIT = "inherit", "Inherit"
    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal"
    RESTRICTED = "restricted", "Restricted"


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


class Project(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True, default="")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_projects")
    access_level = models.CharField(max_length=16, choices=AccessLevel.choices, default=AccessLevel.INTERNAL)
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    # Patient-derived data: uploads need a confirmation of consent / de-identification (GDPR, HIPAA).
    holds_human_data = models.BooleanField(default=False)
    # Bytes of live files plus uploads in progress the project may hold (null: no limit).
    quota_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProjectMember(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="uniq_project_member")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.project}"


class ProjectGroup(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="group_roles")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="project_roles")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "group"], name="uniq_project_group")]

    def __str__(self) -> str:
        return f"{self.group} ({self.role}) in {self.project}"


class Folder(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="folders")
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    name = models.CharField(max_length=255, validators=[validate_object_name])
    access_level = models.CharField(max_length=16, choices=NodeAccessLevel.choices, default=NodeAccessLevel.INHERIT)
    effective_access_level = models.CharField(
        max_length=16, choices=AccessLevel.choices, default=AccessLevel.INTERNAL, db_index=True, editable=False
    )
    # Materialised paths: ``tree_path`` holds ids ("/3/17/") for subtree queries with one
    # prefix match; ``name_path`` holds names ("/raw/run1") for display.
    tree_path = models.CharField(max_length=1024, db_index=True, editable=False, default="/")
    name_path = models.TextField(editable=False, default="/")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], condition=Q(parent__isnull=False), name="uniq_folder_name_in_parent"
            ),
            models.UniqueConstraint(
                fields=["project", "name"], condition=Q(parent__isnull=True), name="uniq_folder_name_in_project_root"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project}:{self.name_path}"


class ParseStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class IndexStatus(models.TextChoices):
    """``stats["index_status"]``: the index a parser builds after the parse (BAM ``.bai``)."""

    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class UploadMethod(models.TextChoices):
    WEB = "web", "Web"
    API = "api", "API"
    TUS = "tus", "tus"
    NCBI = "ncbi import", "NCBI import"


class SearchText(Func):
    """``lower(a || ' ' || b || ...)`` over columns as text, NULLs as empty: one flat expression
    (nested ``Concat`` overflows SQLite's parser with 25 columns) that both databases accept in
    a generated column (only immutable operators)."""

    template = "LOWER(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = models.TextField()

    def __init__(self, *columns: str) -> None:
        super().__init__(*[Coalesce(Cast(column, models.TextField()), Value("")) for column in columns])


class FileQuerySet(RestrictedQuerySet):
    def alive(self) -> FileQuerySet:
        return self.filter(deleted_at__isnull=True)


class File(models.Model):
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="files")
    folder = models.ForeignKey(Folder, on_delete=models.PROTECT, null=True, blank=True, related_name="files")
    name = models.CharField(max_length=255, validators=[validate_object_name])
    description = models.TextField(blank=True, default="")
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="", db_index=True)
    md5 = models.CharField(max_length=32, blank=True, default="")
    content_type = models.CharField(max_length=255, blank=True, default="")
    storage_key = models.CharField(max_length=255, editable=False)
    tags = models.JSONField(default=list, blank=True)
    access_level = models.CharField(max_length=16, choices=NodeAccessLevel.choices, default=NodeAccessLevel.INHERIT)
    effective_access_level = models.CharField(
        max_length=16, choices=AccessLevel.choices, db_index=True, default=AccessLevel.INTERNAL, editable=False
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="files")
    upload_method = models.CharField(max_length=32, choices=UploadMethod.choices, default=UploadMethod.API)

    # Biological metadata
    organism = models.CharField(max_length=TEXT_MAX, blank=True, default="", db_index=True)
    taxon_id = models.PositiveIntegerField(null=True, blank=True)
    tissue = models.CharField(max_length=TEXT_MAX, blank=True, default="")
    cell_type = models.CharField(max_length=TEXT_MAX, blank=True, default="")
    disease = models.CharField(max_length=TEXT_MAX, blank=True, default="")
    sex = models.CharField(max_length=16, blank=True, default="", choices=choices_for(Vocabulary.SEX))
    developmental_stage = models.CharField(max_length=TEXT_MAX, blank=True, default="")
    sample_id = models.CharField(max_length=TEXT_MAX, blank=True, default="")
    treatment = models.CharField(max_length=TEXT_MAX, blank=True, default="")
    genotype = models.CharField(max_length=TEXT_MAX, blank=True, default="")
    # Technical metadata
    assay_type = models.CharField(
        max_length=32, blank=True, default="", db_index=True, choices=choices_for(Vocabulary.ASSAY_TYPE)
    )
    data_type = models.CharField(max_length=32, blank=True, default="", choices=choices_for(Vocabulary.DATA_TYPE))
    file_format = models.CharField(max_length=32, blank=True, default="", db_index=True)
    platform = models.CharField(max_length=32, blank=True, default="", choices=choices_for(Vocabulary.PLATFORM))
    instrument_model = models.CharField(max_length=TEXT_MAX, blank=True, default="")
    library_layout = models.CharField(
        max_length=16, blank=True, default="", choices=choices_for(Vocabulary.LIBRARY_LAYOUT)
    )
    read_length = models.PositiveIntegerField(null=True, blank=True)
    reference_genome = models.CharField(max_length=TEXT_MAX, blank=True, default="")
    sequencing_date = models.DateField(null=True, blank=True)
    bioproject_accession = models.CharField(max_length=32, blank=True, default="", validators=[validate_bioproject])
    biosample_accession = models.CharField(max_length=32, blank=True, default="", validators=[validate_biosample])
    sra_accession = models.CharField(max_length=32, blank=True, default="", validators=[validate_sra])

    # Sensitive, encrypted at rest and never searchable: free-text notes, and the identifier that
    # ties a sample to a person (patient/donor id, MRN). ``sample_id`` stays a plain lab code.
    notes = EncryptedTextField(blank=True, default="")
    donor_id = EncryptedTextField(blank=True, default="", verbose_name="donor / patient identifier")

    stats = models.JSONField(default=dict, blank=True)
    parse_status = models.CharField(max_length=16, choices=ParseStatus.choices, default=ParseStatus.PENDING)
    parse_error = models.TextField(blank=True, default="")
    # When the current extraction started: a sweep re-queues extractions a dead worker left running.
    parse_started_at = models.DateTimeField(null=True, blank=True)
    # Metadata fields whose values were filled from the content rather than typed by a person.
    autofilled_fields = models.JSONField(default=list, blank=True)
    # An index sidecar (``x.bam.bai``, ``x.cram.crai``, ``x.vcf.gz.tbi``/``.csi``) points at the
    # data file it indexes, in the same folder; see ``sidecars.py``. Null for every other file.
    index_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="index_files")

    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Where a trashed file lived, for its restore (``services.folders``): ``folder_path``, and when
    # it went with a deleted folder that folder's ``root_id``/``root`` path, the deletion ``batch``
    # and the ``folders`` (path, access level) from that root down to the file's own folder.
    trash_origin = models.JSONField(null=True, blank=True, default=None)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    # What free-text search (``q``) reads: name, description, tags and metadata values, lower
    # case, computed by the database on every write so no writer can forget it. PostgreSQL
    # indexes it for full text (GIN over to_tsvector('simple', ...)); see migration 0005.
    search_text = models.GeneratedField(
        expression=SearchText("name", "description", "tags", *SEARCH_TEXT_FIELDS),
        output_field=models.TextField(),
        db_persist=True,
    )

    objects = FileQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        # Search pages sorted by name walk this index and stop after a page.
        indexes = [
            models.Index(fields=["name", "id"], name="file_name_id"),
            # The visibility rule's own-files branch (a user's files outside their projects) reads
            # this index only.
            models.Index(
                fields=["owner", "effective_access_level", "project", "id"],
                condition=Q(deleted_at__isnull=True),
                name="file_owner_level_live",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["folder", "name"],
                condition=Q(deleted_at__isnull=True, folder__isnull=False),
                name="uniq_live_file_name_in_folder",
            ),
            models.UniqueConstraint(
                fields=["project", "name"],
                condition=Q(deleted_at__isnull=True, folder__isnull=True),
                name="uniq_live_file_name_in_project_root",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def owner_name(self) -> str:
        """The owner's username: annotated as ``owner_username`` by list queries (no join of
        the user row), else read through the relation."""
        annotated = self.__dict__.get("owner_username")
        return annotated if annotated is not None else self.owner.username

    @property
    def final_checksums(self) -> list[str]:
        """The digests that are known (a tus upload's MD5 follows its SHA-256 a little later)."""
        return [name for name in ("sha256", "md5") if getattr(self, name)]


class SearchChange(models.Model):
    """One row per written file row: the feed that keeps the node's search index current
    (``search.feed``, applied by ``manage.py search_index_writer``). Written by database
    triggers on the file table (migration 0008), so no writer — ORM, bulk update or raw SQL —
    can skip it. On PostgreSQL ``xid`` is
    the writing transaction, which tells a reader which rows may still appear (a transaction
    that commits late). Old rows are pruned by ``prune_search_changes``."""

    file_id = models.BigIntegerField()
    xid = models.BigIntegerField(null=True, blank=True)
    at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        # Readers walk the feed by (xid, id) in keyset batches (``feed._pg_changes``): one
        # transaction may write a million rows, and an index on xid alone would sort them all
        # again for every batch.
        indexes = [models.Index(fields=["xid", "id"], name="searchchange_xid_id")]

    def __str__(self) -> str:
        return f"change {self.pk}: file {self.file_id}"


class SavedSearch(models.Model):
    """A user's named search: the query string of ``/search`` (filters, q, ordering)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches")
    name = models.CharField(max_length=200)
    query = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="uniq_saved_search_name")]

    def __str__(self) -> str:
        return self.name


class UploadState(models.TextChoices):
    ACTIVE = "active", "Active"
    VERIFYING = "verifying", "Verifying"  # every byte received; hashing and storing in the background
    COMPLETED = "completed", "Completed"
    TERMINATED = "terminated", "Terminated"
    EXPIRED = "expired", "Expired"
    FAILED = "failed", "Failed"


class UploadConcat(models.TextChoices):
    """The tus ``concatenation`` extension (``file_upload.concat``): a partial upload holds a
    piece of a file and never becomes a File; a final upload is the File made of its parts."""

    NONE = "", "Whole file"
    PARTIAL = "partial", "Partial"
    FINAL = "final", "Final"


class Upload(models.Model):
    """A tus upload in progress: the state lives here and the bytes in ``UPLOAD_TMP_DIR/tus/``,
    so any gunicorn worker on any node can take the next PATCH, and a restart loses nothing."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads")
    # Null for a partial upload (tus concatenation): it names no target; its final upload does.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, null=True, blank=True, related_name="uploads")
    folder = models.ForeignKey(Folder, on_delete=models.SET_NULL, null=True, blank=True, related_name="uploads")
    filename = models.CharField(max_length=255, blank=True)
    length = models.BigIntegerField(null=True, blank=True)  # null while the length is deferred
    offset = models.BigIntegerField(default=0)
    metadata = models.JSONField(default=dict, blank=True)  # the decoded Upload-Metadata
    raw_metadata = models.TextField(blank=True, default="")  # echoed on HEAD as the client sent it
    state = models.CharField(max_length=16, choices=UploadState.choices, default=UploadState.ACTIVE, db_index=True)
    file = models.ForeignKey(File, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    error = models.TextField(blank=True, default="")
    expires_at = models.DateTimeField(db_index=True)
    # A lease instead of a row lock: a PATCH streams for minutes, and holding a transaction that
    # long would block every writer on SQLite. The loser of a race gets 423 and retries.
    lock_token = models.UUIDField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    # Finalisation (state "verifying"): when the last byte arrived, when the background task was
    # last queued (the stale sweep re-queues it), and the store key the bytes go under, chosen
    # before they move so that a retried finalisation finds them wherever a dead one left them.
    received_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    storage_key = models.CharField(max_length=255, blank=True, default="", editable=False)
    # The SHA-256 of bytes [0, offset), saved with every offset (file_upload.hashstate), so the
    # next PATCH, on any worker or node, goes on hashing where the last one stopped. Null when it
    # was lost; finalisation then reads the file once more.
    sha256_state = models.BinaryField(null=True, blank=True, editable=False)
    # In an object store (BIOFM_STORAGE=s3) the bytes go into one S3 multipart upload under
    # ``storage_key``: its id and the parts sent so far ({"n", "etag", "size"}); the bytes past
    # the last part wait in a small object of the bucket (file_upload.tus_store).
    store_upload_id = models.CharField(max_length=1024, blank=True, default="", editable=False)
    store_parts = models.JSONField(default=list, blank=True, editable=False)
    concat = models.CharField(max_length=8, choices=UploadConcat.choices, default=UploadConcat.NONE, blank=True)
    # A final upload's partial uploads, in order (their ids), as named in its Upload-Concat.
    parts = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.offset}/{self.length if self.length is not None else '?'})"
