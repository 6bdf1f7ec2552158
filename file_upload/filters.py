"""FilterSets for the workspace lists."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from access.viewsets import restricted_choices
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


class FolderFilterSet(django_filters.FilterSet):
    parent = django_filters.CharFilter(method=_parent_filter("parent"), label="Parent folder id or null")
    project = django_filters.ModelChoiceFilter(queryset=restricted_choices(Project))

    class Meta:
        model = Folder
        fields = ["project"]


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
        spec.name: django_filters.CharFilter(method="noop", label=spec.label) for spec in declarations.FILTERS
    }
    attrs["facets"] = django_filters.CharFilter(method="noop", label=declarations.FACETS_PARAM_LABEL)
    attrs["__module__"] = __name__
    attrs["__doc__"] = "The search parameters of ``GET /api/files/``, from ``search.declarations``."
    return type(_SearchFilterSet)(name, (_SearchFilterSet,), attrs)


FileFilterSet = declared_filterset()


class TrashFilterSet(django_filters.FilterSet):
    """The trash by project: an id, matched against the rows the caller may list (a project
    the caller cannot name gives the same empty page as a missing one)."""

    project = IdFilter(field_name="project_id")

    class Meta:
        model = File
        fields = ["project"]
