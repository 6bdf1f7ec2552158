"""Format extraction and index builds: ``parse_file``, ``index_file``, ``request_reparse``,
``mate_files``, ``requeue_stale_parses``, ``requeue_stale_indexes``."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from authentication import audit

from .. import sidecars, storage
from ..models import (
    File,
    IndexStatus,
    ParseStatus,
)
from ..parsers import autofill, registry
from ..parsers.base import Budget, ParseError, budget_scope
from . import queueing

log = logging.getLogger(__name__)


def parse_file(file_id: int) -> File | None:
    """Detect the format from the content, extract statistics with the registered parser and
    fill empty metadata fields from what it saw.

    ``parse_status`` goes pending → running (``parse_started_at`` set) → done, failed or
    skipped. A malformed file, or any unexpected error in a parser, ends as ``failed`` with a
    one-line ``parse_error``; the stored bytes are only ever read. A run that a newer run has
    superseded (the stale sweep re-queued it) does not write its result. When the stats say
    ``"index_status": "pending"`` (a coordinate-sorted BAM), ``index_file`` is queued next."""
    file = File.objects.filter(id=file_id).first()
    if file is None:
        return None
    started = timezone.now()
    File.objects.filter(id=file.id).update(
        parse_status=ParseStatus.RUNNING, parse_error="", parse_started_at=started, updated_at=started
    )
    path = storage.path_for(file.storage_key)
    updates: dict[str, Any] = {"parse_error": "", "stats": {}}
    hints: dict[str, Any] = {}
    fmt = ""
    try:
        fmt = registry.detect_format(path, file.name)
        parser = registry.parser_for(fmt) if fmt else None
        if parser is None:
            updates["parse_status"] = ParseStatus.SKIPPED
        else:
            budget = Budget(max_bytes=settings.BIOFM_PARSE_MAX_BYTES, max_seconds=settings.BIOFM_PARSE_MAX_SECONDS)
            with budget_scope(budget):
                stats = parser.parse(path)
            hints = stats.pop("_hints", None) or {}
            updates["stats"] = stats
            updates["parse_status"] = ParseStatus.DONE
    except ParseError as exc:
        updates["parse_status"] = ParseStatus.FAILED
        lines = str(exc).strip().splitlines()
        updates["parse_error"] = _one_line(lines[0]) if lines else "malformed file"
    except Exception as exc:  # a parser bug or an htslib surprise must not take the worker down
        log.exception("parsing file %s (%s) failed", file.id, fmt or "unknown format")
        updates["parse_status"] = ParseStatus.FAILED
        updates["parse_error"] = _one_line(f"could not read the file as {fmt or 'a known format'}: {exc}")

    filled: list[str] = []
    mates = mate_files(file) if fmt == "fastq" else []
    if fmt:
        suggestions = autofill.suggest(fmt, updates["stats"], hints, file.name, mate_present=bool(mates))
        if updates["parse_status"] != ParseStatus.DONE:
            suggestions = {k: v for k, v in suggestions.items() if k == "file_format"}
        previous = set(file.autofilled_fields or [])
        for field, value in suggestions.items():
            current = getattr(file, field)
            if current in ("", None) or (field in previous and current != value):
                updates[field] = value
                filled.append(field)
        updates["autofilled_fields"] = sorted(previous | set(filled))
    updates["updated_at"] = timezone.now()
    written = File.objects.filter(id=file.id, parse_started_at=started).update(**updates)
    if written and updates.get("library_layout") == "paired":
        # The first mate was parsed alone; now that its pair is here it is paired too.
        for mate in mates:
            if not mate.library_layout:
                File.objects.filter(id=mate.id).update(
                    library_layout="paired", autofilled_fields=sorted({*mate.autofilled_fields, "library_layout"})
                )
    if written and updates["stats"].get("index_status") == IndexStatus.PENDING:
        transaction.on_commit(lambda: queueing.enqueue_index(file.id))
    file.refresh_from_db()
    return file


def mate_files(file: File) -> list[File]:
    """The other mate of a paired-end FASTQ in the same folder (``x_R1`` ↔ ``x_R2``), if present."""
    names = autofill.mate_names(file.name)
    if not names:
        return []
    return list(File.objects.alive().filter(project_id=file.project_id, folder_id=file.folder_id, name__in=names))


def index_file(file_id: int) -> File | None:
    """Build the index a parse left pending (``AlignmentParser.index``: ``<blob>.bai`` and the
    idxstats counts) and merge what it reports into ``stats``.

    ``index_status`` goes pending → running → done | failed; a failure is recorded in the stats
    (``index_error``, ``indexed: false``) and never touches ``parse_status``. Nothing is written
    when a newer parse has started since (its own follow-up does the work)."""
    file = File.objects.filter(id=file_id).first()
    if file is None:
        return None
    stats = dict(file.stats or {})
    if file.parse_status != ParseStatus.DONE or stats.get("index_status") not in (
        IndexStatus.PENDING,
        IndexStatus.RUNNING,
    ):
        return file
    run = File.objects.filter(id=file.id, parse_status=ParseStatus.DONE, parse_started_at=file.parse_started_at)
    if not run.update(stats={**stats, "index_status": IndexStatus.RUNNING}, updated_at=timezone.now()):
        return file
    path = storage.path_for(file.storage_key)
    fmt = ""
    update: dict[str, Any]
    try:
        fmt = registry.detect_format(path, file.name)
        indexer = getattr(registry.parser_for(fmt) if fmt else None, "index", None)
        if indexer is None:
            raise ParseError(f"files detected as {fmt or 'an unknown format'} are not indexed")
        uploaded = _adopt_uploaded_index(file, path)
        update = indexer(path, stats)
        if uploaded is not None:
            update.update(index_source="uploaded", index_file=uploaded.id)
    except ParseError as exc:
        lines = str(exc).strip().splitlines()
        update = {"index_error": _one_line(lines[0]) if lines else "no index could be built"}
    except Exception as exc:  # an htslib surprise: recorded, the parse stays done
        log.exception("indexing file %s (%s) failed", file.id, fmt or "unknown format")
        update = {"index_error": _one_line(f"no index could be built: {exc}")}
    if "index_error" in update:
        update.update(indexed=False, index_status=IndexStatus.FAILED)
    else:
        stats.pop("index_error", None)
    run.update(stats={**stats, **update}, updated_at=timezone.now())
    file.refresh_from_db()
    return file


def _adopt_uploaded_index(file: File, path: Any) -> File | None:
    """Put an uploaded index (``sidecars.index_for``) where the indexer looks for one
    (``<blob>.bai``/``.csi``/``.crai``, a hard link to the index's own blob, a copy across
    file systems), so that nothing is built. Returns the index file, or None."""
    import shutil

    index = sidecars.index_for(file)
    if index is None:
        return None
    suffix = "." + index.name.rsplit(".", 1)[-1].lower()
    target = f"{path}{suffix}"
    if os.path.exists(target):
        os.unlink(target)
    source = storage.path_for(index.storage_key)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return index


def _one_line(text: str, limit: int = 500) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def request_reparse(file: File, actor: Any) -> File:
    """Queue format extraction again (``POST /api/files/<id>/reparse/``)."""
    now = timezone.now()
    with transaction.atomic():
        File.objects.filter(id=file.id).update(
            parse_status=ParseStatus.PENDING, parse_error="", parse_started_at=None, updated_at=now
        )
        audit.record(actor, "file.reparse", file, previous_status=file.parse_status)
        transaction.on_commit(lambda: queueing.enqueue_parse(file.id))
    file.refresh_from_db()
    return file


def requeue_stale_parses(older_than: timedelta | None = None, pending_older_than: timedelta | None = None) -> list[int]:
    """Re-queue extractions a dead worker left ``running`` (started before ``older_than`` ago,
    default ``BIOFM_PARSE_STALE_SECONDS``) and ``pending`` ones never picked up (untouched for
    ``BIOFM_PARSE_PENDING_SECONDS``). Returns the ids queued; the periodic sweep calls this."""
    now = timezone.now()
    if older_than is None:
        older_than = timedelta(seconds=settings.BIOFM_PARSE_STALE_SECONDS)
    if pending_older_than is None:
        pending_older_than = timedelta(seconds=settings.BIOFM_PARSE_PENDING_SECONDS)
    alive = File.objects.filter(deleted_at__isnull=True)
    running = alive.filter(parse_status=ParseStatus.RUNNING, parse_started_at__lte=now - older_than)
    pending = alive.filter(parse_status=ParseStatus.PENDING, updated_at__lte=now - pending_older_than)
    ids: list[int] = []
    for queryset in (running, pending):
        for file_id in list(queryset.values_list("id", flat=True)[:10000]):
            # Conditional update: a worker that just finished or started wins over the sweep.
            if queryset.filter(id=file_id).update(
                parse_status=ParseStatus.PENDING, parse_started_at=None, updated_at=now
            ):
                ids.append(file_id)
    for file_id in ids:
        log.warning("re-queueing the format extraction of file %s (stale)", file_id)
        queueing.enqueue_parse(file_id)
    return ids


def requeue_stale_indexes(
    older_than: timedelta | None = None, pending_older_than: timedelta | None = None
) -> list[int]:
    """``requeue_stale_parses`` for the index follow-up: files whose ``stats.index_status`` is
    ``running`` (untouched for ``older_than``, default ``BIOFM_PARSE_STALE_SECONDS``) or
    ``pending`` (``BIOFM_PARSE_PENDING_SECONDS``) are queued again. Returns the ids queued."""
    now = timezone.now()
    if older_than is None:
        older_than = timedelta(seconds=settings.BIOFM_PARSE_STALE_SECONDS)
    if pending_older_than is None:
        pending_older_than = timedelta(seconds=settings.BIOFM_PARSE_PENDING_SECONDS)
    done = File.objects.filter(deleted_at__isnull=True, parse_status=ParseStatus.DONE)
    running = done.filter(stats__index_status=IndexStatus.RUNNING, updated_at__lte=now - older_than)
    pending = done.filter(stats__index_status=IndexStatus.PENDING, updated_at__lte=now - pending_older_than)
    ids: list[int] = []
    for queryset in (running, pending):
        for file_id in list(queryset.values_list("id", flat=True)[:10000]):
            # Touching updated_at claims the file: the next sweep leaves it alone for a while.
            if queryset.filter(id=file_id).update(updated_at=now):
                ids.append(file_id)
    for file_id in ids:
        log.warning("re-queueing the index build of file %s (stale)", file_id)
        queueing.enqueue_index(file_id)
    return ids
