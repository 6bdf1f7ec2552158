"""The change feed (``SearchChange``, written by triggers on the file table) as the index's
clock: the writer applies it and commits the position it reached with the documents; a request
asks which files the changes its index has not applied touched (``unapplied``: none, and the
index answers; a few, and a search answers from the index and reads those from SQL).

A position (the index's commit payload) is JSON:
- PostgreSQL: the writer's snapshot (``xmin``, ``xmax``, ``xip``) and the changes it applied by
  transactions not yet older than ``xmin`` (a transaction that commits late is still read);
- SQLite: the last change id (one writer at a time, so ids become visible in order).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from ..models import File, SearchChange
from . import engine

log = logging.getLogger(__name__)
CHUNK = 20000
FEED_BATCH = 5000  # feed rows per read


def _postgres() -> bool:
    return connection.vendor == "postgresql"


class _snapshot:
    """One consistent view for a writer pass: REPEATABLE READ on PostgreSQL outside a transaction."""

    def __enter__(self) -> None:
        self.atomic = None
        if _postgres() and not connection.in_atomic_block:
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")

    def __exit__(self, *exc: Any) -> None:
        if self.atomic is not None:
            self.atomic.__exit__(*exc)


def _pg_snapshot() -> tuple[int, int, list[int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_snapshot()::text")
        xmin, xmax, xip = cursor.fetchone()[0].split(":")
    return int(xmin), int(xmax), [int(x) for x in xip.split(",") if x]


def _pg_changes(since_xid: int) -> list[tuple[int, int, int]]:
    """The feed's rows written by transaction ``since_xid`` and later, read along the (xid, id)
    index in keyset batches. A plain ``WHERE xid >= …`` lets the planner choose a scan of the whole
    feed when the table's statistics are stale, as after a bulk load (over a second per writer
    cycle at ten million rows); ``ORDER BY … LIMIT`` walks the index whatever they say."""
    rows: list[tuple[int, int, int]] = []
    after = (since_xid, -1)
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT id, file_id, xid FROM file_upload_searchchange WHERE (xid, id) > (%s, %s)"
                " ORDER BY xid, id LIMIT %s",
                [*after, FEED_BATCH],
            )
            batch = cursor.fetchall()
            rows += batch
            if len(batch) < FEED_BATCH:
                return rows
            after = (batch[-1][2], batch[-1][0])


def start_position() -> dict[str, Any]:
    """Where a full load starts (read inside the load's snapshot)."""
    if _postgres():
        xmin, xmax, xip = _pg_snapshot()
        applied = {str(cid): xid for cid, _, xid in _pg_changes(xmin)}
        return {"xmin": xmin, "xmax": xmax, "xip": xip, "applied": applied, "at": time.time()}
    last = SearchChange.objects.order_by("-id").values_list("id", flat=True).first() or 0
    return {"last": last, "at": time.time()}


def changes_since(position: dict[str, Any]) -> tuple[set[int], dict[str, Any]] | None:
    """File ids changed since ``position`` and the position after them; ``None`` when the index
    must be rebuilt (a change it applied was rolled back, or pruned changes may be missing)."""
    if time.time() - position.get("at", 0) > settings.BIOFM_SEARCH_CHANGE_RETENTION / 2:
        return None
    if _postgres():
        if "xmin" not in position:
            return None
        xmin, xmax, xip = _pg_snapshot()
        rows = _pg_changes(position["xmin"])
        seen = {str(cid) for cid, _, _ in rows}
        if any(cid not in seen for cid in position["applied"]):
            return None
        changed = {file_id for cid, file_id, _ in rows if str(cid) not in position["applied"]}
        applied = {str(cid): xid for cid, _, xid in rows if xid >= xmin}
        return changed, {"xmin": xmin, "xmax": xmax, "xip": xip, "applied": applied, "at": position["at"]}
    if "last" not in position:
        return None
    last = position["last"]
    rows = list(SearchChange.objects.filter(id__gte=last).order_by("id").values_list("id", "file_id"))
    if last and (not rows or rows[0][0] != last):
        return None  # the last change applied is gone: rolled back
    fresh = [(cid, file_id) for cid, file_id in rows if cid > last]
    return {file_id for _, file_id in fresh}, {"last": fresh[-1][0] if fresh else last, "at": position["at"]}


def request_position() -> Any:
    """The feed position at the start of a request: what it must not answer behind of (the
    PostgreSQL snapshot, or the last change id on SQLite)."""
    if _postgres():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_snapshot()::text")
            return cursor.fetchone()[0]
    return SearchChange.objects.order_by("-id").values_list("id", flat=True).first() or 0


def unapplied(position: dict[str, Any], request: Any, limit: int) -> set[int] | None:
    """The files of the feed's changes that the request sees (``request_position``) and the
    index at ``position`` has not applied; ``None`` when there are more than ``limit`` such
    changes, or the position cannot tell."""
    if _postgres():
        return _pg_look(position, request, limit)[1]
    if "last" not in position:
        return None
    changes = SearchChange.objects.filter(id__gt=position["last"], id__lte=request).order_by("id")
    rows = list(changes.values_list("file_id", flat=True)[: limit + 1])
    if not rows and position["last"] < request:
        return None  # changes the index lacks are gone from the feed: it cannot tell which
    return None if len(rows) > limit else set(rows)


def first_look(position: dict[str, Any], limit: int) -> tuple[Any, set[int] | None]:
    """``request_position()`` and then ``unapplied(position, it, limit)``, on PostgreSQL in one
    round trip (every search asks both first; the position is kept for another look after a
    commit)."""
    if _postgres():
        return _pg_look(position, None, limit)
    request = request_position()
    return request, unapplied(position, request, limit)


def _pg_look(position: dict[str, Any], request: str | None, limit: int) -> tuple[str, set[int] | None]:
    """The request's snapshot (``request``, or this statement's own when it is None) and the
    files of the changes it sees that the index at ``position`` has not applied (``None``: more
    than ``limit``, or the position cannot tell).

    Changes by transactions older than the index's xmin were all applied; of the others, the
    index lists those it applied. The request sees what its snapshot holds as committed, and its
    own transaction's writes. Every search request asks this, so it must read only the feed's
    newest rows: ``ORDER BY xid, id LIMIT`` walks the (xid, id) index from ``xmin`` whatever the
    table's statistics say (``EXISTS`` lets the planner choose a scan of the whole feed when they
    are stale, as after a bulk load: 75 ms per request at a million rows)."""
    if "xmin" not in position:
        return request if request is not None else request_position(), None
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH now AS (SELECT COALESCE(%s::pg_snapshot, pg_current_snapshot()) AS snapshot)"
            " SELECT now.snapshot::text, ARRAY("
            "SELECT file_id FROM file_upload_searchchange WHERE xid >= %s AND NOT (id = ANY(%s))"
            " AND (pg_visible_in_snapshot(xid::text::xid8, now.snapshot)"
            " OR xid = COALESCE(pg_current_xact_id_if_assigned()::text::bigint, -1))"
            " ORDER BY xid, id LIMIT %s) FROM now",
            [request, position["xmin"], [int(cid) for cid in position["applied"]] or [-1], limit + 1],
        )
        snapshot, rows = cursor.fetchone()
    return snapshot, None if len(rows) > limit else set(rows)


def _rows(ids: list[int] | None):
    files = File.objects.alive()
    if ids is not None:
        files = files.filter(id__in=ids)
    return files.order_by("id").values_list(*engine.ROW_COLUMNS)


def rebuild(writer: engine.Writer, progress: Callable[[str], None] | None = None) -> int:
    """Load every live file in one commit (readers see the old index until it lands), with the
    feed position read in the same snapshot as the rows. ``progress`` gets a line every few
    seconds (files so far, files per second, time left)."""
    started = time.monotonic()
    meter = _Progress(_estimated_rows(), progress)
    with _snapshot(), writer.bulk():
        position = start_position()
        writer.clear(engine.Slicing.of_names(_name_sample()))
        if _postgres():
            count = writer.add_json(meter.count(_bulk_rows(writer.slicing)))
        else:
            count = writer.replace((), meter.count(_rows(None).iterator(chunk_size=CHUNK)))
        meter.say("committing")
        writer.slicing.files = count  # what the name slices were made for (``Slicing.outgrown``)
        writer.commit(position)
    seconds = time.monotonic() - started
    meter.say(f"{count} files indexed in {seconds:.1f} s ({count / max(seconds, 1e-9):.0f} files/s)")
    log.info("search index: %d files indexed in %.1f s", count, seconds)
    return count


NAME_SAMPLE = 50_000  # names a rebuild slices the names' order by (``engine.Slicing``)


def _name_sample() -> list[str]:
    """About ``NAME_SAMPLE`` names of live files, every n-th id's."""
    step = max(1, _estimated_rows() // NAME_SAMPLE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM file_upload_file WHERE deleted_at IS NULL AND id %% %s = 0", [step])
        return [name for (name,) in cursor.fetchall()]


def _bulk_rows(slicing: engine.Slicing | None = None) -> Iterator[tuple[int, str]]:
    """Every live file as its id and index JSON, streamed by ``COPY`` (no ORM rows, no per-file
    query); the database renders its part while this process builds the rest."""
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY ({engine.BULK_SELECT}) TO STDOUT") as copy:
            copy.set_types(engine.BULK_TYPES)
            bulk_document = engine.bulk_document
            for row in copy.rows():
                yield row[0], bulk_document(row, slicing)


class _Progress:
    """Counts what passes through and reports rate and time left every ``every`` seconds."""

    def __init__(self, expected: int, say: Callable[[str], None] | None, every: float = 5.0) -> None:
        self.expected, self.out, self.every = max(expected, 0), say, every
        self.started = time.monotonic()

    def say(self, message: str) -> None:
        if self.out is not None:
            self.out(message)

    def count(self, items: Iterable[Any]) -> Iterator[Any]:
        done, next_report = 0, self.started + self.every
        for item in items:
            yield item
            done += 1
            if done % 1000 == 0 and time.monotonic() >= next_report:
                now = time.monotonic()
                next_report = now + self.every
                rate = done / (now - self.started)
                left = f", about {max(self.expected - done, 0) / rate:.0f} s left" if self.expected > done else ""
                self.say(f"{done} of ~{self.expected} files, {rate:.0f} files/s{left}")


def catch_up(writer: engine.Writer) -> int:
    """Apply the feed since the index's position, commit with the new position; returns the
    number of files rewritten (a rebuild when the position is unusable; or, in a pass that finds
    no change to apply, when the index has outgrown its name slices: ``engine.Slicing.outgrown``,
    so that a bulk load is applied first and the rebuild comes once it is over)."""
    position = writer.position()
    if position is None:
        return rebuild(writer)
    with _snapshot():
        found = changes_since(position)
        # More changes than a quarter of the table (and 50,000): a rebuild costs less. The table's
        # size is asked only then, not in every pass.
        if found is not None and (len(found[0]) <= 50000 or len(found[0]) <= _estimated_rows() // 4):
            changed, after = found
            if changed or after != position:
                ids = sorted(changed)
                for start in range(0, len(ids), CHUNK):
                    chunk = ids[start : start + CHUNK]
                    writer.replace(chunk, _rows(chunk))
                if changed or time.time() - position.get("at", 0) > 60:
                    after["at"] = time.time()
                    writer.commit(after)
            if changed or not writer.slicing.outgrown(writer.files):
                return len(changed)
            made_for = writer.slicing.files
            log.info("search index: %d files outgrew name slices made for %s; rebuilding", writer.files, made_for)
    return rebuild(writer)


CHANNEL = "biofm_search_change"  # notified by the feed's trigger when a writing transaction commits


class ChangeSignal:
    """What the index writer sleeps on between passes. PostgreSQL: the feed trigger's
    notification, sent when a transaction that changed files commits, so the writer starts its
    pass as soon as the change can be seen (a request waiting for the index waits one pass, not a
    poll interval besides). SQLite has no notifications: the wait is the whole timeout."""

    def __init__(self) -> None:
        self._listening: Any = None  # the connection that LISTENs (a new one must LISTEN again)

    def wait(self, timeout: float) -> bool:
        """Sleep until a change may have committed or ``timeout`` seconds passed; ``True`` when
        a notification (or a new connection, which may have missed some) ended the wait."""
        if not _postgres():
            time.sleep(timeout)
            return False
        try:
            connection.ensure_connection()
            raw = connection.connection
            if raw is not self._listening:
                with connection.cursor() as cursor:
                    cursor.execute(f"LISTEN {CHANNEL}")
                self._listening = raw
                return True
            woken = False
            for _ in raw.notifies(timeout=timeout, stop_after=1):
                woken = True
            for _ in raw.notifies(timeout=0):  # the others already received: one pass covers them
                pass
            return woken
        except (DatabaseError, connection.Database.Error) as error:  # psycopg's own, from notifies()
            # The connection broke (a restart, a network hiccup): drop it, wait the interval;
            # the next pass reconnects and the next wait LISTENs again.
            log.warning("search index writer: waiting for changes failed: %r", error)
            self._listening = None
            connection.close()
            time.sleep(timeout)
            return True


def _estimated_rows() -> int:
    if _postgres():
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = 'file_upload_file'::regclass")
            row = cursor.fetchone()
        if row and row[0] >= 0:
            return int(row[0])
    return File.objects.count()


def prune_changes() -> int:
    """Delete feed rows older than ``BIOFM_SEARCH_CHANGE_RETENTION`` seconds (a writer whose
    position is older than half that rebuilds instead of reading the feed)."""
    import datetime as dt

    from django.utils import timezone

    cutoff = timezone.now() - dt.timedelta(seconds=settings.BIOFM_SEARCH_CHANGE_RETENTION)
    return SearchChange.objects.filter(at__lt=cutoff).delete()[0]
