"""``SearchBackend``: the count, the facet counts and a page of file ids of a search, for a
query and a user. ``SqlBackend`` is the reference (and the fallback); ``IndexBackend`` answers
from the node's tantivy index when it has applied every change this request can see.

Both build their conditions from ``declarations``: the SQL form of a filter is its ``column``,
its index form its ``field``; visibility is ``access.policy.file_visibility``, the rule
``visible_files`` applies.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Protocol

import tantivy
from django.conf import settings
from django.db.models import F, QuerySet

from access.policy import FOLDER_FIELDS_FOR_FILE_PERMISSIONS, file_visibility, visible_files

from ..models import File, Folder
from . import declarations, engine, feed

Occur = tantivy.Occur
Q = tantivy.Query
INTEGER = tantivy.FieldType.Integer
SEARCH_THREADS = 8  # per web process: a search's page and its count, each on one (``Results``)
UNION_TERMS = 64  # values of one field read as a union of terms; more as a term set
# Pages ending up to here are searched for beside the facets; a deeper one is asked for after
# the count, which bounds it (a page number is not searched for before it is known to exist).
EARLY_PAGES_UP_TO = 10_000
# A page's first hits are looked for slice by slice (``IndexBackend._first_hits``) up to this
# many of them, in at most ``SLICE_STEPS`` steps over at most one in ``SLICE_SHARE`` of the slices
# before the whole search is read.
SLICED_HITS_UP_TO = 1_000
SLICE_STEPS = 2
SLICE_SHARE = 4
# A relevance page reads its name tiers slice by slice when the text may be inside the names of
# more than one file in this many (``IndexBackend._in_many_names``), else whole.
MANY_NAMES = 64


class SearchBackend(Protocol):
    def count(self, user: Any, query: Any) -> int: ...

    def facets(self, user: Any, query: Any) -> dict[str, dict[Any, int]]: ...

    def page(self, user: Any, query: Any, ordering: tuple[str, ...], start: int, stop: int) -> list[int]: ...


class SqlBackend:
    """The reference: the SQL of ``search`` (``apply_filters``, ``facets_and_count``)."""

    def count(self, user: Any, query: Any) -> int:
        from . import search_count

        return search_count(user, query)

    def facets(self, user: Any, query: Any) -> dict[str, dict[Any, int]]:
        from . import facets_and_count

        shaped = facets_and_count(user, query, with_count=False)[0]
        return {name: {str(item["value"]): item["count"] for item in items} for name, items in shaped.items()}

    def page(self, user: Any, query: Any, ordering: tuple[str, ...], start: int, stop: int) -> list[int]:
        return sql_page(user, query, ordering, start, stop)


def sql_page(
    user: Any, query: Any, ordering: tuple[str, ...], start: int, stop: int, within: Collection[int] | None = None
) -> list[int]:
    """The reference's page: the ids of the visible files matching the query (among ``within``
    when given), in order, ``start:stop``."""
    from . import apply_filters, order_files

    visible = visible_files(user)
    if within is not None:
        visible = visible.filter(id__in=sorted(within))
    files, _ = order_files(visible, query, _ordering_param(ordering))
    return list(apply_filters(files, query).values_list("id", flat=True)[start:stop])


def _ordering_param(ordering: tuple[str, ...]) -> str:
    return ordering[0]


# --- the index -----------------------------------------------------------------------------------


def _all(queries: list[Any]) -> Any:
    if not queries:
        return Q.all_query()
    if len(queries) == 1:
        return queries[0]
    return Q.boolean_query([(Occur.Must, q) for q in queries])


def _any(queries: list[Any]) -> Any:
    if not queries:
        return Q.empty_query()
    if len(queries) == 1:
        return queries[0]
    return Q.boolean_query([(Occur.Should, q) for q in queries])


def _terms(field_name: str, values: list[Any]) -> Any:
    """Any of the values: up to ``UNION_TERMS`` of them a union of term queries, which the index
    reads lazily, skipping ahead when another clause is narrower; more, a term set. A term set
    collects a bit set of every matching file before anything else is read: in the visibility
    query (the caller's levels and projects) that cost 7–8 ms per search at 10M files even for
    a text that no name holds."""
    return _any_of([(field_name, values)])


def _any_of(groups: list[tuple[str, Any]]) -> Any:
    """Any value of any of the ``(field, values)`` groups, as one flat union (``_terms`` for each
    group): a union of unions costs about twice as much to read (the visibility query over a
    million files: 13 against 8 ms)."""
    clauses = []
    for field_name, values in groups:
        values = list(values)
        if len(values) <= UNION_TERMS:
            clauses += [_term(field_name, value) for value in values]
        else:
            clauses.append(Q.term_set_query(engine.SCHEMA, field_name, values))
    return _any(clauses)


def _term(field_name: str, value: Any) -> Any:
    return Q.term_query(engine.SCHEMA, field_name, value)


COUNT = "_count"


def _facet_column(name: str) -> str:
    spec = declarations.BY_NAME[name]
    return spec.facet_column or spec.field


def _terms_aggregation(name: str) -> dict[str, Any]:
    return {
        "terms": {
            "field": _facet_column(name),
            "size": engine.FACET_BUCKETS,
            "segment_size": engine.FACET_BUCKETS,
        }
    }


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def filter_text(query: Any, names: Any) -> str:
    """The term filters ``names`` of the query (the facets' own: values, all-of and any-of
    kinds) in the index's query language, for a ``filter`` aggregation: each value quoted (or a
    whole number), OR-ed, AND-ed for all-of."""
    parts = []
    for name in sorted(names):
        spec = declarations.BY_NAME[name]
        values = query.terms[name]
        if spec.kind not in ("values", "all_of", "any_of"):
            raise engine.Unsupported(name)
        if spec.parse == "integer":
            terms = [f"{spec.field}:{int(value)}" for value in values]
        elif spec.parse == "date":
            terms = [f"{spec.field}:{_quoted(value.isoformat())}" for value in values]
        else:
            terms = [f"{spec.field}:{_quoted(str(value))}" for value in values]
        parts.append("(" + (" AND " if spec.kind == "all_of" else " OR ").join(terms) + ")")
    return " AND ".join(parts)


def _regex_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "\\.+*?()|[]{}^$#&-~" else ch for ch in text)


def _folders_under(paths: list[str]) -> list[int]:
    from django.db.models import Q as SqlQ

    if not paths:
        return []
    condition = SqlQ(pk__in=[])
    for path in paths:
        condition |= SqlQ(tree_path__startswith=path)
    return list(Folder.objects.filter(condition).values_list("id", flat=True))


def visibility_query(user: Any) -> Any | None:
    """``visible_files``' rule as an index query (``None``: everything)."""
    rule = file_visibility(user)
    if rule.everything:
        return None
    groups: list[tuple[str, Any]] = [("access_level", list(rule.levels))]
    if rule.owner_id is not None:
        groups += [
            ("project", sorted(rule.projects)),
            ("owner", [rule.owner_id]),
            ("id", sorted(rule.file_ids)),
            ("folder", _folders_under(rule.folder_paths)),
        ]
    return _any_of(groups)


def name_contains(lowered: str) -> Any:
    """The whole (lower-case) text inside the name, exactly: one of the name's pieces (``subs``)
    when the text is that long; a longer text is a phrase of the trigrams that cover it (each
    character in at least one, at its offset)."""
    if len(lowered) in engine.SUBSTRING_LENGTHS:
        return _term("subs", lowered)
    grams = engine.trigrams(lowered)
    offsets = sorted({*range(0, len(grams), 3), len(grams) - 1})
    return Q.phrase_query(engine.SCHEMA, "grams", [(offset, grams[offset]) for offset in offsets])


def name_starts(lowered: str) -> Any:
    """The name starts with the (lower-case) text, exactly: one of the name's starts
    (``starts``) when the text is that long, else a prefix of the lower-case name."""
    if len(lowered) in engine.SUBSTRING_LENGTHS:
        return _term("starts", lowered)
    return Q.regex_query(engine.SCHEMA, "lname", f"{_regex_escape(lowered)}.*")


def text_query(text: str) -> Any:
    from . import text_words

    lowered = text.lower()
    words = text_words(text)
    contains = name_contains(lowered)
    if not words:
        return contains
    return _any([contains, _all([_term("words", word) for word in words])])


def _bound(spec: declarations.Filter, value: Any) -> int:
    if isinstance(value, dt.datetime):
        return engine._micros(value)
    if isinstance(value, dt.date):
        return value.toordinal()
    return int(value)


def filter_queries(query: Any, skip: set[str]) -> list[Any]:
    """The index form of each declared filter in use."""
    from . import owner_ids

    parts = []
    for name, values in query.terms.items():
        if name in skip:
            continue
        spec = declarations.BY_NAME[name]
        if spec.kind == "all_of":
            parts += [_term(spec.field, str(tag)) for tag in values]
        elif spec.kind == "owner":
            parts.append(_terms(spec.field, owner_ids(values)))
        elif spec.parse == "date":
            parts.append(_terms(spec.field, [value.isoformat() for value in values]))
        else:
            parts.append(_terms(spec.field, list(values)))
    if "folder" not in skip:
        if query.folder_root:
            parts.append(_term("folder", 0))
        elif query.folder is not None:
            if query.recursive:
                path = Folder.objects.filter(pk=query.folder).values_list("tree_path", flat=True).first()
                parts.append(_terms("folder", _folders_under([path]) if path else []))
            else:
                parts.append(_term("folder", query.folder))
    for name, value in query.ranges.items():
        if name in skip:
            continue
        spec = declarations.BY_NAME[name]
        bound = _bound(spec, value)
        if spec.kind in ("min", "after"):
            parts.append(Q.range_query(engine.SCHEMA, spec.field, INTEGER, bound, None))
        elif spec.kind == "max":
            parts.append(Q.range_query(engine.SCHEMA, spec.field, INTEGER, None, bound))
        else:
            parts.append(Q.range_query(engine.SCHEMA, spec.field, INTEGER, None, bound, include_upper=False))
    if query.q and "q" not in skip:
        parts.append(text_query(query.q))
    return parts


def _files(parts: list[Any], leave_out: Collection[int] = (), excluding: Sequence[Any] = ()) -> Any:
    """The file documents matching every part, none of ``excluding``, but the files
    ``leave_out``. The one document that is not a file (the feed position) is left out by a term
    that matches only it: requiring ``kind=file`` instead would walk a posting of every file in
    each search."""
    clauses = [(Occur.Must, part) for part in parts or [Q.all_query()]]
    clauses += [(Occur.MustNot, part) for part in excluding]
    clauses.append((Occur.MustNot, _term("kind", "meta")))
    if leave_out:
        clauses.append((Occur.MustNot, _terms("id", sorted(leave_out))))
    return Q.boolean_query(clauses)


class Matching:
    """The files a search matches, kept as its parts: a page that narrows them (a relevance
    tier, the files sharing a sort key) puts its clauses beside them, in one flat query, not
    around the whole. The index answers a flat query holding a term no file has at once, a
    nested one only after walking the rest (a relevance tier whose text no name holds: 0.1
    against 4–8 ms at a million files)."""

    def __init__(self, parts: list[Any], leave_out: Collection[int] = ()) -> None:
        self.parts, self.leave_out = parts, leave_out

    def query(self, *also: Any, excluding: Sequence[Any] = ()) -> Any:
        """These files, narrowed to those matching each of ``also`` and none of ``excluding``."""
        return _files([*self.parts, *also], self.leave_out, excluding)


def _facet_counts(name: str, buckets: list[dict[str, Any]]) -> dict[str, int]:
    """A facet's counts per value from its aggregation's buckets: the empty text is no value;
    a combination column's buckets (``facet_column``) add their count to each value they hold."""
    counts: dict[str, int] = {}
    combined = bool(declarations.BY_NAME[name].facet_column)
    for bucket in buckets:
        key = bucket["key"]
        for value in _combination(key) if combined else (str(key),):
            if value != "":
                counts[value] = counts.get(value, 0) + int(bucket["doc_count"])
    return counts


@functools.lru_cache(maxsize=8192)
def _combination(key: str) -> tuple[str, ...]:
    """A combination column's value (a JSON list) as its values: the same few hundred tag sets
    come back in every search's buckets."""
    return tuple(json.loads(key)) if key else ()


class Summary:
    """The count and the facet counts of a search in one aggregation.

    Disjunctive facets: each facet counts over every filter but its own. The aggregation runs
    over the files matching every filter except all the facets' own ones in use (``loose``);
    the facets that leave out the same filters share one ``filter`` bucket that adds the
    others back (a term filter in the index's query language, which the index answers from
    its postings rather than by evaluating the whole query again). The count is the bucket
    that adds every one back.

    Built (the query and the aggregation's request) in the request's thread; aggregated there or,
    with ``soon``, on one of the process's search threads; ``result`` waits for it and reads the
    overlay's files from SQL in the request's thread."""

    def __init__(self, backend: IndexBackend, user: Any, query: Any, names: Any, soon: bool) -> None:
        from . import FACET_FILTERS

        self.backend, self.user, self.query, self.names = backend, user, query, list(names)
        active = query.active()
        self.passes: dict[frozenset[str], list[str]] = {}
        for name in self.names:
            if name not in declarations.INDEX_FACETS:
                raise engine.Unsupported(name)
            self.passes.setdefault(frozenset(set(FACET_FILTERS[name]) & active), []).append(name)
        self.loose: frozenset[str] = frozenset().union(*self.passes)
        spec: dict[str, Any] = {}
        self.buckets: dict[str, str] = {}  # facet → the filter bucket holding it
        for number, (skip, facet_names) in enumerate(self.passes.items()):
            aggs = {name: _terms_aggregation(name) for name in facet_names}
            if skip == self.loose:
                spec.update(aggs)
                continue
            key = f"_pass{number}"
            spec[key] = {"filter": filter_text(query, self.loose - skip), "aggs": aggs}
            self.buckets.update(dict.fromkeys(facet_names, key))
        # With no facet's own filter in use, a facet whose column has one value per file counts
        # every match: its buckets add up to the count, which then reads no column of its own.
        self.counted_by = None
        if not self.loose:
            self.counted_by = next((n for n in self.names if _facet_column(n) in engine.ONE_VALUE_EACH), None)
        if not self.loose and self.counted_by is None:
            spec[COUNT] = {"value_count": {"field": "id"}}
        elif self.loose and frozenset() not in self.passes:
            spec[COUNT] = {"filter": filter_text(query, self.loose)}
        matching = backend.matching(user, query, set(self.loose)).query()
        key = ANSWERS.key(matching, spec)
        # An answer this commit gave already is taken here: another thread would only add its wait.
        self.answer = ANSWERS.known(backend.searcher, key)
        self.future: Future | None = None
        if self.answer is None:
            ask = functools.partial(aggregate, backend.searcher, matching, spec, key)
            if soon:
                self.future = _search_threads().submit(ask)
            else:
                self.answer = ask()

    def done(self) -> bool:
        return self.future is None or self.future.done()

    def cancel(self) -> None:
        if self.future is not None:
            self.future.cancel()

    def result(self) -> tuple[int, dict[str, dict[Any, int]]]:
        result = self.future.result() if self.future is not None else self.answer
        assert result is not None
        if self.counted_by is not None:
            counted = result.get(self.counted_by) or {}
            total = sum(int(b["doc_count"]) for b in counted.get("buckets", [])) + counted.get("sum_other_doc_count", 0)
        elif not self.loose:
            total = int(result[COUNT].get("value") or 0)
        else:
            passes, buckets = self.passes, self.buckets
            total = int(result[buckets[passes[frozenset()][0]] if frozenset() in passes else COUNT]["doc_count"])
        counts: dict[str, dict[Any, int]] = {}
        for name in self.names:
            body = (result[self.buckets[name]] if name in self.buckets else result).get(name) or {}
            if body.get("sum_other_doc_count"):
                raise engine.Unsupported(name)
            counts[name] = _facet_counts(name, body.get("buckets", []))
        if self.backend.overlay:
            from . import _merge, counts_and_total

            extra, more = counts_and_total(self.user, self.query, self.names, within=self.backend.overlay)
            total += more or 0
            counts = {name: _merge(counts[name].items(), extra[name].items()) for name in self.names}
        return total, counts


class IndexBackend:
    """Answers from one searcher (one consistent set of segments) of the node's index.

    With an ``overlay`` (the files of changes the request sees that the index has not applied
    yet, ``feed.unapplied``) a search answers from the index for every other file and from SQL
    for those: the index leaves them out, SQL counts the ones that match and the page is put in
    order among the index's first hits and those (``overlaid``). Only ``summary`` and the page
    take an overlay into account (``fresh_index(overlay=True)``)."""

    answered = 0  # searches this process answered from the index (tests and benchmarks)
    overlaid_answers = 0  # of which with an overlay

    def __init__(
        self, searcher: Any, overlay: Collection[int] = frozenset(), slicing: engine.Slicing | None = None
    ) -> None:
        self.searcher = searcher
        self.overlay = frozenset(overlay)
        self.slicing = slicing or engine.Slicing()
        self._visible: dict[int | None, Any] = {}

    def _base(self, user: Any) -> list[Any]:
        key = getattr(user, "pk", None)
        if key not in self._visible:
            self._visible[key] = visibility_query(user)
        visible = self._visible[key]
        return [visible] if visible is not None else []

    def matching(self, user: Any, query: Any, skip: set[str] = frozenset()) -> Matching:
        """The files the user sees matching the query's filters but ``skip``."""
        return Matching(self._base(user) + filter_queries(query, set(skip)), self.overlay)

    def count(self, user: Any, query: Any) -> int:
        return self.summary(user, query, ())[0]

    def facets(self, user: Any, query: Any) -> dict[str, dict[Any, int]]:
        return self.summary(user, query, query.facets)[1]

    def summary(self, user: Any, query: Any, names: Any = None) -> tuple[int, dict[str, dict[Any, int]]]:
        """The count and the facet counts (``names``, by default the query's) in one aggregation
        (``Summary``)."""
        return Summary(self, user, query, query.facets if names is None else names, soon=False).result()

    def summary_soon(self, user: Any, query: Any) -> Summary:
        """``summary`` of the query's facets, its aggregation started on another thread: the
        index releases the GIL while it counts, so this thread can load the page's files
        meanwhile (``Results``). The query is built here (visibility reads the folder table in
        this request's connection); the other thread only aggregates."""
        return Summary(self, user, query, query.facets, soon=True)

    def project_totals(self, user: Any, project_ids: list[int]) -> dict[int, tuple[int, int]]:
        """Files and bytes per project of those the user sees (``search.project_totals``)."""
        spec = {
            "projects": {
                "terms": {"field": "project", "size": len(project_ids), "segment_size": len(project_ids)},
                "aggs": {"bytes": {"sum": {"field": "size"}}},
            }
        }
        matching = _files([*self._base(user), _terms("project", project_ids)])
        totals = {}
        answer = aggregate(self.searcher, matching, spec, ANSWERS.key(matching, spec))
        for bucket in answer["projects"].get("buckets", []):
            size = bucket["bytes"]["value"] or 0
            if size >= 2**53:  # summed as a double: beyond this not every whole number is exact
                raise engine.Unsupported("size")
            totals[int(bucket["key"])] = (int(bucket["doc_count"]), int(size))
        return totals

    def _ids(self, hits: list) -> list[int]:
        return self.searcher.fast_field_values("id", [address for _, address in hits]) if hits else []

    def page(self, user: Any, query: Any, ordering: tuple[str, ...], start: int, stop: int) -> list[int]:
        if stop <= start:
            return []
        ids = self._page_of(self.matching(user, query), query, ordering, self._first(start), stop)
        return self.overlaid(user, query, ordering, start, stop, ids)

    def page_soon(self, user: Any, query: Any, ordering: tuple[str, ...], start: int, stop: int) -> Future:
        """The index's part of ``page`` (for ``overlaid``) on another thread, while this one asks
        for the count and the facets: the index releases the GIL while it searches, so the two
        passes take the time of the longer one. The query is built here (visibility reads the
        folder table in this request's connection); the other thread only searches."""
        matching = self.matching(user, query)
        return _search_threads().submit(self._page_of, matching, query, ordering, self._first(start), stop)

    def _first(self, start: int) -> int:
        """Where the index's part of a page from ``start`` begins: with an overlay its files
        may come anywhere before, so from the first hit."""
        return 0 if self.overlay else start

    def overlaid(
        self, user: Any, query: Any, ordering: tuple[str, ...], start: int, stop: int, ids: list[int]
    ) -> list[int]:
        """The page ``start:stop`` from the index's part of it (``ids``, from ``_first(start)``)
        and the overlay's files: the reference's page among those (one query by their ids)."""
        if not self.overlay:
            return ids[: stop - start]
        return sql_page(user, query, ordering, start, stop, within=self.overlay.union(ids))

    def _page_of(self, matching: Matching, query: Any, ordering: tuple[str, ...], start: int, stop: int) -> list[int]:
        if stop <= start:
            return []
        key = ordering[0].lstrip("-")
        descending = ordering[0].startswith("-")
        if key == "relevance":
            return self._relevance_page(matching, query.q, start, stop)
        if key == "name":
            return self._name_page(matching, descending, start, stop)
        field_name = {"size": "size", "created_at": "created_at", "updated_at": "updated_at"}[key]
        return self._sorted_page(matching, field_name, descending, start, stop)

    def _name_page(self, matching: Matching, descending: bool, start: int, stop: int) -> list[int]:
        """By (name, id), at the cost of a number column: the first ``stop`` hits by
        ``name_key`` (the name's first 8 bytes, in the names' order), then the exact name order
        only among the hits whose key is not theirs alone (shared with another hit, or at the
        boundary, where files beyond ``stop`` may share it): one more search over those keys,
        which the index intersects from their short postings."""
        hits = self._first_hits(matching, (), "name_key", descending, stop)
        if not hits:
            return []
        keys = [key for key, _ in hits]
        seen = Counter(keys)
        shared = {key for key, times in seen.items() if times > 1}
        if len(hits) == stop:
            shared.add(keys[-1])
        by_key = list(zip(keys, self._ids(hits), strict=True))  # the hits come in key order
        if shared:
            among = Matching([*matching.parts, _terms("name_key", sorted(shared))], matching.leave_out)
            wanted = sum(1 for key in keys if key in shared)
            exact = iter(self._sorted_page(among, "name", descending, 0, wanted))
            by_key = [(key, next(exact) if key in shared else file_id) for key, file_id in by_key]
        return [file_id for _, file_id in by_key[start:stop]]

    def _sorted_page(self, matching: Matching, field_name: str, descending: bool, start: int, stop: int) -> list[int]:
        """By (field, id): the first ``stop`` hits by the field (a fast field: no document is
        read, nothing is scored), then the files sharing the value at the boundary put in id
        order (the index breaks ties its own way): as many of them as the page still needs."""
        order = tantivy.Order.Desc if descending else tantivy.Order.Asc
        hits = self._first_hits(matching, (), field_name, descending, stop)
        pairs = list(zip([value for value, _ in hits], self._ids(hits), strict=True))
        pairs.sort(reverse=descending)
        if len(hits) < stop:
            return [file_id for _, file_id in pairs[start:stop]]
        boundary = pairs[-1][0]
        before = [pair for pair in pairs if pair[0] != boundary]
        if field_name == "name":
            same = _term("name", boundary)
        else:
            same = Q.range_query(engine.SCHEMA, field_name, INTEGER, boundary, boundary)
        wanted = stop - len(before)
        group = self.searcher.search(matching.query(same), wanted, count=False, order_by_field="id", order=order)
        ids = [file_id for _, file_id in before] + self._ids(group.hits)
        return ids[start:stop]

    def _first_hits(
        self,
        matching: Matching,
        also: Sequence[Any],
        field_name: str,
        descending: bool,
        n: int,
        excluding: Sequence[Any] = (),
        sliced: bool = True,
    ) -> list:
        """The first ``n`` hits of ``matching.query(*also, excluding=...)`` by ``field_name``
        (``(value, address)``), read slice by slice (``engine.Slicing``) from the index's edge
        in the order's direction: the edge's two slices (and any beyond), then, when they held
        some, a step eight times as wide, or as wide as the hits so far say the rest of the page
        needs; the whole search when the edge's slices held none, after ``SLICE_STEPS`` steps, or
        once a step would pass ``1 / SLICE_SHARE`` of the slices. A search that matches a third
        of the files reads a few thousand of them for its page instead of every match; one that
        matches few reads those few twice, or three times. ``sliced=False``: the whole search."""
        order = tantivy.Order.Desc if descending else tantivy.Order.Asc
        slice_field = engine.SLICE_FIELDS.get(field_name)
        edge = self.slicing.edges.get(slice_field or "")

        def search(*within: Any) -> list:
            query = matching.query(*also, *within, excluding=excluding)
            return self.searcher.search(query, n - len(hits), count=False, order_by_field=field_name, order=order).hits

        hits: list = []
        if not sliced or slice_field is None or edge is None or n > SLICED_HITS_UP_TO:
            return search()
        budget = (edge[1] - edge[0] + 1) // SLICE_SHARE
        covered, width = 0, 2
        for _ in range(SLICE_STEPS):
            if covered + width > max(budget, 2):
                break
            if descending:  # the slices ``covered`` to ``covered + width`` from the top (the first: and above)
                low, high = edge[1] - covered - width + 1, (edge[1] - covered if covered else None)
            else:
                low, high = (edge[0] + covered if covered else None), edge[0] + covered + width - 1
            hits += search(Q.range_query(engine.SCHEMA, slice_field, INTEGER, low, high))
            covered += width
            if len(hits) >= n:
                return hits
            if not hits:  # a search this narrow reads its matches at once
                break
            # Eight times as wide, or as many slices as the rest of the page needs at the rate so far.
            width = max(width * 8, -(-(n - len(hits)) * covered * 3 // (2 * len(hits))))
        hits = []
        return search()

    def _in_many_names(self, lowered: str) -> bool:
        """Whether the (lower-case) text may be inside the names of more than one file in
        ``MANY_NAMES``: by the document frequency of its piece (``subs``), or of its rarest
        trigram for a longer text: an upper bound, read from the terms' dictionary (deleted
        files count until their segment is merged). A one- or two-character text is in most
        names; a sample name's part, or a word that most names share, decides by its count."""
        if len(lowered) in engine.SUBSTRING_LENGTHS:
            held = self.searcher.doc_freq("subs", lowered)
        else:
            held = min(self.searcher.doc_freq("grams", gram) for gram in engine.trigrams(lowered))
        return held * MANY_NAMES > self.searcher.num_docs

    def _relevance_page(self, matching: Matching, text: str, start: int, stop: int) -> list[int]:
        """Tiers as the SQL path ranks them: the whole name (3), its start (2), inside it (1),
        elsewhere (0); newest (highest id) first within a tier."""
        lowered = text.lower()
        whole = _term("lname", lowered)
        prefix = name_starts(lowered)
        inside = name_contains(lowered)
        # (also, excluding) of ``Matching.query``, and whether the tier is read slice by slice:
        # the name tiers when many names hold the text (``_in_many_names``; reading few by slices
        # would read them twice), never the whole name, which is rare.
        many = self._in_many_names(lowered)
        tiers: list[tuple[tuple, tuple, bool]] = [
            ((whole,), (), False),
            ((prefix,), (whole,), many),
            ((inside,), (prefix,), many),
            ((), (inside,), True),
        ]
        ids: list[int] = []
        offset = start
        for tier in tiers:  # one pass each: the tier's hits from ``offset`` on, and its size
            want = stop - start - len(ids)
            # The tier's size is needed only to skip it whole; from the first hit on, a tier with
            # fewer hits than wanted is simply used up.
            if not offset:
                also, excluding, sliced = tier
                ids += self._ids(self._first_hits(matching, also, "id", True, want, excluding, sliced))
                if len(ids) >= stop - start:
                    break
                continue
            found = self.searcher.search(
                matching.query(*tier[0], excluding=tier[1]),
                want,
                count=True,
                order_by_field="id",
                order=tantivy.Order.Desc,
                offset=offset,
            )
            if offset >= found.count:
                offset -= found.count
                continue
            ids += self._ids(found.hits)
            offset = 0
            if len(ids) >= stop - start:
                break
        return ids


class Answers:
    """Aggregations answered by one searcher (one commit of the index), by query and request:
    a commit's answer to a query never changes, so the next page of a search, another ordering
    or a facet toggled back is answered without reading the files again. Kept for the node's
    latest searcher only (its reader's: a new commit starts afresh, and a request still on an
    older one is answered without keeping anything), at most ``BIOFM_SEARCH_ANSWER_CACHE`` of
    them, the least recently asked dropped first.

    The key is the query's own description (tantivy's, which names every term, bound, offset
    and pattern, the caller's visibility included, ``test_answer_keys_tell_queries_apart``) and
    the request; a description longer than ``LONGEST_KEY`` is not kept (a visibility of
    thousands of granted files, a short text's name pattern)."""

    LONGEST_KEY = 20_000

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.searcher: Any = None
        self.answers: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self.hits = 0  # answers given from here (tests and benchmarks)

    def key(self, query: Any, spec: dict[str, Any]) -> tuple[str, str] | None:
        """The key of an answer to this query and request (``None``: not kept)."""
        described = repr(query) if settings.BIOFM_SEARCH_ANSWER_CACHE > 0 else ""
        if not described or len(described) > self.LONGEST_KEY:
            return None
        return (described, json.dumps(spec, sort_keys=True))

    def known(self, searcher: Any, key: tuple[str, str] | None) -> dict[str, Any] | None:
        """The answer kept for this searcher and ``key``, or ``None`` (not asked yet)."""
        with self.lock:
            if key is None or searcher is not self.searcher or key not in self.answers:
                return None
            self.answers.move_to_end(key)
            self.hits += 1
            return self.answers[key]

    def get(self, searcher: Any, query: Any, spec: dict[str, Any], key: tuple[str, str] | None) -> dict[str, Any]:
        """The answer to ``query`` and ``spec`` (whose ``key`` the caller worked out), kept."""
        size = settings.BIOFM_SEARCH_ANSWER_CACHE
        if key is None:
            return searcher.aggregate(query, spec)
        if searcher is not self.searcher and searcher is not engine.reader().searcher:
            return searcher.aggregate(query, spec)  # an older commit's (or another index's): not kept
        with self.lock:
            if searcher is not self.searcher:
                self.searcher, self.answers = searcher, OrderedDict()
            elif key in self.answers:
                self.answers.move_to_end(key)
                self.hits += 1
                return self.answers[key]
        answer = searcher.aggregate(query, spec)
        with self.lock:
            if searcher is self.searcher:
                self.answers[key] = answer
                while len(self.answers) > size:
                    self.answers.popitem(last=False)
        return answer


ANSWERS = Answers()


def aggregate(searcher: Any, query: Any, spec: dict[str, Any], key: tuple[str, str] | None) -> dict[str, Any]:
    """``searcher.aggregate(query, spec)``, from ``ANSWERS`` when this searcher answered it
    already (``key``: ``ANSWERS.key(query, spec)``, worked out once by the caller, which also
    looks for a kept answer with it). The answer is shared: callers read it, never change it."""
    return ANSWERS.get(searcher, query, spec, key)


@functools.cache
def _search_threads() -> ThreadPoolExecutor:
    """This process's threads for a search's page and its count (made on first use, so in each
    web process)."""
    return ThreadPoolExecutor(max_workers=SEARCH_THREADS, thread_name_prefix="search")


# --- choosing -------------------------------------------------------------------------------------


def fresh_index(overlay: bool = False) -> IndexBackend | None:
    """The index backend when the node's index has applied every change this request can see
    (waiting up to ``BIOFM_SEARCH_FRESHNESS_WAIT`` seconds for the writer), else ``None``: SQL
    answers, at once when the node has no index. With ``overlay``, an index that lacks the
    changes of at most ``BIOFM_SEARCH_OVERLAY_CHANGES`` of them answers at once, with their files
    read from SQL (``IndexBackend.overlay``). With ``BIOFM_SEARCH_INLINE_WRITER`` the request
    applies the feed itself."""
    if settings.BIOFM_SEARCH_INLINE_WRITER:
        inline_catch_up()
    reader = engine.reader()
    request = None  # the feed as this request found it (read with the first look)
    deadline = time.monotonic() + settings.BIOFM_SEARCH_FRESHNESS_WAIT
    asked = None  # the position last checked against the feed: only a new commit is asked again
    limit = settings.BIOFM_SEARCH_OVERLAY_CHANGES if overlay else 0
    while True:
        current = reader.current()
        if current is None:
            return None  # no index on this node (yet): nothing to wait for
        if current[1] is not asked:
            if request is None:
                request, unapplied = feed.first_look(current[1], limit)
            else:
                unapplied = feed.unapplied(current[1], request, limit)
            if unapplied is not None:
                return IndexBackend(current[0], unapplied, reader.slicing)
            asked = current[1]
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.005)  # a commit shows as a new meta.json: one stat per look


_writers: dict[str, engine.Writer] = {}


def inline_catch_up() -> None:
    """Apply the feed in this process (tests and single-process development; a deployment runs
    ``manage.py search_index_writer``). Skipped when another process holds the writer lock."""
    path = engine.index_dir()
    with engine.writer_lock(path, wait=False) as mine:
        if not mine:
            return
        writer = _writers.get(str(path))
        if writer is None:
            writer = _writers[str(path)] = engine.Writer(path)
        feed.catch_up(writer)


def close_inline_writers() -> None:
    for writer in _writers.values():
        writer.close()
    _writers.clear()


# A page's folders, but what the permissions of its files read of them.
FOLDER_FIELDS_UNREAD = tuple(
    f"folder__{field.name}"
    for field in Folder._meta.concrete_fields
    if field.name not in {"id", *FOLDER_FIELDS_FOR_FILE_PERMISSIONS}
)


def _in_order(ids: list[int], files: dict[int, File]) -> list[File]:
    """The files of ``ids`` in that order (those not found, no longer visible, left out)."""
    return [files[file_id] for file_id in ids if file_id in files]


class Results(Sequence):
    """The ordered matches of an indexed search, for the paginator: a slice asks the backend for
    that page's ids and loads those files (from ``base``, the visible ones) in order."""

    def __init__(
        self,
        backend: Any,
        user: Any,
        base: QuerySet[File],
        query: Any,
        ordering: tuple,
        window: tuple[int, int] | None = None,
        show: Callable[[list[File]], Any] | None = None,
    ) -> None:
        """``window``: the slice the paginator is expected to ask for (``start, stop``). When it
        ends by ``EARLY_PAGES_UP_TO`` its ids are searched for on one of the process's search
        threads while the count and the facets are on another; if the page is found first, its
        files are loaded in this thread while the counting goes on (``loaded``), and shown
        (``show(files)``, the response's serializer: ``shown_as``). A search that counts no
        match does not wait for its page."""
        self.backend, self.user, self.base, self.query, self.ordering = backend, user, base, query, ordering
        self.early: tuple[int, int, Future] | None = None
        self.loaded: tuple[int, list[int], dict[int, File]] | None = None  # the window's start, ids, files
        self.shown: tuple[list[File], Any] | None = None
        if window is None or not window[0] < window[1] <= EARLY_PAGES_UP_TO:
            self.total, self.facets = backend.summary(user, query)
        else:
            counting = backend.summary_soon(user, query)  # as a rule the longer: started first
            try:
                self.early = (*window, backend.page_soon(user, query, ordering, *window))
                try:
                    if counting.future is not None:
                        wait([self.early[2], counting.future], return_when=FIRST_COMPLETED)
                    if not counting.done():  # the page first: its files load while the count goes on
                        start, stop = window
                        ids = backend.overlaid(user, query, ordering, start, stop, self.early[2].result())
                        self.loaded = (start, ids, self._files(ids))
                        if show is not None:
                            files = _in_order(ids, self.loaded[2])
                            self.shown = (files, show(files))
                    self.total, self.facets = counting.result()
                except BaseException:
                    self.early[2].cancel()
                    raise
            finally:
                counting.cancel()  # if it has not started (an error in this thread)
        type(backend).answered = getattr(type(backend), "answered", 0) + 1
        if backend.overlay:
            type(backend).overlaid_answers += 1

    def _ids(self, start: int, stop: int) -> list[int]:
        if stop <= start:  # nothing to show (no match, or a page past the last): not waited for
            if self.early is not None:
                self.early[2].cancel()  # if it has not started
            return []
        if self.early is not None and self.early[0] == start and stop <= self.early[1]:
            return self.backend.overlaid(self.user, self.query, self.ordering, start, stop, self.early[2].result())
        return self.backend.page(self.user, self.query, self.ordering, start, stop)

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, item: Any) -> Any:
        if not isinstance(item, slice):
            return self[item : item + 1][0]
        start, stop, _ = item.indices(self.total)
        if self.loaded is not None and self.loaded[0] == start and stop - start <= len(self.loaded[1]):
            ids, files = self.loaded[1][: max(0, stop - start)], self.loaded[2]
        else:
            ids = self._ids(start, stop)
            files = self._files(ids)
        return _in_order(ids, files)

    def shown_as(self, files: list[File]) -> Any | None:
        """What ``show`` made of these files (the very objects, in this order) while the count
        went on, or ``None``: the page is not the one expected (the last page, a shorter one)."""
        if self.shown is None or len(self.shown[0]) != len(files):
            return None
        if any(mine is not theirs for mine, theirs in zip(self.shown[0], files, strict=True)):
            return None
        return self.shown[1]

    def _files(self, ids: list[int]) -> dict[int, File]:
        """The visible files of ``ids``, by id."""
        if not ids:
            return {}
        # The folders come with the page: the permissions of each file read their paths, and
        # nothing else of them (``FOLDER_FIELDS_UNREAD`` are not loaded).
        page = (
            self.base.filter(id__in=ids)
            .select_related(None)
            .select_related("folder")
            .defer(*FOLDER_FIELDS_UNREAD)
            .annotate(owner_username=F("owner__username"))
        )
        return {file.id: file for file in page}
