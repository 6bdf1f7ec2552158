"""Filters of the task list: ``status``, ``task_type``, ``file``."""

from django_filters import rest_framework as filters

from .models import MLTask, TaskStatus


class MLTaskFilterSet(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=TaskStatus.choices)
    task_type = filters.CharFilter()
    file = filters.NumberFilter(field_name="file_id")

    class Meta:
        model = MLTask
        fields = ["status", "task_type", "file"]
