"""Serializers for projects, folders and files (the 22 metadata fields exposed flat)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import ISO_8601, serializers
from rest_framework.relations import ManyRelatedField, PKOnlyObject, RelatedField
from rest_framework.settings import api_settings

from access import policy
from access.viewsets import RestrictedModelSerializer, RestrictedPrimaryKeyRelatedField
from file_project.parsers import (
    TEXT_VALUES,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerSerializerField,
    StrictModelSerializer,
    reads_text,
)

from . import search, services
from .metadata import METADATA_FIELD_NAMES, METADATA_FIELDS
from .models import AccessLevel, File, Folder, NodeAccessLevel, Project, ProjectGroup, ProjectMember, Role, SavedSearch
from .privacy import privacy_hints
from .validators import normalise_name, validate_object_name


class NameField(StrictCharField):
    """A folder or file name: validated against path traversal and length."""

    def __init__(self, **kwargs: Any) -> None:
        # The validator checks the real limit, 255 bytes of UTF-8; no name of more than 255
        # characters can be within it, so that is the length the schema declares.
        kwargs.setdefault("max_length", 255)
        kwargs.setdefault("help_text", "At most 255 bytes in UTF-8.")
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        self.validators.append(validate_object_name)

    def to_internal_value(self, data: Any) -> str:
        return normalise_name(super().to_internal_value(data))


class TagsField(serializers.ListField):
    """Tags as a JSON list, or a comma-separated string from multipart forms."""

    child = StrictCharField(max_length=64, allow_blank=True)

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, str):
            if not reads_text(self):  # a JSON body says a list, as the schema does
                self.fail("not_a_list", input_type=type(data).__name__)
            data = data.split(",")
        elif hasattr(data, "getlist"):
            data = [part for item in data.getlist(self.field_name) for part in str(item).split(",")]
        return services.normalise_tags(super().to_internal_value(data))

    def get_value(self, dictionary: Any) -> Any:
        if hasattr(dictionary, "getlist") and self.field_name in dictionary:
            values = dictionary.getlist(self.field_name)
            return ",".join(values) if len(values) > 1 else values[0]
        return super().get_value(dictionary)


MY_PERMISSIONS = ["view", "download", "upload", "edit", "delete", "manage"]


class MyPermissionsMixin(serializers.Serializer):
    """``my_permissions``: what the caller may do with the object (``view``, ``download``,
    ``upload``, ``edit``, ``delete``, ``manage``), asked of the access policy
    (``access.policy.permissions_on``, the rules of ``can``), so that clients can
    disable what would be refused."""

    my_permissions = serializers.SerializerMethodField(
        help_text="Actions the caller may take on this object: view, download, upload, edit, delete, manage."
    )

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=MY_PERMISSIONS)))
    def get_my_permissions(self, obj: Any) -> list[str]:
        from access.policy import PermissionMemo, permissions_on

        request = self.context.get("request")
        if request is None:
            return []
        # In a listing every object comes from the caller's visible queryset; the ranks of
        # objects in one folder are worked out once per response.
        listed = isinstance(self.parent, serializers.ListSerializer)
        memo = self.context.setdefault("_permission_memo", PermissionMemo(request.user)) if listed else None
        return permissions_on(request.user, obj, visible=True if listed else None, memo=memo)


TOTALS = "_project_totals"


class ProjectListSerializer(serializers.ListSerializer):
    """A page of projects: the files and bytes the caller sees in each are asked once for the
    page (``search.project_totals``)."""

    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        projects = list(data.all() if hasattr(data, "all") else data)
        request = self.context.get("request")
        if request is not None:
            self.context[TOTALS] = search.project_totals(request.user, [project.id for project in projects])
        return super().to_representation(projects)


class ProjectSerializer(MyPermissionsMixin, StrictModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    my_role = serializers.SerializerMethodField()
    file_count = StrictIntegerSerializerField(read_only=True, default=0)
    total_size = StrictIntegerSerializerField(read_only=True, default=0)
    seen_from_outside = StrictBooleanField(
        read_only=True, default=False, help_text="The caller sees only something inside: name, link and counts"
    )
    name = StrictCharField(max_length=Project._meta.get_field("name").max_length)
    description = StrictCharField(required=False, allow_blank=True)
    holds_human_data = StrictBooleanField(required=False)

    class Meta:
        model = Project
        list_serializer_class = ProjectListSerializer
        fields = [
            "id",
            "name",
            "description",
            "owner",
            "access_level",
            "retention_days",
            "holds_human_data",
            "quota_bytes",
            "my_role",
            "my_permissions",
            "file_count",
            "total_size",
            "created_at",
            "updated_at",
            "seen_from_outside",
        ]
        read_only_fields = ["id", "owner", "created_at", "updated_at"]
        # Uniqueness is answered as 409 by the service, not as a field error here.
        extra_kwargs: dict[str, Any] = {}
        # Seen from outside, every field but these is null (file_project.schema reads this).
        response_nullable = [
            name for name in fields if name not in {"id", "name", "file_count", "total_size", "seen_from_outside"}
        ]

    def get_my_role(self, project: Project) -> str | None:
        request = self.context.get("request")
        return policy.project_role(request.user, project) if request else None

    def to_representation(self, project: Project) -> dict[str, Any]:
        """Seen from outside (the caller reaches only something inside): the name and a link,
        the counts of what the caller sees, and nothing else."""
        request = self.context.get("request")
        files, size = self._totals(project)
        if request is not None and not policy.sees_project_fully(request.user, project):
            outside = dict.fromkeys(self.Meta.fields)
            outside.update(id=project.id, name=project.name, seen_from_outside=True)
            return {**outside, "file_count": files, "total_size": size}
        return {
            **super().to_representation(project),
            "file_count": files,
            "total_size": size,
            "seen_from_outside": False,
        }

    def _totals(self, project: Project) -> tuple[int, int]:
        """The number and bytes of the live files the caller sees in the project: the page's
        (``ProjectListSerializer``), or asked for this project alone."""
        request = self.context.get("request")
        if request is None or project.pk is None:
            return 0, 0
        known = self.context.get(TOTALS)
        if known is None:
            known = search.project_totals(request.user, [project.pk])
        return known.get(project.pk, (0, 0))


class FolderRefSerializer(StrictModelSerializer):
    class Meta:
        model = Folder
        fields = ["id", "name"]


class FolderSerializer(MyPermissionsMixin, RestrictedModelSerializer):
    name = NameField()
    path = StrictCharField(source="name_path", read_only=True)
    ancestors = serializers.SerializerMethodField()
    on_conflict = serializers.ChoiceField(
        choices=[services.OnConflict.REFUSE.value, services.OnConflict.KEEP_BOTH.value],
        required=False,
        write_only=True,
        help_text="When a rename or move meets a folder of the same name: refuse (409 name_conflict) "
        "or keep_both (this folder becomes “name (2)”). Folders are never replaced or merged.",
    )

    class Meta:
        model = Folder
        fields = [
            "id",
            "project",
            "parent",
            "name",
            "path",
            "access_level",
            "effective_access_level",
            "ancestors",
            "my_permissions",
            "created_at",
            "updated_at",
            "on_conflict",
        ]
        read_only_fields = ["id", "path", "effective_access_level", "created_at", "updated_at"]
        validators: list = []

    @extend_schema_field(FolderRefSerializer(many=True))
    def get_ancestors(self, folder: Folder) -> list[dict[str, Any]]:
        if not self.context.get("with_ancestors"):
            return []
        return FolderRefSerializer(services.folder_ancestors(folder), many=True).data

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None and "project" in attrs and attrs["project"] != self.instance.project:
            raise serializers.ValidationError({"project": ["A folder cannot move to another project."]})
        return attrs


# Per serializer class: (name, shared field or None, attribute to read, method name, a moment).
Plan = list[tuple[str, serializers.Field | None, str | None, str | None, bool]]
_PLANS: dict[type, Plan] = {}


def _context_free(field: serializers.Field) -> bool:
    """A field whose output depends on the value alone, never on its serializer, the context
    or the request: DRF's own scalar, date, JSON and list fields (as long as nobody overrode
    ``to_representation``) and primary-key relations. One instance of it can serve every
    request; anything else is built per serializer as DRF does."""
    if isinstance(field, serializers.ListField) and not _context_free(field.child):
        return False
    if isinstance(field, serializers.PrimaryKeyRelatedField):  # rendering reads the id, nothing else
        kind = type(field)
        return (
            field.pk_field is None
            and kind.to_representation is serializers.PrimaryKeyRelatedField.to_representation
            and kind.get_attribute is RelatedField.get_attribute
        )
    scalar = (
        serializers.CharField,
        serializers.ChoiceField,
        serializers.IntegerField,
        serializers.FloatField,
        serializers.DecimalField,
        serializers.BooleanField,
        serializers.DateTimeField,
        serializers.DateField,
        serializers.JSONField,
        serializers.UUIDField,
        serializers.ListField,
        serializers.ReadOnlyField,
    )
    return isinstance(field, scalar) and type(field).to_representation.__module__ == "rest_framework.fields"


def _plan(serializer: serializers.Serializer) -> Plan:
    """Per serializer class: (name, shared field or None, attribute to read, method name, whether
    it is a moment ``_iso_moment`` renders) for every readable field, from one prototype instance
    built without context."""
    cls = type(serializer)
    plan = _PLANS.get(cls)
    if plan is None:
        plan = []
        for field in cls().fields.values():
            if field.write_only:
                continue
            if isinstance(field, serializers.SerializerMethodField):
                plan.append((field.field_name, None, None, field.method_name, False))
            elif _context_free(field):
                attribute = field.source_attrs[0] if _plain(field) else None
                plan.append((field.field_name, field, attribute, None, _plain_moment(field)))
            else:
                plan.append((field.field_name, None, None, None, False))
        _PLANS[cls] = plan
    return plan


def _plain_moment(field: serializers.Field) -> bool:
    """DRF's own ``DateTimeField`` with the ISO 8601 format and the current time zone."""
    return (
        type(field) is serializers.DateTimeField
        and getattr(field, "format", api_settings.DATETIME_FORMAT) == ISO_8601
        and not hasattr(field, "timezone")
    )


def _iso_moment(value: dt.datetime, zone: Any) -> str:
    """What DRF's ``DateTimeField.to_representation`` gives for an aware moment in ISO 8601: the
    moment in ``zone`` (the current time zone), ``Z`` for UTC. DRF asks the current time zone
    for every value (~15 of its ~20 µs); a page of 50 files has 100 moments."""
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _plain(field: serializers.Field) -> bool:
    """A field that reads one attribute of the instance (no relation, method or nesting)."""
    return (
        len(field.source_attrs) == 1
        and field.source != "*"
        and not isinstance(field, RelatedField | ManyRelatedField | serializers.BaseSerializer)
    )


class IndexFileSerializer(serializers.Serializer):
    id = StrictIntegerSerializerField()
    name = StrictCharField()
    size = StrictIntegerSerializerField()


# What a client may write on a file (and the answers computed per request); the rest is the server's.
FILE_EDITABLE_FIELDS = frozenset(
    {"name", "description", "tags", "access_level", "notes", "donor_id", "my_permissions", "index_files"}
    | set(METADATA_FIELD_NAMES)
)


class FileSerializer(MyPermissionsMixin, StrictModelSerializer):
    name = NameField(required=False)
    tags = TagsField(required=False)
    owner = StrictCharField(source="owner_name", read_only=True, help_text="The owner's username")
    final_checksums = serializers.ListField(
        child=StrictCharField(),
        read_only=True,
        help_text="The checksums that are known: sha256 from the start; a tus upload's md5 a little later",
    )
    download_url = serializers.SerializerMethodField()
    privacy_hints = serializers.SerializerMethodField()
    index_files = serializers.SerializerMethodField(help_text="Live index sidecars uploaded for this file")
    autofilled_fields = serializers.ListField(
        child=StrictCharField(), read_only=True, help_text="Metadata fields filled in from the file's content"
    )

    class Meta:
        model = File
        fields = [
            "id",
            "project",
            "folder",
            "name",
            "size",
            "sha256",
            "md5",
            "final_checksums",
            "content_type",
            "description",
            "tags",
            "access_level",
            "effective_access_level",
            "owner",
            "parse_status",
            "parse_error",
            "stats",
            "upload_method",
            "created_at",
            "updated_at",
            "download_url",
            "notes",
            "donor_id",
            "privacy_hints",
            "my_permissions",
            "autofilled_fields",
            "index_of",
            "index_files",
            *METADATA_FIELD_NAMES,
        ]
        read_only_fields = [name for name in fields if name not in FILE_EDITABLE_FIELDS]
        validators: list = []
        # Sensitive fields are null outside the detail view of their owner and editors.
        response_nullable = services.SENSITIVE_FILE_FIELDS

    @extend_schema_field(IndexFileSerializer(many=True))
    def get_index_files(self, file: File) -> list[dict[str, Any]]:
        if not self.context.get("detail"):
            return []
        from .sidecars import index_for

        request = self.context.get("request")
        index = index_for(file, reader=request.user if request is not None else None)
        return [{"id": index.id, "name": index.name, "size": index.size}] if index else []

    def get_download_url(self, file: File) -> str:
        return f"/api/files/{file.id}/download/"

    def get_privacy_hints(self, file: File) -> list[dict[str, str]]:
        """Values that look like personal data (e-mail, birth date, MRN, a person's name)."""
        metadata = {field: getattr(file, field) for field in METADATA_FIELD_NAMES}
        return privacy_hints(file.name, metadata, description=file.description, tags=file.tags)

    def to_representation(self, file: File) -> dict[str, Any]:
        # Encrypted fields that are not shown are not read either: a listing loads its files
        # without them (``FileViewSet.list``), so no personal value is decrypted for a page.
        shown = self._shows_sensitive(file)
        return self._represent(file, hidden=frozenset() if shown else services.SENSITIVE_FILE_FIELDS)

    def _represent(self, file: File, hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
        """``ModelSerializer.to_representation`` without its per-field lookup machinery: plain
        model fields are read with ``getattr`` (a search page is 50 files × 46 fields), the
        others through the field as DRF does; each value still goes through a field's own
        ``to_representation``, so the output is the same. The fields come from ``_plan``: built
        once per class for the kinds that render a value alone, so a request does not pay ~5 ms
        to build 46 DRF fields only to read them."""
        data: dict[str, Any] = {}
        for name, field, attribute, method, moment in _plan(self):
            if name in hidden:
                data[name] = None
                continue
            if method is not None:
                data[name] = getattr(self, method)(file)
                continue
            if field is None:  # a kind the shared plan does not vouch for: this instance's own field
                field = self.fields[name]
            value = getattr(file, attribute) if attribute else field.get_attribute(file)
            if moment and value is not None and value.tzinfo is not None and (zone := self._current_zone()):
                data[name] = _iso_moment(value, zone)
            elif isinstance(value, PKOnlyObject):
                data[name] = None if value.pk is None else field.to_representation(value)
            else:
                data[name] = None if value is None else field.to_representation(value)
        return data

    _zone: Any = None

    def _current_zone(self) -> Any:
        """The current time zone (``None`` without ``USE_TZ``: DRF's own path renders), asked once
        per serializer: a response renders with one."""
        if self._zone is None and settings.USE_TZ:
            self._zone = timezone.get_current_timezone()
        return self._zone

    def _shows_sensitive(self, file: File) -> bool:
        """Encrypted fields appear on the detail view, to the file's owner and its editors only."""
        request = self.context.get("request")
        if not self.context.get("detail") or request is None or not request.user.is_authenticated:
            return False
        return policy.may_read_sensitive(request.user, file)


def _on_conflict_field() -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=[c.value for c in services.OnConflict],
        required=False,
        default=services.OnConflict.REFUSE.value,
        help_text="When the name is taken: refuse (409), replace (the old file goes to the trash) "
        "or keep_both (stored as “name (2).ext”).",
    )


class DeletedFolderSerializer(serializers.Serializer):
    """The deleted folder a trashed file went with: one Trash item, restorable as a whole."""

    id = StrictIntegerSerializerField(help_text="The deleted folder's former id (``deleted_folder`` filter).")
    path = StrictCharField()
    files = StrictIntegerSerializerField(help_text="How many of that deletion's files the caller may restore.")


class TrashedFileSerializer(StrictModelSerializer):
    """A file in the trash: what it was, when it went, and when it will be purged."""

    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    project_name = StrictCharField(source="project.name", read_only=True)
    purge_after = serializers.SerializerMethodField()
    folder_path = serializers.SerializerMethodField()
    deleted_folder = serializers.SerializerMethodField()

    class Meta:
        model = File
        fields = [
            "id",
            "project",
            "project_name",
            "folder",
            "name",
            "size",
            "sha256",
            "owner",
            "deleted_at",
            "purge_after",
            "folder_path",
            "deleted_folder",
        ]
        read_only_fields = fields

    def get_folder_path(self, file: File) -> str | None:
        """The folder the file lived in ("/a/b"), null for the project's top level."""
        if file.folder_id:
            return file.folder.name_path
        return (file.trash_origin or {}).get("folder_path")

    @extend_schema_field(DeletedFolderSerializer(allow_null=True))
    def get_deleted_folder(self, file: File) -> dict[str, Any] | None:
        origin = file.trash_origin or {}
        if not origin.get("batch"):
            return None
        counts = self.context.setdefault("batch_counts", {})
        if origin["batch"] not in counts:
            # Every deletion batch of the page at once (one query, not one per batch).
            page = self.parent.instance if isinstance(self.parent, serializers.ListSerializer) else None
            batches = {(row.trash_origin or {}).get("batch") for row in page or []} - {None} | {origin["batch"]}
            rows = self.context.get("trashed")
            rows = rows if rows is not None else File.objects.filter(deleted_at__isnull=False)
            found = (
                rows.filter(trash_origin__batch__in=sorted(batches))
                .values("trash_origin__batch")
                .annotate(files=Count("id"))
                .values_list("trash_origin__batch", "files")
            )
            counts.update(dict.fromkeys(batches, 0))
            counts.update(dict(found))
        return {"id": origin["root_id"], "path": origin["root"], "files": counts[origin["batch"]]}

    def get_purge_after(self, file: File) -> str | None:
        from .retention import purge_deadline

        deadline = purge_deadline(file)
        return deadline.isoformat() if deadline else None


class FileUploadSerializer(RestrictedModelSerializer):
    """Fields of the one-shot multipart upload; the file itself is checked by the view."""

    file = serializers.FileField(write_only=True, allow_empty_file=True, use_url=False)
    name = NameField(required=False)
    tags = TagsField(required=False)
    project = RestrictedPrimaryKeyRelatedField(
        queryset=Project.objects.all(),
        required=False,
        help_text="Optional when ``folder`` is given: the folder names its project.",
    )
    folder = RestrictedPrimaryKeyRelatedField(queryset=Folder.objects.all(), required=False, allow_null=True)
    consent_confirmed = StrictBooleanField(
        required=False, default=False, help_text="Required for projects holding human data."
    )
    on_conflict = _on_conflict_field()

    class Meta:
        model = File
        fields = [
            "file",
            "project",
            "folder",
            "name",
            "description",
            "tags",
            "access_level",
            "consent_confirmed",
            "on_conflict",
            *METADATA_FIELD_NAMES,
        ]
        validators: list = []

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        folder = attrs.get("folder")
        if "project" not in attrs:
            if folder is None:
                message = "Give a project, or a folder (which names its project)."
                raise serializers.ValidationError({"project": [message]})
            attrs["project"] = folder.project
        elif folder is not None and folder.project_id != attrs["project"].id:
            raise serializers.ValidationError({"folder": ["The folder belongs to another project."]})
        return attrs


class NameCheckSerializer(serializers.Serializer):
    """Names about to be uploaded into a project's folder (null: its root)."""

    project = RestrictedPrimaryKeyRelatedField(queryset=Project.objects.all())
    folder = RestrictedPrimaryKeyRelatedField(queryset=Folder.objects.all(), required=False, allow_null=True)
    names = serializers.ListField(child=NameField(), max_length=10_000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        folder = attrs.get("folder")
        if folder is not None and folder.project_id != attrs["project"].id:
            raise serializers.ValidationError({"folder": ["The folder belongs to another project."]})
        return attrs


class MoveSerializer(serializers.Serializer):
    """Where a file goes: ``folder`` (its project follows), or the root of ``project``."""

    project = RestrictedPrimaryKeyRelatedField(queryset=Project.objects.all(), required=False)
    folder = RestrictedPrimaryKeyRelatedField(queryset=Folder.objects.all(), required=False, allow_null=True)
    on_conflict = _on_conflict_field()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        folder, project = attrs.get("folder"), attrs.get("project")
        if folder is not None and project is not None and folder.project_id != project.id:
            raise serializers.ValidationError({"folder": ["The folder belongs to another project."]})
        if "folder" not in attrs and project is None:
            raise serializers.ValidationError({"folder": ["Give the target folder, or null and a project."]})
        attrs["on_conflict"] = services.OnConflict(attrs["on_conflict"])
        return attrs


class RestoreSerializer(serializers.Serializer):
    """How much a restore brings back."""

    whole_folder = StrictBooleanField(
        required=False,
        default=False,
        help_text="Restore every file deleted with the same folder (re-creating its folders), not only this one.",
    )


class RestoredSerializer(FileSerializer):
    """The restored file, and what the restore did."""

    restored_count = serializers.IntegerField(read_only=True, help_text="Files taken out of the trash by this request.")
    to_top_level = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Names of restored files whose folder no longer exists: they are at the project's top level.",
    )
    message = serializers.CharField(read_only=True, help_text="What happened, in words for the user.")

    class Meta(FileSerializer.Meta):
        fields = [*FileSerializer.Meta.fields, "restored_count", "to_top_level", "message"]


class UploadMetadataSerializer(FileUploadSerializer):
    """The multipart upload's fields, checked against a tus upload's ``Upload-Metadata`` when it
    is created (its bytes come later)."""

    file = None

    class Meta(FileUploadSerializer.Meta):
        fields = [name for name in FileUploadSerializer.Meta.fields if name != "file"]

    @classmethod
    def canonical(
        cls, metadata: dict[str, str], project: Project, folder: Folder | None, request: Any
    ) -> dict[str, str]:
        """``metadata`` with the fields a tus upload stores validated (400 with a message per
        field) and written in their canonical form (``taxon_id`` as digits, dates ISO)."""
        stored = ("description", "tags", *METADATA_FIELD_NAMES)
        data: dict[str, Any] = {name: metadata[name] for name in stored if metadata.get(name, "") != ""}
        target = {"project": project.id, "folder": folder.id if folder else None}
        serializer = cls(data={**data, **target}, context={"request": request, TEXT_VALUES: True})
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        canonical = dict(metadata)
        for name in data:
            if name in METADATA_FIELD_NAMES and values.get(name) is not None:
                value = values[name]
                canonical[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return canonical


class PrivacyCheckSerializer(serializers.Serializer):
    """What an upload dialog is about to send: checked for personal data before it is stored."""

    name = StrictCharField(required=False, allow_blank=True, max_length=1024)
    description = StrictCharField(required=False, allow_blank=True, max_length=10000)
    tags = serializers.ListField(child=StrictCharField(max_length=64), required=False, max_length=100)
    metadata = serializers.DictField(child=StrictCharField(allow_blank=True, max_length=1000), required=False)


class PrivacyHintSerializer(serializers.Serializer):
    field = StrictCharField()
    kind = serializers.ChoiceField(choices=["email", "mrn", "date_of_birth", "person_name"])
    message = StrictCharField()


class MetadataFieldSerializer(serializers.Serializer):
    name = serializers.ChoiceField(choices=METADATA_FIELD_NAMES)
    label = StrictCharField()
    group = StrictCharField()
    type = StrictCharField(source="kind")
    choices = serializers.ListField(child=StrictCharField(), allow_null=True)
    help = StrictCharField()


class FacetNameSerializer(serializers.Serializer):
    name = StrictCharField()
    label = StrictCharField()


class MetadataFieldsSerializer(serializers.Serializer):
    """``GET /api/metadata/fields/``: the 22 fields, the access levels and the search's facets."""

    access_levels = serializers.ListField(child=serializers.ChoiceField(choices=AccessLevel.choices))
    facets = FacetNameSerializer(many=True)


# "fields" would shadow Serializer.fields as a class attribute; declared beside it instead.
MetadataFieldsSerializer._declared_fields = {
    "fields": MetadataFieldSerializer(many=True),
    **MetadataFieldsSerializer._declared_fields,
}


def metadata_fields_payload() -> dict[str, Any]:
    from .models import AccessLevel
    from .search.declarations import facet_list

    return {
        "fields": MetadataFieldSerializer(METADATA_FIELDS, many=True).data,
        "access_levels": list(AccessLevel.values),
        # The facets a search may count, from the search declarations (the SPA's facet list).
        "facets": facet_list(),
    }


class MemberSerializer(serializers.Serializer):
    """A role in a project, for a user or a group; the project's owner is listed with ``id`` null."""

    id = StrictIntegerSerializerField(read_only=True, allow_null=True)
    kind = serializers.ChoiceField(choices=["user", "group"])
    name = StrictCharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)

    def to_representation(self, member: Any) -> dict[str, Any]:
        if isinstance(member, ProjectGroup):
            return {"id": member.id, "kind": "group", "name": member.group.name, "role": member.role}
        if isinstance(member, ProjectMember):
            return {"id": member.id, "kind": "user", "name": member.user.get_username(), "role": member.role}
        return {"id": None, "kind": "user", "name": member.get_username(), "role": Role.OWNER}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        if "kind" not in attrs or "name" not in attrs:
            raise serializers.ValidationError({"name": ["Give the member's kind (user or group) and name."]})
        if attrs["kind"] == "user":
            subject = get_user_model().objects.filter(username=attrs["name"], is_active=True).first()
        else:
            subject = Group.objects.filter(name=attrs["name"]).first()
        if subject is None:
            raise serializers.ValidationError({"name": [f"No {attrs['kind']} named “{attrs['name']}”."]})
        attrs["subject"] = subject
        return attrs


def project_members(project: Project) -> list[Any]:
    """The owner first, then user members, then group roles."""
    return [
        project.owner,
        *ProjectMember.objects.filter(project=project).select_related("user").order_by("user__username"),
        *ProjectGroup.objects.filter(project=project).select_related("group").order_by("group__name"),
    ]


class SavedSearchSerializer(StrictModelSerializer):
    name = StrictCharField(max_length=SavedSearch._meta.get_field("name").max_length)
    query = StrictCharField(required=False, allow_blank=True)

    class Meta:
        model = SavedSearch
        fields = ["id", "name", "query", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate_query(self, value: str) -> str:
        return value.lstrip("?")[:4000]


# --- Response bodies declared for the schema (the views build these bodies themselves) ----------


# Choice sets of the access explanation, named in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].
OBJECT_TYPES = ["project", "folder", "file"]
ACCESS_RULE_KINDS = ["level", "superuser", "owner", "project_owner", "member", "group_member", "grant"]
ACCESS_SUBJECT_TYPES = ["everyone", "signed_in", "user", "group"]
ACCESS_RANKS = ["none", "view", "edit", "manage"]


class AccessNodeSerializer(serializers.Serializer):
    """One link of an access chain; a folder the reader cannot see has no id or name, and a
    project seen from outside no level."""

    type = serializers.ChoiceField(choices=OBJECT_TYPES)
    id = StrictIntegerSerializerField(allow_null=True)
    name = StrictCharField(allow_null=True)
    access_level = serializers.ChoiceField(choices=NodeAccessLevel.choices, allow_null=True)


class AccessViaSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=OBJECT_TYPES)
    id = StrictIntegerSerializerField(allow_null=True)
    name = StrictCharField(allow_null=True)


class AccessRuleSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ACCESS_RULE_KINDS)
    subject_type = serializers.ChoiceField(choices=ACCESS_SUBJECT_TYPES)
    subject = StrictCharField(required=False)
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    permission = StrictCharField(required=False)
    via = AccessViaSerializer(required=False)
    description = StrictCharField()


class AccessCheckSerializer(serializers.Serializer):
    user = StrictCharField()
    visible = StrictBooleanField()
    rank = serializers.ChoiceField(choices=ACCESS_RANKS)
    reasons = serializers.ListField(child=StrictCharField())


class AccessExplanationSerializer(serializers.Serializer):
    """``GET <object>/access/``: the effective level, where it comes from, the chain of levels
    and every rule that lets someone see the object; ``check`` only with ``?user=``."""

    object_type = serializers.ChoiceField(choices=OBJECT_TYPES)
    object = StrictIntegerSerializerField()
    name = StrictCharField()
    access_level = serializers.ChoiceField(choices=NodeAccessLevel.choices)
    effective_access_level = serializers.ChoiceField(choices=AccessLevel.choices)
    source = AccessNodeSerializer()
    chain = AccessNodeSerializer(many=True)
    rules = AccessRuleSerializer(many=True)
    check = AccessCheckSerializer(required=False)


class ConflictSerializer(serializers.Serializer):
    name = StrictCharField()
    file = StrictIntegerSerializerField()
    can_replace = StrictBooleanField()


class ConflictsSerializer(serializers.Serializer):
    conflicts = ConflictSerializer(many=True)


class SuggestionSerializer(serializers.Serializer):
    kind = StrictCharField(help_text="``name`` for a file name, else the metadata field")
    value = StrictCharField()


class SuggestionsSerializer(serializers.Serializer):
    results = SuggestionSerializer(many=True)


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "integer"}]})
class FacetValueField(serializers.JSONField):
    """A facet's value: text, or a project's id."""


class FacetValueSerializer(serializers.Serializer):
    value = FacetValueField(help_text="The field's value (a project's id for ``project``)")
    count = StrictIntegerSerializerField()
    label = StrictCharField(required=False, help_text="A project's name, for ``project``")


@extend_schema_serializer(many=False)
class FilePageSerializer(serializers.Serializer):
    """A page of the file search: numbered pages carry ``count``; cursor pages (``cursor=`` or
    ``pagination=cursor``) do not. ``facets`` only when ``facets=`` names fields."""

    count = StrictIntegerSerializerField(required=False, help_text="Matching files (numbered pages only)")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = FileSerializer(many=True)
    facets = serializers.DictField(child=FacetValueSerializer(many=True), required=False)
