"""Request and response shapes of the NCBI import API."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from file_project.parsers import (
    StrictBooleanField,
    StrictCharField,
    StrictIntegerSerializerField,
    StrictModelSerializer,
)

from .models import ImportKind, NcbiImport


class NcbiImportRequestSerializer(serializers.Serializer):
    url = StrictCharField(max_length=2000, help_text="An NCBI link or a bare accession.")
    parent_folder = StrictIntegerSerializerField(required=False, allow_null=True, help_text="Target folder id.")
    project = StrictIntegerSerializerField(
        required=False, allow_null=True, help_text="Target project (its root) when no parent_folder is given."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("parent_folder") is None and attrs.get("project") is None:
            raise serializers.ValidationError({"parent_folder": ["Give parent_folder or project."]})
        return attrs


class NcbiPreviewSerializer(serializers.Serializer):
    """``GET /api/files/ncbi/preview/``: the detected record and a short summary from NCBI."""

    kind = serializers.ChoiceField(choices=ImportKind.choices)
    kind_label = StrictCharField()
    accession = StrictCharField()
    background = StrictBooleanField(help_text="The payload downloads in the background (SRA reads)")
    summary = serializers.DictField(help_text="NCBI's summary of the record; its keys depend on the kind")


class NcbiProgressSerializer(serializers.Serializer):
    bytes = StrictIntegerSerializerField()
    total = StrictIntegerSerializerField(allow_null=True)
    percent = StrictIntegerSerializerField(allow_null=True)


class NcbiImportSerializer(StrictModelSerializer):
    """``file`` is the first stored File's id: null while an SRA download is pending or
    running (and after a failure); ``files`` lists all of them (both mates of a paired run)."""

    files = serializers.ListField(source="file_ids", child=StrictIntegerSerializerField(), read_only=True)
    progress = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = NcbiImport
        fields = [
            "id",
            "accession",
            "kind",
            "status",
            "file",
            "files",
            "metadata",
            "summary",
            "progress",
            "error",
            "project",
            "folder",
            "source_url",
            "status_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(NcbiProgressSerializer)
    def get_progress(self, obj: NcbiImport) -> dict[str, Any]:
        total = obj.total_bytes
        percent = None
        if obj.status == "done":
            percent = 100
        elif total:
            percent = min(99, int(obj.progress_bytes * 100 / total))
        return {"bytes": obj.progress_bytes, "total": total, "percent": percent}

    def get_summary(self, obj: NcbiImport) -> dict[str, Any]:
        return (obj.record or {}).get("summary", {})

    def get_status_url(self, obj: NcbiImport) -> str:
        query = {"kind": obj.kind, "project": obj.project_id, "folder": obj.folder_id or "null"}
        return f"/api/files/ncbi/import/{quote(obj.accession)}/status/?{urlencode(query)}"
