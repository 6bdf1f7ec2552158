"""Representations of analysis tasks and the trigger request."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from access import policy
from file_project.parsers import StrictCharField, StrictIntegerSerializerField, StrictModelSerializer

from . import registry
from .models import MLTask


class TriggerSerializer(serializers.Serializer):
    task_type = StrictCharField(max_length=64)
    file_id = StrictIntegerSerializerField(min_value=1)
    params = serializers.DictField(required=False, default=dict, help_text="The analysis's options (an object)")


class TriggerResponseSerializer(serializers.Serializer):
    task_id = StrictIntegerSerializerField()
    status = StrictCharField()


class MLTaskSerializer(StrictModelSerializer):
    file_name = StrictCharField(source="file.name", read_only=True)
    submitter = serializers.SerializerMethodField()
    label = serializers.SerializerMethodField()

    class Meta:
        model = MLTask
        fields = [
            "id",
            "task_type",
            "label",
            "file",
            "file_name",
            "submitter",
            "status",
            "params",
            "result",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def to_representation(self, task: MLTask) -> dict[str, Any]:
        data = super().to_representation(task)
        request = self.context.get("request")
        data["result"] = policy.task_result_for(getattr(request, "user", None), data["result"])
        return data

    def get_submitter(self, task: MLTask) -> str | None:
        return task.submitter.get_username() if task.submitter_id else None

    def get_label(self, task: MLTask) -> str:
        handler = registry.handler_for(task.task_type)
        return handler.label if handler else task.task_type


class TaskTypeSerializer(serializers.Serializer):
    task_type = StrictCharField()
    label = StrictCharField()
    description = StrictCharField()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return dict(instance)


class SimilarFileRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    project = serializers.IntegerField()
    project_name = serializers.CharField()
    file_format = serializers.CharField()
    organism = serializers.CharField()
    assay_type = serializers.CharField()
    description = serializers.CharField(help_text="The first 200 characters")


class SimilarFileSerializer(serializers.Serializer):
    score = serializers.FloatField(help_text="Cosine similarity to the asked file")
    file = SimilarFileRefSerializer()


class SimilarFilesSerializer(serializers.Serializer):
    """``GET /api/files/<id>/similar/``: the files you may see, most similar first."""

    file = serializers.IntegerField()
    model = serializers.CharField()
    count = serializers.IntegerField()
    results = SimilarFileSerializer(many=True)
