"""FilterSets for grants and audit events."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from file_project.parsers import IdFilter, UtcIsoDateTimeFilter

from .models import AccessGrant, AuditEvent, ObjectType


class AuditEventFilterSet(django_filters.FilterSet):
    actor = django_filters.CharFilter(field_name="actor_username", label="Username of the actor")
    action = django_filters.CharFilter(method="filter_action", label="Action, or a prefix ending in “.” (file.)")
    project = IdFilter(field_name="project_id")
    since = UtcIsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = UtcIsoDateTimeFilter(field_name="timestamp", lookup_expr="lte")

    class Meta:
        model = AuditEvent
        fields = ["object_type", "object_id"]

    def filter_action(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value.endswith("."):
            return queryset.filter(action__startswith=value)
        return queryset.filter(action=value)


class AccessGrantFilterSet(django_filters.FilterSet):
    object_type = django_filters.ChoiceFilter(choices=ObjectType.choices)
    object = IdFilter(method="filter_object", label="Object id (with object_type)")
    subject_type = django_filters.ChoiceFilter(choices=[("user", "user"), ("group", "group")], method="filter_kind")
    # An id matched against the grants the caller may list: a project they cannot name gives the
    # same empty page as a missing one (a choice filter would tell them apart).
    project = IdFilter(field_name="project_id")

    class Meta:
        model = AccessGrant
        fields = ["project", "permission"]

    def filter_object(self, queryset: QuerySet, name: str, value: int) -> QuerySet:
        object_type = self.data.get("object_type") or "project"
        return queryset.filter(**{f"{object_type}_id": value})

    def filter_kind(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(**{f"subject_{value}__isnull": False})
