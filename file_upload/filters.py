"""FilterSets for the workspace lists."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from file_project.parsers import IdFilter, parse_int

from . import search
from .models import AccessLevel, File, Folder, Project
from .search import declarations

MAX_ID = 2**63 - 1  # the largest id a database column holds; past it a filter is a 400, not a 500


def _parent_filter(field: str):
    """``<field>=null`` selects the top level; ``<field>=<id>`` one node."""

    def apply(queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value.lower() in {"null", "none", "root"}:
            return queryset.filter(**{f"{field}__isnull": True})
        return queryset.filter(**{f"{field}_id": parse_int(name, value)})

    return apply


class ProjectFilterSet(django_filters.FilterSet):
    """Projects seen from outside show only their name, so only their name can be searched,
    and their level cannot be filtered on."""

    q = django_filters.CharFilter(method="search", label="Name or description contains")
    access_level = django_filters.ChoiceFilter(choices=AccessLevel.choices, method="level")

    class Meta:
        model = Project
        fields = ["access_level"]

    def _in_full(self) -> QuerySet:
        return Project.objects.restrict(getattr(self.request, "user", None), "view").values("id")

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value, id__in=self._in_full()))

    def level(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(access_level=value, id__in=self._in_full())


_NODE_OR_NULL = {"type": "string", "pattern": "^(null|none|root|[0-9]{1,18})$"}


class FolderFilterSet(django_filters.FilterSet):
    parent = extend_schema_field(_NODE_OR_NULL)(
        django_filters.CharFilter(method=_parent_filter("parent"), label="Parent folder id or null")
    )
    # The listed folders are already the visible ones: a hidden project's id lists nothing, as a
    # missing one does.
    project = IdFilter(field_name="project_id", label="Project id")

    class Meta:
        model = Folder
        fields = ["project"]


_INTEGER = {"type": "integer", "minimum": -(2**63), "maximum": MAX_ID}
_PARAM_SCHEMAS: dict[str, dict[str, Any]] = {
    "integer": _INTEGER,
    "date": {"type": "string", "format": "date"},
    "moment": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]},
    "text": {"type": "string"},
}


def _param_schema(spec: declarations.Filter) -> dict[str, Any]:
    """The OpenAPI schema of a search parameter, from its declaration: term filters take one or
    more values (repeated, or comma-separated), vocabularies and levels are enums."""
    item = {"type": "string", "enum": list(spec.choices)} if spec.choices else _PARAM_SCHEMAS.get(spec.parse)
    item = item or {"type": "string"}
    if spec.kind == "folder":
        return {**_NODE_OR_NULL, "description": spec.label}
    if spec.kind in declarations.TERM_KINDS:
        return {"type": "array", "items": item}
    return item


def require_single_values(params: Any) -> None:
    """A search parameter of one value (a bound, the folder, ``q``) given twice is a 400, not a
    silent choice of the last one; term filters take many (``declarations.TERM_KINDS``)."""
    for spec in declarations.FILTERS:
        if spec.kind not in declarations.TERM_KINDS and len(params.getlist(spec.name)) > 1:
            raise ValidationError({spec.name: ["Give this parameter once."]})


class _SearchFilterSet(django_filters.FilterSet):
    """What every file search filter set does: its parameters are only declared (for the API
    schema and the browsable API); ``filter_queryset`` hands them to ``search``, which parses
    and applies them all at once (``search.SearchQuery``)."""

    class Meta:
        model = File
        fields: list[str] = []

    def noop(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset

    @property
    def search_query(self) -> search.SearchQuery:
        if not hasattr(self, "_search_query"):
            self._search_query = search.SearchQuery.from_params(self.data)
        return self._search_query

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return search.apply_filters(queryset, self.search_query)


def declared_filterset(name: str = "FileFilterSet") -> type[django_filters.FilterSet]:
    """A FilterSet class with one filter per declared search parameter
    (``search.declarations.FILTERS``) and ``facets``, made by django-filter's own metaclass, so
    ``base_filters`` (what the OpenAPI schema lists) is exactly the declaration."""
    attrs: dict[str, object] = {
        spec.name: extend_schema_field(_param_schema(spec))(django_filters.CharFilter(method="noop", label=spec.label))
        for spec in declarations.FILTERS
    }
    facets = {"type": "array", "items": {"type": "string", "enum": list(declarations.FACETS)}}
    attrs["facets"] = extend_schema_field(facets)(
        django_filters.CharFilter(method="noop", label=declarations.FACETS_PARAM_LABEL)
    )
    attrs["__module__"] = __name__
    attrs["__doc__"] = "The search parameters of ``GET /api/files/``, from ``search.declarations``."
    return type(_SearchFilterSet)(name, (_SearchFilterSet,), attrs)


FileFilterSet = declared_filterset()


class TrashFilterSet(django_filters.FilterSet):
    """The trash by project: an id, matched against the rows the caller may list (a project
    the caller cannot name gives the same empty page as a missing one)."""

    project = IdFilter(field_name="project_id")
    deleted_folder = IdFilter(
        field_name="trash_origin__root_id", help_text="The files deleted with this (former) folder id."
    )

    class Meta:
        model = File
        fields = ["project", "deleted_folder"]
