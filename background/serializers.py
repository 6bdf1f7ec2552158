from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import serializers

from file_project.parsers import StrictModelSerializer

from .models import BackgroundTask

# The stubs' generic classes are not subscriptable at run time.
if TYPE_CHECKING:
    _ModelSerializer = serializers.ModelSerializer[BackgroundTask]
else:
    _ModelSerializer = StrictModelSerializer


class BackgroundTaskSerializer(_ModelSerializer):
    class Meta:
        model = BackgroundTask
        fields = [
            "id", "task_id", "name", "object_id", "state", "attempts", "queued_at", "started_at", "finished_at",
            "error", "result",
        ]  # fmt: skip
        read_only_fields = fields
