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

The index holds one more document, ``kind=meta``: the change-feed position its last commit
reflects (the commit payload), committed atomically with the files it describes. A reader
compares it with the feed position at the start of its request (``feed.covers``).
"""

from __future__ import annotations

import bisect
import datetime as dt
import fcntl
import functools
import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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
BULK_HEAP_PER_THREAD = 400_000_000  # a rebuild: segments of about a million files
SUBSTRING_LENGTHS = range(1, 9)  # ``subs`` and ``starts``: longer texts are a phrase of trigrams
# Page slices (``Slicing``): files per slice of an order, about, and the name slices' sample.
ID_SLICE_SHIFT = 12  # 4,096 ids
MOMENT_SLICE_SHIFT = 36  # 2^36 µs, 19 hours
SIZE_SLICES_PER_DOUBLING = 32
NAME_SLICES = 1024  # the names' order in this many slices of about equal size (at a rebuild)
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
    layout (``schema_signature``) and this process's database (its engine, host, port and name;
    ``database_identity``). An index built from another database (a process started with
    another ``DATABASE_URL``) is neither read, which would answer with that database's files,
    nor written into: it is rebuilt from this one. Every search asks (``Reader.current``)."""
    return _signature_for(database_identity())


@functools.lru_cache(maxsize=8)
def _signature_for(database: str) -> str:
    return f"{schema_signature()}@{hashlib.sha256(database.encode()).hexdigest()[:12]}"


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
    names of the files a rebuild found (one slice for all until the first rebuild of a non-empty
    table). ``edges``: the lowest and highest slice of each field this index holds, or held (a
    page starts from there; one beyond it costs a little more, never an answer)."""

    def __init__(self, name_bounds: Iterable[int] = (), edges: dict[str, list[int]] | None = None) -> None:
        self.name_bounds = sorted(set(name_bounds))
        self.edges: dict[str, list[int]] = {key: list(value) for key, value in (edges or {}).items()}

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
        return json.dumps({"name_bounds": self.name_bounds, "edges": self.edges})

    @classmethod
    def loads(cls, text: str | None) -> Slicing:
        described = json.loads(text) if text else {}
        return cls(described.get("name_bounds", ()), described.get("edges"))

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
    """The JSON document (for ``IndexWriter.add_json``) of one ``BULK_SELECT`` row: the same
    fields and values as ``document_fields`` gives for that file (a NULL is no value)."""
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


class Reader:
    """One process's view of the node's index: reopened when the index is replaced, reloaded
    when a commit happened (the writer's ``meta.json`` changed)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.index: tantivy.Index | None = None
        self.stamp: tuple[int, int] | None = None
        self.searcher: Any = None
        self.position: dict[str, Any] | None = None
        self.slicing = Slicing()  # the latest commit's (``Slicing``)

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.path / "meta.json")
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    def current(self) -> tuple[Any, dict[str, Any]] | None:
        """The latest committed searcher and its feed position, or ``None`` (no usable index)."""
        with self.lock:
            stamp = self._stamp()
            if stamp is None or read_signature(self.path) != index_signature():
                self.index = self.searcher = self.position = None
                return None
            if self.index is None or stamp[0] != (self.stamp or (None,))[0]:
                self.index = tantivy.Index.open(str(self.path))
                _register(self.index)
                self.stamp = None
            if stamp != self.stamp:
                self.index.reload()
                self.searcher = self.index.searcher()
                self.position, self.slicing = _meta_of(self.searcher)
                self.stamp = stamp
            if self.position is None:
                return None
            return self.searcher, self.position


def _meta_of(searcher: Any) -> tuple[dict[str, Any] | None, Slicing]:
    """The feed position and the page slices of the commit ``searcher`` reads."""
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
    """The tantivy writer of the node's index (hold ``writer_lock`` while using it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fresh = read_signature(path) != index_signature()
        if fresh:
            self._clear()
        self.index = tantivy.Index(SCHEMA, path=str(path), reuse=not fresh)
        _register(self.index)
        self.writer = self.index.writer(heap_size=WRITER_HEAP, num_threads=1)
        self.slicing = Slicing()  # the index's, read with its position (``position``)
        if fresh:
            (path / "biofm-schema.json").write_text(json.dumps({"signature": index_signature()}))

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """A writer for a full load: a larger memory budget per indexing thread (fewer, larger
        segments, less merging) and one thread per core; the feed's small writer after it."""
        self._reopen(BULK_HEAP_PER_THREAD * bulk_threads(), bulk_threads())
        try:
            yield
        finally:
            self._reopen(WRITER_HEAP, 1)

    def _reopen(self, heap_size: int, num_threads: int) -> None:
        self.writer = None  # tantivy allows one writer per index: release it first
        self.writer = self.index.writer(heap_size=heap_size, num_threads=num_threads)

    def add_json(self, documents: Iterable[str]) -> int:
        """Add documents given as JSON texts (``bulk_document``), not yet committed."""
        added = 0
        add = self.writer.add_json
        for text in documents:
            add(text)
            added += 1
        return added

    def _clear(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        for child in self.path.iterdir():
            if child.is_file():
                child.unlink()

    def position(self) -> dict[str, Any] | None:
        """The feed position of the last commit (and its page slices, which later documents
        are sliced by: every file of an index by the same name bounds)."""
        self.index.reload()
        position, self.slicing = _meta_of(self.index.searcher())
        return position

    def replace(self, file_ids: Iterable[int], rows: Iterable[tuple]) -> int:
        """Delete the given files' documents, add the given live rows' (not yet committed)."""
        for file_id in file_ids:
            self.writer.delete_documents_by_term("id", int(file_id))
        added = 0
        for row in rows:
            self.writer.add_document(document(row, self.slicing))
            added += 1
        return added

    def clear(self, slicing: Slicing | None = None) -> None:
        """Delete every document; the files added after are sliced by ``slicing``."""
        self.writer.delete_all_documents()
        self.slicing = slicing or Slicing()

    def commit(self, position: dict[str, Any]) -> None:
        """Commit the pending documents with the feed position they reflect."""
        self.writer.delete_documents_by_term("kind", "meta")
        self.writer.add_document(meta_document(position, self.slicing))
        self.writer.commit()

    def close(self) -> None:
        try:
            self.writer.wait_merging_threads()
        except Exception:  # already consumed
            pass
