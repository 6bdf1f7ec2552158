"""The tantivy search index: one on-disk index per node, written by one writer and read by every
web process (memory-mapped, so a process that starts answers at once and holds no copy).

Fields come from ``declarations``: each filter's index field, each facet's fast column. Free
text has three tokenizations: ``words`` (runs of letters and digits, lower case: the name,
description, tags and metadata values), ``grams`` (the lower-case name as trigrams with their
positions, so a phrase of trigrams is an exact "inside the name" match), ``subs`` (every
piece of the lower-case name of ``SUBSTRING_LENGTHS`` characters, without positions, cut by the
index's n-gram tokenizer: a text of that length is inside the name exactly when it is one of
them, one term to read however many names hold it, where a phrase of trigrams costs 30–60 ms when
half a million names do) and ``starts`` (the name's first ``SUBSTRING_LENGTHS`` characters: a
text of that length starts the name exactly when it is one of them). Without the short pieces a
text of one or two characters was a scan of every name's terms (0.4–2.5 s at a million files),
and a short start that most names share a union of a term per name (0.5 s).

The index is ``BIOFM_SEARCH_SHARDS`` tantivy indexes (``shard-0``, ``shard-1``, …), each holding
the files whose id leaves that remainder (``shard_of``). A search asks every shard side by side,
each on its own thread (tantivy releases the GIL while it searches), and merges their answers
(``Searcher``): one core per shard instead of one for all, where counting the matches of a broad
search was most of its time (decision 0027).

Each shard holds one more document, ``kind=meta``: the change-feed position its last commit
reflects (the commit payload), committed atomically with the files it describes. The writer
commits every shard with the same position; a reader reads the shards only at a position they
all share (``Reader``) and compares it with the feed position at the start of its request
(``feed.unapplied``).
"""

from __future__ import annotations

import bisect
import datetime as dt
import fcntl
import functools
import hashlib
import heapq
import json
import logging
import os
import shutil
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
import tantivy
from django.conf import settings

from ..metadata import METADATA_FIELDS, SEARCH_TEXT_FIELDS
from . import declarations

log = logging.getLogger(__name__)

FORMAT = 7  # bump when the document layout changes without a field change
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)
WRITER_HEAP = 64_000_000  # the feed's writer: a few hundred files between commits
BULK_HEAP_PER_THREAD = 400_000_000  # a rebuild: segments of about 280,000 files (one segment searches no faster)
SUBSTRING_LENGTHS = range(1, 9)  # ``subs`` and ``starts``: longer texts are a phrase of trigrams
# Page slices (``Slicing``): files per slice of an order, about, and the name slices' sample.
ID_SLICE_SHIFT = 12  # 4,096 ids
MOMENT_SLICE_SHIFT = 36  # 2^36 µs, 19 hours
SIZE_SLICES_PER_DOUBLING = 32
NAME_SLICES = 1024  # the names' order in this many slices of about equal size (at a rebuild)
# The names' slices are made again (the writer rebuilds the index; readers keep the last commit
# meanwhile) once the index holds RESLICE_GROWTH times the files they were made for, from
# RESLICE_AT files on: an index that started empty and grew gets name slices that fit it.
RESLICE_AT = 20_000
RESLICE_GROWTH = 4
SLICE_FIELDS = {
    "id": "id_slice",
    "size": "size_slice",
    "created_at": "created_slice",
    "updated_at": "updated_slice",
    "name_key": "name_slice",
}
FACET_BUCKETS = 50000  # values per facet counted exactly; beyond this SQL answers
INTEGER_FIELDS = ("id", "project", "folder", "owner", "size", "created_at", "updated_at", "sequencing_day", "name_key")
KEYWORD_FIELDS = ("access_level", "parse_status", "tags", "tagset", "name", "lname", "sequencing_date")
METADATA_KEYWORDS = tuple(s.name for s in METADATA_FIELDS if s.kind in ("text", "choice"))
METADATA_INTEGERS = tuple(s.name for s in METADATA_FIELDS if s.kind == "integer")
# Columns that are not read from the index (a filter's terms; the free text) or are read only for
# a few hits (the exact name order): the others are columns (fast fields) that searches read for
# every match. Each of those has a value in every document, the feed position's included: a
# column that some document lacks is read through an index of who has a value, and an aggregation
# over it costs about five times as much (7.5 against 1.5 ms per million files). A keyword that
# a file has no value for is the empty text there, a value no filter can ask for (empty values
# are ignored) and no facet counts.
NOT_COLUMNS = frozenset({"lname", "tags", *declarations.IDENTIFIER_FIELDS})
# Integer columns only ranges read: a range over a column is answered from the column, so their
# terms (a distinct one per file for sizes and moments) would be built and never read.
RANGE_ONLY = frozenset(spec.field for spec in declarations.RANGES) - frozenset(
    spec.field for spec in declarations.FILTERS if spec.kind in declarations.TERM_KINDS
)
FULL_KEYWORDS = tuple(name for name in (*KEYWORD_FIELDS, *METADATA_KEYWORDS) if name not in NOT_COLUMNS)
# Columns with exactly one value in every file's document: a terms aggregation over one of them
# counts every match once, so its buckets add up to the number of matches.
ONE_VALUE_EACH = frozenset({*FULL_KEYWORDS, "id", "project", "folder", "owner"})
ROW_COLUMNS = (
    "id",
    "name",
    "description",
    "project_id",
    "folder_id",
    "owner_id",
    "effective_access_level",
    "parse_status",
    "size",
    "created_at",
    "updated_at",
    "tags",
    "sequencing_date",
    *METADATA_KEYWORDS,
    *METADATA_INTEGERS,
)


class Unsupported(Exception):
    """The index cannot answer this query exactly: SQL does."""


def _layout() -> list[tuple[str, str]]:
    fields = [("kind", "keyword"), ("feed", "stored"), ("slicing", "stored"), ("grams", "grams"), ("subs", "subs")]
    fields += [("starts", "starts"), ("words", "words")]
    fields += [(name, "slice") for name in SLICE_FIELDS.values()]
    fields += [(name, "integer") for name in (*INTEGER_FIELDS, *METADATA_INTEGERS)]
    fields += [(name, "keyword") for name in (*KEYWORD_FIELDS, *METADATA_KEYWORDS)]
    return fields


def _field_options() -> list[tuple[str, bool, dict[str, Any]]]:
    """Each field as ``build_schema`` declares it: name, whether it is an integer, and tantivy's
    options for it."""
    options: list[tuple[str, bool, dict[str, Any]]] = []
    for name, kind in _layout():
        if kind == "integer":
            options.append((name, True, {"stored": name == "id", "indexed": name not in RANGE_ONLY, "fast": True}))
        elif kind == "slice":  # terms only: a page reads a slice's posting, nothing reads its values
            options.append((name, True, {"stored": False, "indexed": True, "fast": False}))
        elif kind == "keyword":
            options.append((name, False, {"tokenizer_name": "raw", "fast": name not in NOT_COLUMNS}))
        elif kind == "stored":
            options.append((name, False, {"stored": True, "tokenizer_name": "raw"}))
        elif kind == "grams":
            options.append((name, False, {"tokenizer_name": "grams", "index_option": "position"}))
        else:  # ``subs``, ``starts``: the lower-case name, cut into its pieces by the index (``_register``)
            options.append((name, False, {"tokenizer_name": kind}))
    return [(name, integer, opts if integer else {"index_option": "basic", **opts}) for name, integer, opts in options]


@functools.cache  # the layout is fixed for the process; every search asks (``Reader.current``)
def schema_signature() -> str:
    """Changes with anything an index built by another version could differ in: every field's
    options and the pieces' lengths (an index whose signature differs is rebuilt)."""
    described = [FORMAT, _field_options(), [min(SUBSTRING_LENGTHS), max(SUBSTRING_LENGTHS)]]
    return hashlib.sha256(json.dumps(described).encode()).hexdigest()[:16]


def index_signature() -> str:
    """What an index on this node must have been built with to be read or written here: this
    layout (``schema_signature``), this number of shards and this process's database (its
    engine, host, port and name; ``database_identity``). An index built from another database
    (a process started with another ``DATABASE_URL``) is neither read, which would answer with
    that database's files, nor written into: it is rebuilt from this one. Every search asks
    (``Reader.current``)."""
    return _signature_for(database_identity(), shard_count())


@functools.lru_cache(maxsize=8)
def _signature_for(database: str, shards: int) -> str:
    return f"{schema_signature()}@{hashlib.sha256(database.encode()).hexdigest()[:12]}/{shards}"


def database_identity() -> str:
    from django.db import connection

    configured = connection.settings_dict
    return "|".join(str(configured.get(key) or "") for key in ("ENGINE", "HOST", "PORT", "NAME"))


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    for name, integer, options in _field_options():
        if integer:
            builder.add_integer_field(name, **options)
        else:
            builder.add_text_field(name, **options)
    return builder.build()


SCHEMA = build_schema()


def _register(index: tantivy.Index) -> None:
    # ``subs``: every piece of ``SUBSTRING_LENGTHS`` characters. Cut by the index rather than
    # listed by Python: listing them was two thirds of a rebuild's Python time (~70 of ~110 µs
    # per file), on a machine whose every core a rebuild keeps busy (decision 0023).
    pieces = tantivy.Tokenizer.ngram(min(SUBSTRING_LENGTHS), max(SUBSTRING_LENGTHS), False)
    index.register_tokenizer("subs", tantivy.TextAnalyzerBuilder(pieces).build())
    starts = tantivy.Tokenizer.ngram(min(SUBSTRING_LENGTHS), max(SUBSTRING_LENGTHS), True)
    index.register_tokenizer("starts", tantivy.TextAnalyzerBuilder(starts).build())
    index.register_tokenizer("grams", tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex("[^\x00]+")).build())
    words = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.lowercase()).build()
    index.register_tokenizer("words", words)


def bulk_threads() -> int:
    """Indexing threads for a rebuild: the cores beside the one that builds the documents."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def index_dir() -> Path:
    return Path(settings.BIOFM_SEARCH_INDEX_DIR)


def shard_count() -> int:
    return settings.BIOFM_SEARCH_SHARDS


def shard_of(file_id: int, shards: int) -> int:
    """The shard holding a file's document: by id, so the files of a project, a folder or a
    day spread evenly over the shards and each shard counts about its share of any search."""
    return int(file_id) % shards


def shard_paths(path: Path, shards: int) -> list[Path]:
    return [path / f"shard-{number}" for number in range(shards)]


def _micros(moment: dt.datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


def trigrams(text: str) -> list[str]:
    return [text[i : i + 3] for i in range(len(text) - 2)]


def name_key(name: str) -> int:
    """The first 8 bytes of the name (UTF-8, zero-padded) as one signed integer in the same order
    as the names' bytes: pages by name are a top-N by this number (a text column costs about
    three times as much), and only names sharing their first 8 bytes are then put in order by
    the name itself."""
    return int.from_bytes(name.encode()[:8].ljust(8, b"\0"), "big") - 2**63


def tag_set(tags: list[str]) -> str:
    """A file's tags as one value (``tagset``): the tags facet counts this single-valued column and
    adds each combination's count to each of its tags, as a column of several values per file
    costs about 20 times as much to aggregate (33 against 1.5 ms per million files). Sorted, so
    files with the same tags share one combination; repeats kept, so a tag counts as often as the
    SQL grouping counts it."""
    return _dumps(sorted(tags))


class Slicing:
    """Page slices: for each page order (``SLICE_FIELDS``) an indexed number per file that never
    decreases as the order's value grows, so that the first hits of a page lie in the first
    slices that hold any and a page reads a slice's posting instead of every match
    (``backends.IndexBackend._first_hits``). Ids, moments and sizes are sliced by fixed rules,
    open-ended as files are added; names by ``name_bounds``, name keys at even steps through the
    names of the ``files`` a rebuild found (one slice for all until the first rebuild of a
    non-empty table; made again when outgrown, ``outgrown``). ``edges``: the lowest and highest
    slice of each field this index holds, or held (a page starts from there; one beyond it costs
    a little more, never an answer)."""

    def __init__(
        self, name_bounds: Iterable[int] = (), edges: dict[str, list[int]] | None = None, files: int | None = None
    ) -> None:
        self.name_bounds = sorted(set(name_bounds))
        self.edges: dict[str, list[int]] = {key: list(value) for key, value in (edges or {}).items()}
        self.files = files  # how many files the name bounds were made for (None: not recorded)

    def outgrown(self, files: int) -> bool:
        """Whether the index, holding ``files`` files, has outgrown its name slices: from
        ``RESLICE_AT`` files on, ``RESLICE_GROWTH`` times as many as they were made for. One made
        on an empty table is one slice for all, where a page by name reads every match (3–20 ms
        at a million files, against ~0.3 ms by slices). Bounds of an index that did not record
        their files (older ones) are taken as fitting it, unless there are none."""
        if files < RESLICE_AT:
            return False
        made_for = self.files if self.files is not None else (files if self.name_bounds else 0)
        return files >= RESLICE_GROWTH * made_for

    def number(self, field_name: str, value: int) -> int:
        """The slice of ``value`` of the order ``field_name``."""
        if field_name == "id":
            return value >> ID_SLICE_SHIFT
        if field_name in ("created_at", "updated_at"):
            return value >> MOMENT_SLICE_SHIFT
        if field_name == "size":
            if value <= 0:
                return 0
            # The octave, then the 5 bits after the leading one: exact integer steps, in order.
            bits = value.bit_length()
            top = value >> (bits - 6) if bits > 6 else value << (6 - bits)
            return bits * SIZE_SLICES_PER_DOUBLING + (top - 32)
        return bisect.bisect_right(self.name_bounds, value)

    def add(self, doc: dict[str, Any]) -> None:
        """Give a file's document its slices (and widen the edges to them)."""
        for field_name, slice_field in SLICE_FIELDS.items():
            number = self.number(field_name, doc.get(field_name, 0))
            doc[slice_field] = number
            edge = self.edges.get(slice_field)
            if edge is None:
                self.edges[slice_field] = [number, number]
            elif number < edge[0]:
                edge[0] = number
            elif number > edge[1]:
                edge[1] = number

    def dumps(self) -> str:
        return json.dumps({"name_bounds": self.name_bounds, "edges": self.edges, "files": self.files})

    @classmethod
    def loads(cls, text: str | None) -> Slicing:
        described = json.loads(text) if text else {}
        return cls(described.get("name_bounds", ()), described.get("edges"), described.get("files"))

    @classmethod
    def of_names(cls, names: Iterable[str]) -> Slicing:
        """Name slices of about equal size for names like these (a sample of the files')."""
        keys = sorted(name_key(name) for name in names)
        step = len(keys) / NAME_SLICES
        return cls(keys[int(step * i)] for i in range(1, NAME_SLICES) if keys)


def _text_fields(name: str, description: str, raw_tags: Any, metadata_words: list[str]) -> dict[str, Any]:
    """The fields a file's document derives by Python's string rules, for both ways of building
    it (``document_fields``, ``bulk_document``): the name's forms (``name_key``, lower case,
    trigrams; the index cuts the pieces from ``subs`` and ``starts``), the free-text ``words`` and
    the tags."""
    tags = [str(tag) for tag in raw_tags] if isinstance(raw_tags, list) else []
    lname = name.lower()
    fields: dict[str, Any] = {
        "kind": "file",
        "name": name,
        "name_key": name_key(name),
        "lname": lname,
        "grams": "\x00".join(trigrams(lname)),
        "subs": lname,
        "starts": lname,
        "words": " ".join([name, description, *tags, *metadata_words]),
        "tagset": tag_set(tags),
    }
    if tags:
        fields["tags"] = tags
    return fields


def document_fields(values: dict[str, Any], slicing: Slicing | None = None) -> dict[str, Any]:
    """The index document of one live file row (a mapping of ``ROW_COLUMNS``) as field values."""
    metadata_words = [str(values[f]) for f in SEARCH_TEXT_FIELDS if values.get(f) not in (None, "")]
    doc = _text_fields(values["name"], values["description"], values["tags"], metadata_words)
    doc.update(
        {
            "id": values["id"],
            "project": values["project_id"],
            "folder": values["folder_id"] or 0,
            "owner": values["owner_id"],
            "access_level": values["effective_access_level"],
            "parse_status": values["parse_status"],
            "size": values["size"] or 0,
            "created_at": _micros(values["created_at"]),
            "updated_at": _micros(values["updated_at"]),
        }
    )
    day = values["sequencing_date"]
    doc["sequencing_date"] = day.isoformat() if day else ""
    if day:
        doc["sequencing_day"] = day.toordinal()
    for field_name in METADATA_KEYWORDS:
        value = values[field_name] or ""
        if value or field_name in FULL_KEYWORDS:
            doc[field_name] = value
    for field_name in METADATA_INTEGERS:
        if values[field_name] is not None:
            doc[field_name] = values[field_name]
    (slicing or Slicing()).add(doc)
    return doc


def document(row: tuple, slicing: Slicing | None = None) -> tantivy.Document:
    """The index document of one live file row (``ROW_COLUMNS``)."""
    return tantivy.Document.from_dict(document_fields(dict(zip(ROW_COLUMNS, row, strict=True)), slicing), SCHEMA)


# --- bulk loading (PostgreSQL) ---------------------------------------------------------------
# A rebuild streams the file table with ``COPY (BULK_SELECT) TO STDOUT`` as plain columns, typed
# by ``BULK_TYPES``, and hands tantivy one JSON text per file. The database renders what it
# renders exactly like ``document_fields`` (the keyword columns' empty text, microseconds, the ISO
# day and its ordinal, the metadata words); Python adds what depends on Python's string rules:
# tags (JSON decoded and ``str``-ed), the lower-case name, its trigrams and the free-text words
# (the index cuts the pieces). Rendering the JSON in the database instead cost it ~45 s per
# million files, four times its reading the rows, on the cores the indexing needs.


def _bulk_columns() -> list[tuple[str, str, str]]:
    """``(document field, SQL expression, COPY type)`` of each column of a file's document."""
    micros = "(EXTRACT(EPOCH FROM {0}) * 1000000)::bigint"
    return [
        ("id", "id", "int8"),
        ("name", "name", "text"),
        ("project", "project_id", "int8"),
        ("folder", "COALESCE(folder_id, 0)", "int8"),
        ("owner", "owner_id", "int8"),
        ("access_level", "effective_access_level", "text"),
        ("parse_status", "parse_status", "text"),
        ("size", "COALESCE(size, 0)", "int8"),
        ("created_at", micros.format("created_at"), "int8"),
        ("updated_at", micros.format("updated_at"), "int8"),
        ("sequencing_date", "COALESCE(to_char(sequencing_date, 'YYYY-MM-DD'), '')", "text"),
        ("sequencing_day", "(sequencing_date - DATE '0001-01-01' + 1)::bigint", "int8"),
        *[
            (name, f"{'COALESCE' if name in FULL_KEYWORDS else 'NULLIF'}({name}, '')", "text")
            for name in METADATA_KEYWORDS
        ],
        *[(name, f"{name}::bigint", "int8") for name in METADATA_INTEGERS],
    ]


BULK_COLUMNS = _bulk_columns()
BULK_KEYS = tuple(key for key, _, _ in BULK_COLUMNS)
# The columns, then the description, the tags (JSON text) and the metadata part of ``words``.
BULK_TYPES = [kind for _, _, kind in BULK_COLUMNS] + ["text"] * 3


def _bulk_select() -> str:
    columns = ", ".join(expression for _, expression, _ in BULK_COLUMNS)
    # The metadata part of ``words``: the values ``document_fields`` joins, in the same order
    # (``concat_ws`` skips NULLs; an integer's text is Python's ``str``).
    words = ", ".join(
        f"{name}::text" if name in METADATA_INTEGERS else f"NULLIF({name}, '')" for name in SEARCH_TEXT_FIELDS
    )
    return (
        f"SELECT {columns}, description, tags::text, concat_ws(' ', {words})"
        " FROM file_upload_file WHERE deleted_at IS NULL"
    )


BULK_SELECT = _bulk_select()
_dumps = json.JSONEncoder(ensure_ascii=False).encode


def bulk_document(row: tuple[Any, ...], slicing: Slicing | None = None) -> str:
    """The JSON document (for ``IndexWriter.add_json``) of one ``BULK_SELECT`` row (its first
    column is the file's id): the same fields and values as ``document_fields`` gives for that
    file (a NULL is no value)."""
    *columns, description, tags_text, metadata_words = row
    doc = {key: value for key, value in zip(BULK_KEYS, columns, strict=True) if value is not None}
    words = [metadata_words] if metadata_words else []
    doc.update(_text_fields(doc["name"], description, json.loads(tags_text), words))
    (slicing or Slicing()).add(doc)
    return orjson.dumps(doc).decode()  # a tenth of the standard encoder's time


def meta_document(position: dict[str, Any], slicing: Slicing | None = None) -> tantivy.Document:
    """The feed position's document. It has a value (zero, the empty text) in every integer
    column and every keyword column the files always have, so that it leaves none of them
    without one; no search reaches it (``backends._files``)."""
    fields: dict[str, Any] = {"kind": "meta", "feed": json.dumps(position), "slicing": (slicing or Slicing()).dumps()}
    fields.update(dict.fromkeys(INTEGER_FIELDS, 0))
    fields.update(dict.fromkeys(FULL_KEYWORDS, ""))
    return tantivy.Document.from_dict(fields, SCHEMA)


# --- reading -----------------------------------------------------------------------------------

SHARD_THREADS = 16  # per web process: a search's shards but the first, for every search at once


@functools.cache
def _shard_threads() -> ThreadPoolExecutor:
    """This process's threads for shards (made on first use, so in each web process). A task
    on them never waits for another, so a search waiting for its shards here cannot deadlock."""
    return ThreadPoolExecutor(max_workers=SHARD_THREADS, thread_name_prefix="search-shard")


class Found:
    """A search's answer across the shards, as tantivy's: ``hits`` (value or score, address)
    and ``count`` (``None`` unless asked for). An address is (shard, the shard's address)."""

    def __init__(self, hits: list[tuple[Any, tuple[int, Any]]], count: int | None) -> None:
        self.hits, self.count = hits, count


class Searcher:
    """One commit of every shard, searched as one index: the calls of tantivy's searcher that
    search uses, each asked of every shard side by side (the first in the calling thread, the
    others on the process's shard threads) and their answers merged. Hits are merged by their
    order's value (the first ``offset + limit`` of each shard); aggregations by their request
    (``merge_aggregations``), counts and document frequencies summed."""

    def __init__(self, shards: list[Any]) -> None:
        self.shards = shards
        self.num_docs = sum(shard.num_docs for shard in shards)  # the feed position's documents included

    def _each(self, ask: Callable[[Any], Any]) -> list[Any]:
        if len(self.shards) == 1:
            return [ask(self.shards[0])]
        others = [_shard_threads().submit(ask, shard) for shard in self.shards[1:]]
        first = ask(self.shards[0])
        return [first, *(future.result() for future in others)]

    def search(
        self,
        query: Any,
        limit: int = 10,
        count: bool = True,
        order_by_field: str | None = None,
        offset: int = 0,
        order: Any = tantivy.Order.Desc,
    ) -> Found:
        """The hits ``offset`` to ``offset + limit`` by ``order_by_field`` (a fast field) in
        ``order``, or by score, highest first; ``count``: with the number of matches."""
        by = {"count": count, "order_by_field": order_by_field, "order": order}
        if len(self.shards) == 1:
            found = self.shards[0].search(query, limit, offset=offset, **by)
            return Found([(value, (0, address)) for value, address in found.hits], found.count)
        answers = self._each(lambda shard: shard.search(query, offset + limit, **by))
        descending = order_by_field is None or order == tantivy.Order.Desc
        runs = [[(value, (number, address)) for value, address in found.hits] for number, found in enumerate(answers)]
        hits = list(islice(heapq.merge(*runs, key=lambda hit: hit[0], reverse=descending), offset, offset + limit))
        return Found(hits, sum(found.count for found in answers) if count else None)

    def fast_field_values(self, field_name: str, addresses: list[tuple[int, Any]]) -> list[Any]:
        """The field's value of each hit (``Found.hits``' addresses), in their order."""
        if len(self.shards) == 1:
            return self.shards[0].fast_field_values(field_name, [address for _, address in addresses])
        by_shard: dict[int, list[int]] = defaultdict(list)
        for position, (number, _) in enumerate(addresses):
            by_shard[number].append(position)
        values: list[Any] = [None] * len(addresses)
        for number, positions in by_shard.items():
            read = self.shards[number].fast_field_values(field_name, [addresses[at][1] for at in positions])
            for at, value in zip(positions, read, strict=True):
                values[at] = value
        return values

    def doc_freq(self, field_name: str, term: Any) -> int:
        return sum(shard.doc_freq(field_name, term) for shard in self.shards)

    def aggregate(self, query: Any, spec: dict[str, Any]) -> dict[str, Any]:
        answers = self._each(lambda shard: shard.aggregate(query, spec))
        return answers[0] if len(answers) == 1 else merge_aggregations(spec, answers)


def merge_aggregations(spec: dict[str, Any], answers: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer one index holding every shard's files gives to the aggregation ``spec``, from
    each shard's answer: the kinds search asks for (terms, filter, value_count, sum), nested.
    Terms: the buckets of every shard by key, their counts added (in no particular order), the
    ``size`` largest kept when there are more (the rest counted in ``sum_other_doc_count``, as
    are those a shard left out). The shards' answers are taken apart: pass none that is kept."""
    merged: dict[str, Any] = {}
    for name, request in spec.items():
        parts = [answer[name] for answer in answers if name in answer]
        if parts:
            merged[name] = _merged(request, parts)
    return merged


def _merged(request: dict[str, Any], parts: list[dict[str, Any]]) -> dict[str, Any]:
    inner = request.get("aggs") or {}
    if "terms" in request:
        by_key: dict[Any, list[dict[str, Any]]] = {}
        for part in parts:
            for bucket in part.get("buckets", []):
                by_key.setdefault(bucket["key"], []).append(bucket)
        buckets = []
        for found in by_key.values():  # the first shard's bucket of a key becomes the merged one
            if len(found) > 1:
                found[0].update(doc_count=sum(b["doc_count"] for b in found), **merge_aggregations(inner, found))
            buckets.append(found[0])
        size = request["terms"].get("size", 10)
        other = sum(part.get("sum_other_doc_count", 0) for part in parts)
        if len(buckets) > size:
            buckets.sort(key=lambda bucket: -bucket["doc_count"])
            other += sum(bucket["doc_count"] for bucket in buckets[size:])
            buckets = buckets[:size]
        return {
            "buckets": buckets,
            "sum_other_doc_count": other,
            "doc_count_error_upper_bound": sum(part.get("doc_count_error_upper_bound", 0) for part in parts),
        }
    if "filter" in request:
        return {"doc_count": sum(part["doc_count"] for part in parts), **merge_aggregations(inner, parts)}
    if "value_count" in request or "sum" in request:
        values = [part["value"] for part in parts if part.get("value") is not None]
        return {"value": sum(values) if values else None}
    raise Unsupported(f"aggregation across shards: {sorted(request)}")


class Reader:
    """One process's view of the node's index: reopened when the index is replaced, reloaded
    when a commit happened (a shard's ``meta.json`` changed). The shards are read together
    only at a position every one of them has committed: between the writer's commit of one
    shard and of the next, the reader keeps the commits it read before."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.indexes: list[tantivy.Index] | None = None
        self.stamps: list[tuple[int, int]] | None = None
        self.searcher: Searcher | None = None
        self.position: dict[str, Any] | None = None
        self.slicing = Slicing()  # the latest commit's (``Slicing``)

    def _stamps(self, shards: int) -> list[tuple[int, int]] | None:
        stamps = []
        for shard in shard_paths(self.path, shards):
            try:
                stat = os.stat(shard / "meta.json")
            except FileNotFoundError:
                return None
            stamps.append((stat.st_ino, stat.st_mtime_ns))
        return stamps

    def _forget(self) -> None:
        self.indexes = self.stamps = self.searcher = self.position = None

    def current(self) -> tuple[Searcher, dict[str, Any]] | None:
        """The latest committed searcher and its feed position, or ``None`` (no usable index)."""
        with self.lock:
            shards = shard_count()
            stamps = self._stamps(shards)
            if stamps is None or read_signature(self.path) != index_signature():
                self._forget()
                return None
            # Opened again when the first shard's meta.json is a new file (as a rebuild leaves
            # it); the searcher read before stays until the new one is consistent.
            reopen = self.indexes is None or self.stamps is None or len(self.indexes) != shards
            if reopen or stamps[0][0] != self.stamps[0][0]:
                self.indexes = [tantivy.Index.open(str(shard)) for shard in shard_paths(self.path, shards)]
                for index in self.indexes:
                    _register(index)
                reopen = True
            if reopen or stamps != self.stamps:
                self.stamps = stamps
                searchers = []
                for index in self.indexes:
                    index.reload()
                    searchers.append(index.searcher())
                metas = [_meta_of(searcher) for searcher in searchers]
                if all(position is not None and position == metas[0][0] for position, _ in metas):
                    self.searcher = Searcher(searchers)
                    self.position, self.slicing = metas[0]
            if self.position is None or self.searcher is None:
                return None
            return self.searcher, self.position


def _meta_of(searcher: Any) -> tuple[dict[str, Any] | None, Slicing]:
    """The feed position and the page slices of the commit ``searcher`` (one shard's) reads."""
    found = searcher.search(tantivy.Query.term_query(SCHEMA, "kind", "meta"), 1)
    if not found.hits:
        return None, Slicing()
    stored = searcher.doc(found.hits[0][1]).to_dict()
    return json.loads(stored["feed"][0]), Slicing.loads((stored.get("slicing") or [None])[0])


_readers: dict[str, Reader] = {}
_readers_lock = threading.Lock()


def reader() -> Reader:
    path = index_dir()
    with _readers_lock:
        found = _readers.get(str(path))
        if found is None:
            found = _readers[str(path)] = Reader(path)
        return found


# Files of each segment that a search reads for every match: the columns (facets, ranges,
# orders), the term dictionaries and the field norms. ``preload`` reads them through; the
# postings and positions, read only where a query's terms point, it asks the kernel to read ahead.
READ_THROUGH = frozenset({".fast", ".term", ".fieldnorm"})
READ_AHEAD = frozenset({".idx", ".pos"})
PRELOAD_CHUNK = 1 << 20


def preload(path: Path | None = None) -> tuple[int, int]:
    """Bring the node's index into the page cache before a process answers from it: after a
    reboot, or when other work has pushed the index out, the first searches otherwise wait on
    the disk for every page of a column they walk (decision 0028). Reads ``READ_THROUGH`` files
    to the end and announces ``READ_AHEAD`` ones (``POSIX_FADV_WILLNEED``: read in the
    background), each part only while what it adds up to fits in half the memory the system has
    available (the index must not push the database's pages out). Returns the bytes read through
    and announced. Pages already cached cost a copy (~0.3 s per GB here), so each web process can
    run it as it starts (``BIOFM_SEARCH_PRELOAD``)."""
    path = path or index_dir()
    sizes = {}
    for file in sorted(path.glob("shard-*/*")):
        if file.suffix in READ_THROUGH or file.suffix in READ_AHEAD:
            try:
                sizes[file] = file.stat().st_size
            except FileNotFoundError:  # a segment merged away meanwhile
                continue
    through = sum(size for file, size in sizes.items() if file.suffix in READ_THROUGH)
    room = _memory_available()
    room = None if room is None else room // 2
    read_through = room is None or through <= room
    # Not every system has read-ahead advice (macOS): there the searches read the postings.
    read_ahead = hasattr(os, "posix_fadvise") and (room is None or sum(sizes.values()) <= room)
    read = announced = 0
    buffer = bytearray(PRELOAD_CHUNK)
    for file, size in sizes.items():
        ahead = file.suffix in READ_AHEAD
        if not (read_ahead if ahead else read_through):
            continue
        try:
            with open(file, "rb", buffering=0) as handle:
                if ahead:
                    os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_WILLNEED)
                    announced += size
                    continue
                while chunk := handle.readinto(buffer):
                    read += chunk
        except FileNotFoundError:
            continue
    return read, announced


def _memory_available() -> int | None:
    """The memory the system has available (``MemAvailable``, bytes), or ``None`` where it does
    not say."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def read_signature(path: Path) -> str | None:
    try:
        return json.loads((path / "biofm-schema.json").read_text())["signature"]
    except (FileNotFoundError, ValueError, KeyError):
        return None


# --- writing -----------------------------------------------------------------------------------


@contextmanager
def writer_lock(path: Path, wait: bool = True) -> Iterator[bool]:
    """The node's writer lock (a file lock beside the index): one writer per node."""
    path.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.writer.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Writer:
    """The tantivy writers of the node's index, one per shard (hold ``writer_lock`` while using
    them). Each file's document goes to its shard (``shard_of``); a commit commits every shard
    with the same feed position."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.shards = shard_count()
        fresh = read_signature(path) != index_signature()
        if fresh:
            self._clear()
        self.indexes = []
        for shard in shard_paths(path, self.shards):
            shard.mkdir(parents=True, exist_ok=True)
            index = tantivy.Index(SCHEMA, path=str(shard), reuse=not fresh)
            _register(index)
            self.indexes.append(index)
        self.writers = [index.writer(heap_size=WRITER_HEAP, num_threads=1) for index in self.indexes]
        self.slicing = Slicing()  # the index's, read with its position (``position``)
        self.files = 0  # the files the index holds, read with its position
        if fresh:
            (path / "biofm-schema.json").write_text(json.dumps({"signature": index_signature()}))

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """Writers for a full load: a larger memory budget per indexing thread (fewer, larger
        segments, less merging) and the cores shared among the shards; the feed's small
        writers after it."""
        threads = max(1, bulk_threads() // self.shards)
        self._reopen(BULK_HEAP_PER_THREAD * threads, threads)
        try:
            yield
        finally:
            self._reopen(WRITER_HEAP, 1)

    def _reopen(self, heap_size: int, num_threads: int) -> None:
        self.writers = []  # tantivy allows one writer per index: release them first
        self.writers = [index.writer(heap_size=heap_size, num_threads=num_threads) for index in self.indexes]

    def add_json(self, documents: Iterable[tuple[int, str]]) -> int:
        """Add documents given as (file id, JSON text) (``bulk_document``), not yet committed."""
        added = 0
        shards = self.shards
        adds = [writer.add_json for writer in self.writers]
        for file_id, text in documents:
            adds[shard_of(file_id, shards)](text)
            added += 1
        return added

    def _clear(self) -> None:
        """Remove an index of another layout: its files, and its shards' folders."""
        self.path.mkdir(parents=True, exist_ok=True)
        for child in self.path.iterdir():
            if child.is_file():
                child.unlink()
            elif child.is_dir() and child.name.startswith("shard-"):
                shutil.rmtree(child)

    def position(self) -> dict[str, Any] | None:
        """The feed position of the last commit (and its page slices, which later documents
        are sliced by: every file of an index by the same name bounds); ``None`` when the
        shards' commits differ (a writer stopped between them): the index is rebuilt."""
        metas, files = [], 0
        for index in self.indexes:
            index.reload()
            searcher = index.searcher()
            metas.append(_meta_of(searcher))
            files += max(0, searcher.num_docs - 1)  # the shard's meta document aside
        position, self.slicing = metas[0]
        self.files = files
        if any(other != position for other, _ in metas[1:]):
            log.warning("search index: its shards were committed at different feed positions")
            return None
        return position

    def replace(self, file_ids: Iterable[int], rows: Iterable[tuple]) -> int:
        """Delete the given files' documents, add the given live rows' (not yet committed)."""
        shards = self.shards
        for file_id in file_ids:
            self.writers[shard_of(file_id, shards)].delete_documents_by_term("id", int(file_id))
        added = 0
        for row in rows:  # the id is the row's first column (``ROW_COLUMNS``)
            self.writers[shard_of(row[0], shards)].add_document(document(row, self.slicing))
            added += 1
        return added

    def clear(self, slicing: Slicing | None = None) -> None:
        """Delete every document; the files added after are sliced by ``slicing``."""
        for writer in self.writers:
            writer.delete_all_documents()
        self.slicing = slicing or Slicing()

    def commit(self, position: dict[str, Any]) -> None:
        """Commit the pending documents with the feed position they reflect, shard by shard."""
        for writer in self.writers:
            writer.delete_documents_by_term("kind", "meta")
            writer.add_document(meta_document(position, self.slicing))
            writer.commit()

    def close(self) -> None:
        for writer in self.writers:
            try:
                writer.wait_merging_threads()
            except Exception:  # already consumed
                pass
