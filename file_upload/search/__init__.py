"""Faceted file search: the filters of ``GET /api/files/``, free text, ordering and facet counts.

Public surface:
- ``SearchQuery.from_params(params)`` — parse and validate query parameters (400 on bad input);
- ``apply_filters(files, query, skip=())`` — narrow a queryset (``skip`` leaves filters out,
  which is how a facet's own filter is excluded from its counts);
- ``order_files(files, query, ordering)`` — name, size, dates or relevance;
- ``facet_counts(user, query, fields)`` — ``{field: [{value, count}]}`` over the files the user
  may see (``visible_files``), with disjunctive semantics;
- ``search_count(user, query, files)`` — the number of matching files.

Facet counts and the count are exact ``GROUP BY``s over the visible, filtered rows (one pass per
distinct set of filters); the node's index (``search.backends``) answers the same questions
without reading rows when it is fresh, and this SQL is the reference it is tested against and
the fallback when it is not.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import BooleanField, Case, Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower

from access.policy import visible_files
from file_project.domain import InvalidInput
from file_project.parsers import as_id, parse_date, parse_int, parse_moment

from ..metadata import METADATA_FIELDS
from ..models import File, Folder
from . import declarations

if TYPE_CHECKING:
    from . import backends

FIELD_KINDS: dict[str, str] = {spec.name: spec.kind for spec in METADATA_FIELDS}

# Facets a request may ask for, and the filter parameters each one leaves out of its own counts.
FACET_FILTERS: dict[str, tuple[str, ...]] = {name: spec.facet_skips for name, spec in declarations.FACETS.items()}
FACET_COLUMNS = {"access_level": "effective_access_level", "project": "project_id"}
ORDERINGS = {"name", "size", "created_at", "updated_at", "relevance"}
FACET_LIMIT = 100


def _values(params: Mapping[str, Any], name: str) -> list[str]:
    """``name=a&name=b`` and ``name=a,b`` both mean a or b; empty parts are ignored."""
    raw = params.getlist(name) if hasattr(params, "getlist") else [params[name]] if name in params else []
    if raw and not isinstance(raw, list):
        raw = [raw]
    values: list[str] = []
    for item in raw:
        items = item if isinstance(item, list) else str(item).split(",")
        values += [str(part).strip() for part in items if str(part).strip()]
    return values


def _ints(name: str, values: list[str], message: str = "") -> list[int]:
    """Whole numbers in a database integer's range (``file_project.parsers``: ASCII digits only)."""
    return [parse_int(name, value, minimum=-(2**63)) for value in values]


def _date(name: str, value: str) -> dt.date:
    return parse_date(name, value)


def _moment(name: str, value: str, end: bool) -> dt.datetime:
    """A datetime, or a whole day: ``created_before=2026-01-31`` includes that day."""
    return parse_moment(name, value, end=end)


def _choices(name: str, values: list[str], allowed: Iterable[str]) -> list[str]:
    allowed = list(allowed)
    wrong = [value for value in values if value not in allowed]
    if wrong:
        raise InvalidInput(f"Unknown value “{wrong[0]}”; expected one of {', '.join(allowed)}.", field=name)
    return values


def _parse_values(spec: declarations.Filter, values: list[str]) -> list[Any]:
    """A term filter's values, parsed by its declared kind (400 on a bad one)."""
    if spec.parse == "integer":
        return _ints(spec.name, values)
    if spec.parse == "date":
        return [_date(spec.name, value) for value in values]
    if spec.parse == "choice":
        return _choices(spec.name, values, spec.choices or ())
    return values


def _parse_bound(spec: declarations.Filter, value: str) -> Any:
    """A range bound, parsed by its declared kind (400 on a bad one)."""
    if spec.parse == "integer":
        return _ints(spec.name, [value])[0]
    if spec.parse == "date":
        return _date(spec.name, value)
    return _moment(spec.name, value, end=spec.kind == "before")


@dataclass
class SearchQuery:
    """Validated filters. ``terms`` maps a filter name to its OR-ed values; filters are AND-ed."""

    terms: dict[str, list[Any]] = field(default_factory=dict)
    folder: int | None = None
    folder_root: bool = False
    recursive: bool = False
    ranges: dict[str, Any] = field(default_factory=dict)
    q: str = ""
    facets: list[str] = field(default_factory=list)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> SearchQuery:
        """Each declared filter parses its own values (``declarations.FILTERS``)."""
        query = cls()
        for spec in declarations.FILTERS:
            if spec.kind in declarations.TERM_KINDS:
                if values := _values(params, spec.name):
                    query.terms[spec.name] = _parse_values(spec, values)
            elif spec.kind in declarations.RANGE_KINDS:
                if value := str(params.get(spec.name, "") or "").strip():
                    query.ranges[spec.name] = _parse_bound(spec, value)
            elif spec.kind == "folder":
                folder = str(params.get(spec.name, "") or "").strip()
                if folder.lower() in {"null", "none", "root"}:
                    query.folder_root = True
                elif folder:
                    query.folder = _ints(spec.name, [folder], "Expected a folder id or “null”.")[0]
            elif spec.kind == "flag":
                query.recursive = str(params.get(spec.name, "")).lower() in {"1", "true", "yes"}
            elif spec.kind == "text":
                query.q = " ".join(str(params.get(spec.name, "") or "").split())[:200]
        facets = _values(params, "facets")
        unknown = [name for name in facets if name not in FACET_FILTERS]
        if unknown:
            raise InvalidInput(f"No facet “{unknown[0]}”; facets: {', '.join(FACET_FILTERS)}.", field="facets")
        query.facets = list(dict.fromkeys(facets))
        return query

    def active(self) -> set[str]:
        """Names of the filters in use (``q``, ``folder`` and ranges included)."""
        names = set(self.terms)
        if self.folder is not None or self.folder_root:
            names.add("folder")
        names.update(self.ranges)
        if self.q:
            names.add("q")
        return names


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _tags_q(tag: str) -> Q:
    if _postgres():
        return Q(tags__contains=[tag])  # jsonb @> answered by the GIN index
    # SQLite has no JSON containment lookup: an element equal to the tag, as jsonb @> means.
    return Q(
        RawSQL(
            'EXISTS (SELECT 1 FROM json_each("file_upload_file"."tags") AS t WHERE t.value = %s)',
            [tag],
            output_field=BooleanField(),
        )
    )


WORD = re.compile(r"[^\W_]+")


def text_words(text: str) -> list[str]:
    """The words of a free text: maximal runs of letters and digits, in lower case (what the
    index's word tokenizer makes of a value)."""
    return list(dict.fromkeys(WORD.findall(text.lower())))


def _word_q(word: str) -> Q:
    """``word`` as a whole word of the searchable text (letters and digits around it are not).
    SQLite's ``LOWER`` (the searchable text's) leaves letters beyond ASCII as they are: a word
    with such letters is matched in any case there (Python's pattern, which SQLite runs)."""
    if _postgres():
        return Q(search_text__regex=f"(^|[^[:alnum:]]){word}([^[:alnum:]]|$)")
    lookup = "search_text__regex" if word.isascii() else "search_text__iregex"
    return Q(**{lookup: rf"(^|[\W_]){word}([\W_]|$)"})


FOLDED = {"contains": ("icontains", "{}"), "start": ("istartswith", "^{}"), "exact": ("iexact", "^{}\\Z")}


def _folded_q(field_name: str, text: str, how: str = "contains") -> Q:
    """The field contains (``how``: starts with, is) ``text`` in any case, as Python's ``lower``
    folds it (the index's rule). PostgreSQL's ``ILIKE`` folds every letter; SQLite's ``LIKE``
    only ASCII ones, so there a text with other letters is a case-insensitive pattern (Python's,
    which SQLite runs; slower than ``LIKE``, so only for such texts)."""
    lookup, pattern = FOLDED[how]
    if text.isascii() or _postgres():
        return Q(**{f"{field_name}__{lookup}": text})
    return Q(**{f"{field_name}__iregex": pattern.format(re.escape(text))})


def _text_q(text: str) -> Q:
    """Every word of the text is a word of the name, description, tags or metadata values, or
    the whole text lies inside the name (partial names). The index answers the same question
    with its word and n-gram fields (``search.engine``)."""
    words = text_words(text)
    condition = _folded_q("name", text)
    if words:
        every = Q()
        for word in words:
            every &= _word_q(word)
        condition |= every
    return condition


def owner_ids(values: list[str]) -> list[int]:
    """The ``owner`` filter's users: usernames, or user ids given as numbers."""
    from django.contrib.auth import get_user_model

    numeric = [number for number in map(as_id, values) if number is not None]
    return list(get_user_model().objects.filter(username__in=values).values_list("id", flat=True)) + numeric


RANGE_LOOKUPS = {"min": "gte", "max": "lte", "after": "gte", "before": "lt"}


def apply_filters(files: QuerySet[File], query: SearchQuery, skip: Iterable[str] = ()) -> QuerySet[File]:
    """The SQL form of each declared filter in use (``skip`` leaves some out)."""
    skip = set(skip)
    for name, values in query.terms.items():
        if name in skip:
            continue
        spec = declarations.BY_NAME[name]
        if spec.kind == "all_of":
            for tag in values:
                files = files.filter(_tags_q(tag))
        elif spec.kind == "any_of":
            any_of = Q(pk__in=[])
            for tag in values:
                any_of |= _tags_q(tag)
            files = files.filter(any_of)
        elif spec.kind == "owner":
            files = files.filter(owner_id__in=owner_ids(values))
        else:
            files = files.filter(**{f"{spec.column}__in": values})
    if "folder" not in skip:
        if query.folder_root:
            files = files.filter(folder__isnull=True)
        elif query.folder is not None:
            if query.recursive:
                path = Folder.objects.filter(pk=query.folder).values_list("tree_path", flat=True).first()
                files = files.filter(folder__tree_path__startswith=path) if path else files.none()
            else:
                files = files.filter(folder_id=query.folder)
    for name, value in query.ranges.items():
        if name not in skip:
            spec = declarations.BY_NAME[name]
            files = files.filter(**{f"{spec.column}__{RANGE_LOOKUPS[spec.kind]}": value})
    if query.q and "q" not in skip:
        files = files.filter(_text_q(query.q))
    return files


def order_files(files: QuerySet[File], query: SearchQuery, ordering: str) -> tuple[QuerySet[File], tuple[str, ...]]:
    """Sort by ``name``, ``size``, ``created_at``, ``updated_at`` or ``relevance`` (``-`` for
    descending); returns the queryset and the ordering (with ``id`` as the tie-breaker)."""
    ordering = (ordering or "").strip()
    descending = ordering.startswith("-")
    key = ordering.lstrip("-") or ("relevance" if query.q else "name")
    if key not in ORDERINGS:
        raise InvalidInput(f"Order by one of {', '.join(sorted(ORDERINGS))}.", field="ordering")
    if key == "relevance":
        if not query.q:
            key = "name"
        else:
            # Most relevant first, whichever sign was sent: nobody wants the least relevant first.
            files = files.annotate(relevance=_relevance(query.q))
            descending = True
    fields = (f"-{key}" if descending else key, "-id" if descending else "id")
    return files.order_by(*fields), fields


def _relevance(text: str) -> Any:
    """Name matches first: the whole name (3), its start (2), inside it (1), other fields (0);
    the newest first within a tier. The same on every database, and what the in-memory index
    orders by."""
    return Case(
        When(_folded_q("name", text, "exact"), then=Value(3)),
        When(_folded_q("name", text, "start"), then=Value(2)),
        When(_folded_q("name", text), then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )


# --- facet counts ------------------------------------------------------------------------------


def _merge(*sources: Iterable[tuple[Any, int]]) -> dict[Any, int]:
    counts: dict[Any, int] = {}
    for source in sources:
        for value, count in source:
            if count and value is not None:
                key = str(value)  # the table and the text-cast groupings must meet on one key
                counts[key] = counts.get(key, 0) + int(count)
    return counts


COUNT_KEY = "_count"


def _grouped_many(files: QuerySet[File], names: Iterable[str], with_count: bool = False) -> dict[str, dict[Any, int]]:
    """Exact ``GROUP BY`` of several facets (and optionally the row count) over one filtered
    queryset, reading the matching rows once: they are materialised in a CTE and each facet
    groups that. Values come back as text (``_shape`` restores numbers)."""
    names = list(names)
    result: dict[str, dict[Any, int]] = {name: {} for name in names}
    if with_count:
        result[COUNT_KEY] = {"": 0}
    if not names and not with_count:
        return result
    columns = sorted({FACET_COLUMNS.get(name, name) for name in names} | {"id"})
    try:
        inner, params = files.order_by().values(*columns).query.sql_with_params()
    except EmptyResultSet:
        return result
    postgres = _postgres()
    parts = []
    for name in names:
        if name == "tags":
            if postgres:
                parts.append(
                    "SELECT 'tags', t.value, COUNT(*) FROM f CROSS JOIN jsonb_array_elements_text(f.tags) AS t(value)"
                    " WHERE jsonb_typeof(f.tags) = 'array' GROUP BY t.value"
                )
            else:
                parts.append(
                    "SELECT 'tags', t.value, COUNT(*) FROM f CROSS JOIN json_each(f.tags) AS t"
                    " WHERE json_valid(f.tags) GROUP BY t.value"
                )
        else:
            column = FACET_COLUMNS.get(name, name)
            parts.append(f"SELECT '{name}', CAST(f.{column} AS TEXT), COUNT(*) FROM f GROUP BY f.{column}")
    if with_count:
        parts.append(f"SELECT '{COUNT_KEY}', '', COUNT(*) FROM f")
    materialized = "MATERIALIZED " if postgres else ""
    sql = f"WITH f AS {materialized}({inner}) " + " UNION ALL ".join(parts)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for name, value, count in cursor.fetchall():
            result[name][value] = result[name].get(value, 0) + int(count)
    return result


def _shape(name: str, counts: dict[Any, int]) -> list[dict[str, Any]]:
    kind = FIELD_KINDS.get(name)
    items = []
    for value, count in counts.items():
        if value is None or value == "" or count <= 0:
            continue
        if kind == "date" and isinstance(value, dt.date):
            value = value.isoformat()
        elif kind == "date":
            value = str(value)[:10]
        elif kind == "integer" or name == "project":
            value = int(value)
        items.append({"value": value, "count": count})
    items.sort(key=lambda item: (-item["count"], str(item["value"])))
    return items[:FACET_LIMIT]


def facets_and_count(
    user: Any, query: SearchQuery, fields: Iterable[str] | None = None, with_count: bool = True
) -> tuple[dict[str, list[dict]], int | None]:
    """Counts per value of each facet over the visible files matching every filter except the
    facet's own (disjunctive facets), and the number of matching files. Exact; at most
    ``FACET_LIMIT`` values per facet, largest first."""
    fields = list(fields if fields is not None else query.facets)
    counts, total = counts_and_total(user, query, fields, with_count)
    return _finish(fields, counts), total


def counts_and_total(
    user: Any, query: SearchQuery, fields: list[str], with_count: bool = True, within: Iterable[int] | None = None
) -> tuple[dict[str, dict[Any, int]], int | None]:
    """``facets_and_count``'s counts per value (as text) before they are shaped, over the files
    ``within`` when given. The rows are grouped once per distinct set of left-out filters: all
    facets whose own filter is not in use share the pass that also counts the matches."""
    active = query.active()
    counts: dict[str, dict[Any, int]] = {name: {} for name in fields}
    passes: dict[frozenset[str], list[str]] = {}
    for name in fields:
        passes.setdefault(frozenset(set(FACET_FILTERS[name]) & active), []).append(name)
    if with_count:
        passes.setdefault(frozenset(), [])
    total: int | None = None
    visible = visible_files(user)
    if within is not None:
        visible = visible.filter(id__in=list(within))
    for skip, names in passes.items():
        counted = with_count and not skip
        grouped = _grouped_many(apply_filters(visible, query, skip), names, with_count=counted)
        if counted:
            total = grouped.pop(COUNT_KEY)[""]
        for name, values in grouped.items():
            counts[name] = _merge(counts[name].items(), values.items())
    return counts, total


def _finish(fields: list[str], counts: dict[str, dict[Any, int]]) -> dict[str, list[dict]]:
    result: dict[str, list[dict]] = {}
    for name in fields:
        items = _shape(name, counts.get(name, {}))
        if name == "project" and items:
            from ..models import Project

            labels = dict(Project.objects.filter(id__in=[i["value"] for i in items]).values_list("id", "name"))
            items = [{**item, "label": labels.get(item["value"], "")} for item in items]
        result[name] = items
    return result


def backend_search(
    user: Any,
    base: QuerySet[File],
    query: SearchQuery,
    ordering: tuple[str, ...],
    window: tuple[int, int] | None = None,
    show: Callable[[list[File]], Any] | None = None,
) -> tuple[dict[str, list[dict]], int, backends.Results] | None:
    """Facets, count and ordered results (``backends.Results``) from the configured index
    (``BIOFM_SEARCH_BACKEND``), or ``None``: SQL answers (no index, an index behind this
    request's writes, or a query the index does not answer exactly). ``window``: the slice of
    results the page will be (searched for beside the facets); ``show``: what the response
    makes of a page of files (made while the index counts, ``Results.shown_as``)."""
    from . import backends

    # A page deep in the results is not put together from the index and SQL: the index's part
    # of it would be every hit before it.
    overlay = window is not None and window[1] <= backends.EARLY_PAGES_UP_TO
    results = _from_index(
        lambda backend: backends.Results(backend, user, base, query, ordering, window, show), overlay=overlay
    )
    if results is None:
        return None
    return _finish(query.facets, results.facets), results.total, results


def _from_index(ask: Any, overlay: bool = False) -> Any:
    """``ask(index backend)`` when the configured backend is the index and it is fresh for this
    request (with ``overlay``: or a few changes behind, which the backend reads from SQL);
    ``None`` (SQL answers) when it is not, or cannot answer exactly."""
    if settings.BIOFM_SEARCH_BACKEND != "tantivy":
        return None
    from . import backends, engine

    backend = backends.fresh_index(overlay=overlay)
    if backend is None:
        return None
    try:
        return ask(backend)
    except engine.Unsupported:
        return None


def project_totals(user: Any, project_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """The number and the bytes of the live files ``user`` sees in each of the projects (those
    with none are left out): one aggregation of the index when it is fresh, else one grouped
    query over ``visible_files``."""
    ids = sorted(set(project_ids))
    if not ids:
        return {}
    indexed = _from_index(lambda backend: backend.project_totals(user, ids))
    if indexed is not None:
        return indexed
    rows = (
        visible_files(user)
        .filter(project_id__in=ids)
        .order_by()
        .values("project")
        .annotate(files=Count("id"), bytes=Sum("size"))
    )
    return {row["project"]: (row["files"], row["bytes"] or 0) for row in rows}


def facet_counts(user: Any, query: SearchQuery, fields: Iterable[str] | None = None) -> dict[str, list[dict]]:
    return facets_and_count(user, query, fields, with_count=False)[0]


def search_count(user: Any, query: SearchQuery) -> int:
    """The number of matching files."""
    return facets_and_count(user, query, [], with_count=True)[1] or 0


SUGGEST_FIELDS = ("organism", "tissue", "cell_type", "assay_type", "reference_genome")


def suggest(user: Any, text: str, limit: int = 8) -> list[dict[str, str]]:
    """Completions for the search box: matching file names and metadata values (the visible
    ones only). Values come from the node's index when it is fresh (its per-value counts over
    the user's files, no row read), else from the rows."""
    text = " ".join(text.split())
    if len(text) < 2:
        return []
    visible = visible_files(user)
    suggestions: list[dict[str, str]] = []
    # Unordered on purpose: "ORDER BY name LIMIT" would walk the name index past every file when
    # nothing matches, instead of asking the trigram index.
    # On PostgreSQL as ``lower(name)``, which its trigram index covers.
    if _postgres():
        names = visible.alias(lname=Lower("name")).filter(lname__contains=text.lower()).order_by()
    else:
        names = visible.filter(_folded_q("name", text)).order_by()
    for name in sorted(names.values_list("name", flat=True)[:limit]):
        suggestions.append({"kind": "name", "value": name})
    indexed = _indexed_values(user, text, limit)
    if indexed is not None:
        return (suggestions + indexed)[: limit * 2]
    for field_name in SUGGEST_FIELDS:
        values = (
            visible.filter(_folded_q(field_name, text)).order_by().values_list(field_name, flat=True).distinct()[:3]
        )
        suggestions += [{"kind": field_name, "value": value} for value in values]
    return suggestions[: limit * 2]


def _indexed_values(user: Any, text: str, limit: int) -> list[dict[str, str]] | None:
    """The visible values of ``SUGGEST_FIELDS`` containing ``text``, most frequent first, from a
    fresh index; ``None`` when SQL must answer."""
    counts = _from_index(lambda backend: backend.facets(user, SearchQuery(facets=list(SUGGEST_FIELDS))))
    if counts is None:
        return None
    lowered = text.lower()
    found = [
        (count, field_name, value)
        for field_name in SUGGEST_FIELDS
        for value, count in counts.get(field_name, {}).items()
        if lowered in value.lower()
    ]
    found.sort(key=lambda item: (-item[0], item[1], item[2]))
    return [{"kind": field_name, "value": value} for _, field_name, value in found[:limit]]
