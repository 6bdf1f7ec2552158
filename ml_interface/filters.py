"""Filters of the task list: ``status``, ``task_type``, ``file``."""

from django_filters import rest_framework as filters

from file_project.parsers import IdFilter

from .models import MLTask, TaskStatus


class MLTaskFilterSet(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=TaskStatus.choices)
    task_type = filters.CharFilter()
    file = IdFilter(field_name="file_id")

    class Meta:
        model = MLTask
        fields = ["status", "task_type", "file"]
