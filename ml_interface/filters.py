"""Filters of the task list: ``status``, ``task_type``, ``file``."""

from django_filters import rest_framework as filters

from .models import MLTask, TaskStatus


class MLTaskFilterSet(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=TaskStatus.choices)
    task_type = filters.CharFilter()
    # Bounded: an id past 64 bits would overflow the database's integer (a 500 instead of a 400).
    file = filters.NumberFilter(field_name="file_id", min_value=1, max_value=2**63 - 1)

    class Meta:
        model = MLTask
        fields = ["status", "task_type", "file"]
