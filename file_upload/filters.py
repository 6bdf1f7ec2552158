"""FilterSets for the workspace lists."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError

from .metadata import METADATA_FIELDS
from .models import File, Folder, Project


def _parent_filter(field: str):
    """``<field>=null`` selects the top level; ``<field>=<id>`` one node."""

    def apply(queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value.lower() in {"null", "none", "root"}:
            return queryset.filter(**{f"{field}__isnull": True})
        if not (value.isascii() and value.isdigit()):
            raise ValidationError({name: ["Expected a folder id or “null”."]})
        return queryset.filter(**{f"{field}_id": int(value)})

    return apply


class ProjectFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Name or description contains")

    class Meta:
        model = Project
        fields = ["access_level"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))


class FolderFilterSet(django_filters.FilterSet):
    parent = django_filters.CharFilter(method=_parent_filter("parent"), label="Parent folder id or null")

    class Meta:
        model = Folder
        fields = ["project"]


class FileFilterSet(django_filters.FilterSet):
    folder = django_filters.CharFilter(method=_parent_filter("folder"), label="Folder id or null (project root)")
    tags = django_filters.CharFilter(method="filter_tags", label="Comma-separated tags the file has all of")
    access_level = django_filters.CharFilter(field_name="effective_access_level")
    q = django_filters.CharFilter(method="search", label="Name or description contains")

    class Meta:
        model = File
        fields = ["project", "parse_status", *[spec.name for spec in METADATA_FIELDS]]

    def filter_tags(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        for tag in [t.strip() for t in value.split(",") if t.strip()]:
            # JSON containment is not portable to SQLite; match the quoted element instead.
            queryset = queryset.filter(tags__icontains=f'"{tag}"')
        return queryset

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))
