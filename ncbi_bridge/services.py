"""NCBI imports: the logic behind ``/api/files/ncbi/…`` and the import task.

- ``preview_link(text)``: the detected kind and accession plus a short summary from NCBI.
- ``start_import(user=, text=, project=, folder=)``: checks nothing about permissions (the view
  does), deduplicates by (kind, accession, folder), and
  * for Gene, Protein, Nucleotide, PubMed, BioProject and BioSample fetches the record at once
    and stores its file through ``file_upload.services.store_file`` (status ``done``);
  * for SRA reads the run info (metadata) at once, leaves ``file`` null and status
    ``pending``, and queues ``import_ncbi_record_task`` which downloads, verifies and stores
    the FASTQ files (``run_sra_import``).
- ``find_import(user, accession, …)``: the latest import the user may see, for the status API.
- Metadata mapping (re-exported from ``mapping.py``, free of Django): ``sra_metadata``,
  ``map_platform``, ``map_assay_type``, ``biosample_metadata``, ``sra_summary``.
- ``eutils_client()``/``ena_client()`` build the clients from settings with the shared limiter
  (Redis when ``REDIS_URL`` is set, else ``DatabaseSlotStore``).

Every import is audited as ``ncbi.import`` (accession, kind, status).
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from authentication import audit
from background.enqueue import enqueue
from file_project.domain import Conflict
from file_upload import services as file_services
from file_upload import storage
from file_upload.models import File, Folder, Project, UploadMethod

from .clients import (
    EnaClient,
    EutilsClient,
    NcbiBadResponse,
    NcbiConfig,
    NcbiError,
    NcbiNotFound,
    RateLimiter,
    RedisSlotStore,
    RemoteFile,
    SizeLimitExceeded,
    parse_runinfo,
)
from .links import Link, UnsupportedLink, parse_link
from .mapping import (
    biosample_metadata,
    clean_metadata,
    map_assay_type,
    map_platform,
    positive_int,
    sra_metadata,
    sra_summary,
    valid_accession,
)
from .models import ImportKind, ImportStatus, NcbiImport, RateSlot

log = logging.getLogger(__name__)

__all__ = [
    "DatabaseSlotStore",
    "ImportResult",
    "UnsupportedLink",
    "ena_client",
    "eutils_client",
    "find_import",
    "map_assay_type",
    "map_platform",
    "preview_link",
    "run_sra_import",
    "biosample_metadata",
    "sra_metadata",
    "sra_summary",
    "start_import",
]

PROGRESS_EVERY_SECONDS = 0.5


# --- configuration and the shared limiter ---------------------------------------------------


def ncbi_config() -> NcbiConfig:
    return NcbiConfig(
        eutils_base=settings.NCBI_EUTILS_BASE,
        api_key=settings.NCBI_API_KEY,
        email=settings.NCBI_EMAIL,
        tool=settings.NCBI_TOOL,
        ena_portal_base=settings.ENA_PORTAL_BASE,
        sra_reads_base=settings.NCBI_SRA_READS_BASE,
        timeout=settings.NCBI_TIMEOUT_SECONDS,
        download_timeout=settings.NCBI_DOWNLOAD_TIMEOUT_SECONDS,
        max_retries=settings.NCBI_MAX_RETRIES,
        backoff=settings.NCBI_RETRY_BACKOFF_SECONDS,
        max_retry_after=settings.NCBI_MAX_RETRY_AFTER_SECONDS,
        requests_per_second=settings.NCBI_REQUESTS_PER_SECOND,
    )


class DatabaseSlotStore:
    """The limiter's next free slot in a database row, locked for the update: every gunicorn
    thread and Celery worker on the same database shares it (used when there is no Redis)."""

    def reserve(self, key: str, interval: float, now: float) -> float:
        with transaction.atomic():
            slot, _ = RateSlot.objects.select_for_update().get_or_create(key=key)
            start = max(now, slot.next_at)
            RateSlot.objects.filter(key=key).update(next_at=start + interval)
        return start - now


_redis_stores: dict[str, RedisSlotStore] = {}


def slot_store() -> Any:
    if settings.REDIS_URL:
        if settings.REDIS_URL not in _redis_stores:
            import redis

            _redis_stores[settings.REDIS_URL] = RedisSlotStore(redis.Redis.from_url(settings.REDIS_URL))
        return _redis_stores[settings.REDIS_URL]
    return DatabaseSlotStore()


def eutils_client() -> EutilsClient:
    config = ncbi_config()
    return EutilsClient(config, RateLimiter(slot_store(), config.rate))


def ena_client() -> EnaClient:
    return EnaClient(ncbi_config())


# --- fetching records -----------------------------------------------------------------------


@dataclass
class Payload:
    name: str
    data: bytes
    content_type: str


@dataclass
class Fetched:
    accession: str  # canonical (e.g. PRJNA988806 for a numeric BioProject uid)
    summary: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    payload: Payload | None = None
    runs: list[dict[str, str]] = field(default_factory=list)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name).strip("_") or "record"


def _json_payload(name: str, data: dict[str, Any]) -> Payload:
    return Payload(name, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode(), "application/json")


def _esummary_one(client: EutilsClient, db: str, uid: str) -> dict[str, Any]:
    records = client.esummary(db, uid)
    return next(iter(records.values()))


def _gene(client: EutilsClient, link: Link, full: bool) -> Fetched:
    rec = _esummary_one(client, "gene", link.accession)
    org = rec.get("organism") or {}
    summary = {
        "title": " — ".join(x for x in (rec.get("name", ""), rec.get("description", "")) if x),
        "symbol": rec.get("name", ""),
        "description": rec.get("description", ""),
        "organism": org.get("scientificname", ""),
        "taxon_id": positive_int(org.get("taxid")),
        "chromosome": rec.get("chromosome", ""),
        "map_location": rec.get("maplocation", ""),
        "summary": rec.get("summary", ""),
    }
    fetched = Fetched(link.accession, summary)
    if full:
        fetched.metadata = clean_metadata(
            {"organism": summary["organism"], "taxon_id": summary["taxon_id"], "data_type": "document"}
        )
        document = {
            "source": "NCBI Gene",
            "gene_id": link.accession,
            "url": f"https://www.ncbi.nlm.nih.gov/gene/{link.accession}",
            **{k: v for k, v in summary.items() if k != "title"},
            "aliases": rec.get("otheraliases", ""),
            "other_designations": rec.get("otherdesignations", ""),
            "mim": rec.get("mim", []),
            "genomic_info": rec.get("genomicinfo", []),
            "status": rec.get("status", ""),
            "esummary": rec,
        }
        fetched.payload = _json_payload(f"{_safe(summary['symbol'] or 'gene')}_GeneID_{link.accession}.json", document)
    return fetched


def _sequence(client: EutilsClient, link: Link, full: bool) -> Fetched:
    rec = _esummary_one(client, link.db, link.accession)
    accession = rec.get("accessionversion") or rec.get("caption") or link.accession
    summary = {
        "title": rec.get("title", ""),
        "accession": accession,
        "organism": rec.get("organism", ""),
        "taxon_id": positive_int(rec.get("taxid")),
        "length": rec.get("slen"),
        "molecule": rec.get("moltype", ""),
    }
    fetched = Fetched(link.accession if link.accession.isdigit() else accession.upper(), summary)
    if full:
        fasta = client.efetch(link.db, accession, "fasta")
        if not fasta.lstrip().startswith(">"):
            raise NcbiBadResponse(f"NCBI did not send FASTA for {accession}.")
        fetched.metadata = clean_metadata(
            {
                "organism": summary["organism"],
                "taxon_id": summary["taxon_id"],
                "data_type": "reference",
                "biosample_accession": valid_accession("biosample", rec.get("biosample", "")),
            }
        )
        fetched.payload = Payload(f"{_safe(accession)}.fasta", fasta.encode(), "text/x-fasta")
    return fetched


def _pubmed(client: EutilsClient, link: Link, full: bool) -> Fetched:
    rec = _esummary_one(client, "pubmed", link.accession)
    doi = next((a.get("value", "") for a in rec.get("articleids") or [] if a.get("idtype") == "doi"), "")
    authors = [a.get("name", "") for a in rec.get("authors") or [] if a.get("name")]
    summary = {
        "title": rec.get("title", ""),
        "journal": rec.get("fulljournalname") or rec.get("source", ""),
        "source": rec.get("source", ""),
        "pubdate": rec.get("pubdate", ""),
        "authors": authors[:3] + (["et al."] if len(authors) > 3 else []),
        "doi": doi,
    }
    fetched = Fetched(link.accession, summary)
    if full:
        text = client.efetch("pubmed", link.accession, "abstract")
        fetched.metadata = {"data_type": "document"}
        fetched.payload = Payload(f"PMID_{link.accession}.txt", text.encode(), "text/plain")
    return fetched


def _bioproject(client: EutilsClient, link: Link, full: bool) -> Fetched:
    uid = link.accession if link.is_numeric_uid else client.esearch("bioproject", f"{link.accession}[PRJA]")[0]
    rec = _esummary_one(client, "bioproject", uid)
    accession = rec.get("project_acc") or link.accession
    summary = {
        "title": rec.get("project_title") or rec.get("project_name", ""),
        "accession": accession,
        "organism": rec.get("organism_name", ""),
        "taxon_id": positive_int(rec.get("taxid")),
        "data_type": rec.get("project_data_type", ""),
        "description": rec.get("project_description", ""),
        "submitter": rec.get("submitter_organization", ""),
    }
    fetched = Fetched(accession, summary)
    if full:
        fetched.metadata = clean_metadata(
            {
                "organism": summary["organism"],
                "taxon_id": summary["taxon_id"],
                "bioproject_accession": valid_accession("bioproject", accession),
                "data_type": "document",
            }
        )
        fetched.payload = _json_payload(
            f"{_safe(accession)}.json",
            {"source": "NCBI BioProject", "url": f"https://www.ncbi.nlm.nih.gov/bioproject/{accession}",
             **summary, "esummary": rec},
        )  # fmt: skip
    return fetched


def _biosample(client: EutilsClient, link: Link, full: bool) -> Fetched:
    uid = link.accession if link.is_numeric_uid else client.esearch("biosample", link.accession)[0]
    rec = _esummary_one(client, "biosample", uid)
    accession = rec.get("accession") or link.accession
    metadata, attributes, bioproject = biosample_metadata(rec)
    summary = {
        "title": rec.get("title", ""),
        "accession": accession,
        "organism": rec.get("organism", ""),
        "taxon_id": positive_int(rec.get("taxonomy")),
        "attributes": attributes,
        "bioproject": bioproject,
    }
    fetched = Fetched(accession, summary, metadata)
    if full:
        fetched.payload = _json_payload(
            f"{_safe(accession)}.json",
            {"source": "NCBI BioSample", "url": f"https://www.ncbi.nlm.nih.gov/biosample/{accession}",
             **summary, "identifiers": rec.get("identifiers", ""), "package": rec.get("package", ""),
             "esummary": {k: v for k, v in rec.items() if k != "sampledata"}, "sampledata": rec.get("sampledata", "")},
        )  # fmt: skip
    return fetched


def _matches(row: dict[str, str], accession: str) -> bool:
    prefix = accession[2:3]
    column = {"R": "Run", "X": "Experiment", "P": "SRAStudy"}.get(prefix, "Run")
    return (row.get(column) or "").upper() == accession


def _sra(client: EutilsClient, link: Link, full: bool) -> Fetched:
    uids = client.esearch("sra", link.accession)
    if not full:
        rec = _esummary_one(client, "sra", uids[0])
        info = sra_summary(rec)
        return Fetched(link.accession, info)
    rows = [row for row in parse_runinfo(client.efetch("sra", uids[:500], "runinfo")) if _matches(row, link.accession)]
    if not rows:
        raise NcbiNotFound(f"NCBI's run info lists no run for {link.accession}.")
    first = rows[0]
    summary = {
        "title": f"{first.get('LibraryName') or first.get('Experiment', '')}",
        "organism": first.get("ScientificName", ""),
        "runs": [row.get("Run", "") for row in rows],
        "platform": first.get("Platform", ""),
        "instrument_model": first.get("Model", ""),
        "library_strategy": first.get("LibraryStrategy", ""),
        "size_mb": sum(positive_int(row.get("size_MB")) or 0 for row in rows),
    }
    metadata = sra_metadata(first)
    if len(rows) > 1:
        metadata.pop("sra_accession", None)
        if valid_accession("sra", link.accession):
            metadata["sra_accession"] = link.accession
    return Fetched(link.accession, summary, metadata, runs=rows)


_FETCHERS = {
    "gene": _gene,
    "protein": _sequence,
    "nucleotide": _sequence,
    "pubmed": _pubmed,
    "bioproject": _bioproject,
    "biosample": _biosample,
    "sra": _sra,
}


def fetch_record(link: Link, *, full: bool = True, client: EutilsClient | None = None) -> Fetched:
    return _FETCHERS[link.kind](client or eutils_client(), link, full)


def preview_link(text: str) -> dict[str, Any]:
    """``{kind, kind_label, accession, summary}``; raises ``UnsupportedLink`` or ``NcbiError``."""
    link = parse_link(text)
    fetched = fetch_record(link, full=False)
    return {
        "kind": link.kind,
        "kind_label": link.label,
        "accession": fetched.accession,
        "background": link.kind == ImportKind.SRA,
        "summary": fetched.summary,
    }


# --- imports --------------------------------------------------------------------------------


@dataclass
class ImportResult:
    ncbi_import: NcbiImport
    created: bool  # False: an existing import of the same record into the same folder
    error: NcbiError | Conflict | None = None


def _alive(file_ids: list[int]) -> bool:
    return bool(file_ids) and File.objects.alive().filter(id__in=file_ids).count() == len(file_ids)


def _location(project: Project, folder: Folder | None) -> dict[str, Any]:
    return {"project": project, "folder": folder}


def _existing(kind: str, accession: str, project: Project, folder: Folder | None) -> NcbiImport | None:
    return NcbiImport.objects.filter(kind=kind, accession=accession, **_location(project, folder)).first()


def _stale_before() -> Any:
    return timezone.now() - timedelta(seconds=settings.NCBI_IMPORT_STALE_SECONDS)


def _reusable(row: NcbiImport) -> bool:
    if row.status in (ImportStatus.PENDING, ImportStatus.DOWNLOADING):
        return row.updated_at >= _stale_before()  # progress moves it; a dead worker's does not
    return row.status == ImportStatus.DONE and _alive(row.file_ids)


def sweep_stale_imports() -> list[int]:
    """Mark failed the SRA imports whose download stopped moving (their worker died and the
    broker did not hand the task to another); audited. Returns their ids."""
    stale = list(
        NcbiImport.objects.filter(
            status__in=(ImportStatus.PENDING, ImportStatus.DOWNLOADING), updated_at__lt=_stale_before()
        ).select_related("project", "folder", "requested_by")
    )
    for row in stale:
        _fail(
            row,
            None,
            "The download stopped (its worker was lost); import the record again.",
            code="stale",
            username="system",
        )
    return [row.id for row in stale]


def _audit(actor: Any, row: NcbiImport, **extra: Any) -> None:
    obj = row.file if row.file_id else (row.folder or row.project)
    audit.record(
        actor,
        "ncbi.import",
        obj,
        project_id=row.project_id,
        accession=row.accession,
        kind=row.kind,
        status=row.status,
        import_id=row.id,
        **extra,
    )


def _fail(row: NcbiImport, actor: Any, message: str, **extra: Any) -> NcbiImport:
    row.status = ImportStatus.FAILED
    row.error = message[:2000]
    row.file = None
    row.file_ids = []
    with transaction.atomic():
        row.save()
        _audit(actor, row, error=row.error, **extra)
    return row


def start_import(*, user: Any, text: str, project: Project, folder: Folder | None = None) -> ImportResult:
    """Import what ``text`` points to into ``folder`` (or ``project``'s root). Raises
    ``UnsupportedLink`` for text that is no supported link; NCBI problems come back as
    ``ImportResult.error`` with the import marked ``failed`` (and audited)."""
    link = parse_link(text)
    if folder is not None:
        project = folder.project
    existing = _existing(link.kind, link.accession, project, folder)
    if existing is not None and _reusable(existing):
        _audit(user, existing, deduplicated=True)
        return ImportResult(existing, created=False)

    try:
        with transaction.atomic():
            row, _ = NcbiImport.objects.update_or_create(
                kind=link.kind,
                accession=link.accession,
                **_location(project, folder),
                defaults={
                    "source_url": text.strip()[:2000],
                    "requested_by": user,
                    "status": ImportStatus.PENDING,
                    "progress_bytes": 0,
                    "total_bytes": None,
                    "error": "",
                    "file": None,
                    "file_ids": [],
                },
            )
    except IntegrityError:  # a concurrent request created it first
        row = _existing(link.kind, link.accession, project, folder)
        assert row is not None
        return ImportResult(row, created=False)

    try:
        fetched = fetch_record(link, full=True)
    except NcbiError as exc:
        return ImportResult(_fail(row, user, str(exc), code=exc.code), created=True, error=exc)

    if fetched.accession != row.accession:
        # A numeric BioProject/BioSample uid: keep the accession people know, unless that
        # record is already imported here.
        other = _existing(link.kind, fetched.accession, project, folder)
        if other is not None and _reusable(other):
            row.delete()
            _audit(user, other, deduplicated=True)
            return ImportResult(other, created=False)
        if other is None:
            row.accession = fetched.accession
    row.metadata = fetched.metadata
    row.record = {"summary": fetched.summary}

    if link.kind == ImportKind.SRA:
        row.record["runs"] = fetched.runs
        row.total_bytes = sum((positive_int(r.get("size_MB")) or 0) for r in fetched.runs) * 1024 * 1024 or None
        with transaction.atomic():
            row.save()
            _audit(user, row)
            transaction.on_commit(lambda: _enqueue(row.id))
        return ImportResult(row, created=True)

    assert fetched.payload is not None
    try:
        with transaction.atomic():
            stored = file_services.store_file(
                project=project,
                folder=folder,
                name=fetched.payload.name,
                owner=user,
                source=io.BytesIO(fetched.payload.data),
                upload_method=UploadMethod.NCBI,
                metadata=fetched.metadata,
                description=str(fetched.summary.get("title") or "")[:1000],
                content_type=fetched.payload.content_type,
            )
            row.status = ImportStatus.DONE
            row.file = stored
            row.file_ids = [stored.id]
            row.progress_bytes = row.total_bytes = stored.size
            row.save()
            _audit(user, row)
    except (Conflict, ValidationError) as exc:
        message = exc.detail if isinstance(exc, Conflict) else "; ".join(exc.messages)
        error = exc if isinstance(exc, Conflict) else None
        return ImportResult(_fail(row, user, str(message)), created=True, error=error)
    return ImportResult(row, created=True)


def _enqueue(import_id: int) -> None:
    def failed(exc: Exception) -> None:
        row = NcbiImport.objects.filter(id=import_id).first()
        if row is not None:
            _fail(row, row.requested_by, "The download could not be queued (is the task queue running?).")

    enqueue("ncbi_bridge.import_ncbi_record", import_id, on_error=failed)


class _Progress:
    def __init__(self, row: NcbiImport) -> None:
        self.row_id = row.id
        self.done = 0
        self.last = 0.0

    def __call__(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY_SECONDS:
            self.flush()
            self.last = now

    def flush(self) -> None:
        NcbiImport.objects.filter(id=self.row_id).update(progress_bytes=self.done, updated_at=timezone.now())


def _remote_files(row: NcbiImport, ena: EnaClient) -> list[RemoteFile]:
    runs = [r.get("Run", "") for r in row.record.get("runs", []) if r.get("Run")]
    remotes = ena.filereport(row.accession)
    mirrored = {remote.run for remote in remotes}
    # Runs ENA does not mirror (yet) come from NCBI's SRA reads endpoint as one FASTQ.
    remotes += [ena.reads_fallback(run) for run in runs if run not in mirrored]
    if not remotes:
        raise NcbiNotFound(f"Neither ENA nor NCBI offers FASTQ files for {row.accession}.")
    return remotes


def run_sra_import(import_id: int) -> NcbiImport | None:
    """Download, verify and store the FASTQ files of an SRA import (the task's body).

    All files are downloaded and verified (size, MD5) into temporary files first and only then
    stored, so a failure (MD5 mismatch, the ``NCBI_SRA_MAX_BYTES`` cap, a broken connection)
    leaves no partial file behind."""
    row = NcbiImport.objects.select_related("project", "folder", "requested_by").filter(id=import_id).first()
    if row is None or row.status == ImportStatus.DONE:
        return row
    actor = row.requested_by
    cap = int(settings.NCBI_SRA_MAX_BYTES)
    NcbiImport.objects.filter(id=row.id).update(
        status=ImportStatus.DOWNLOADING, progress_bytes=0, error="", updated_at=timezone.now()
    )
    row.status = ImportStatus.DOWNLOADING
    temps: list[tuple[RemoteFile, Path, storage.Digest]] = []
    stored: list[File] = []
    try:
        ena = ena_client()
        remotes = _remote_files(row, ena)
        known = sum(remote.size or 0 for remote in remotes)
        if cap and known > cap:
            raise SizeLimitExceeded(
                f"{row.accession} has {known} bytes of FASTQ, more than NCBI_SRA_MAX_BYTES ({cap} bytes); "
                "nothing was downloaded."
            )
        if all(remote.size is not None for remote in remotes):
            NcbiImport.objects.filter(id=row.id).update(total_bytes=known)
        progress = _Progress(row)
        tmp_dir = Path(settings.UPLOAD_TMP_DIR)
        tmp_dir.mkdir(parents=True, exist_ok=True)
        for remote in remotes:
            fd, name = tempfile.mkstemp(dir=tmp_dir, suffix=".ncbi.part")
            path = Path(name)
            temps.append((remote, path, storage.Digest(0, "", "")))
            remaining = cap - progress.done
            if cap and remaining <= 0 and remote.size != 0:
                # max_bytes=0 would mean "no limit": the cap is used up by the files before.
                raise SizeLimitExceeded(
                    f"{row.accession} has more than NCBI_SRA_MAX_BYTES ({cap} bytes) of FASTQ; "
                    "the import stopped and kept nothing."
                )
            with os.fdopen(fd, "wb") as handle:
                got = ena.download(remote, handle, max_bytes=remaining if cap else 0, on_progress=progress)
                handle.flush()
                os.fsync(handle.fileno())
            temps[-1] = (remote, path, storage.Digest(got.size, got.sha256, got.md5))
        progress.flush()

        per_run = {r.get("Run", ""): r for r in row.record.get("runs", [])}
        with transaction.atomic():
            for remote, path, digest in temps:
                metadata = sra_metadata(per_run[remote.run]) if remote.run in per_run else dict(row.metadata)
                stored.append(
                    file_services.store_file(
                        project=row.project,
                        folder=row.folder,
                        name=remote.name,
                        owner=actor,
                        temp_path=path,
                        digest=digest,
                        upload_method=UploadMethod.NCBI,
                        metadata=metadata,
                        description=f"{remote.run} from {remote.url.split('://', 1)[-1].split('/', 1)[0]}",
                        content_type="application/gzip" if remote.name.endswith(".gz") else "",
                    )
                )
            row.status = ImportStatus.DONE
            row.file = stored[0]
            row.file_ids = [f.id for f in stored]
            row.progress_bytes = sum(f.size for f in stored)
            row.total_bytes = row.progress_bytes
            row.error = ""
            row.save()
            _audit(actor, row, files=row.file_ids)
    except Exception as exc:  # every failure ends as a failed import with nothing kept
        for file in stored:
            storage.delete_blob(file.storage_key)
        for _, path, _ in temps:
            path.unlink(missing_ok=True)
        if not isinstance(exc, NcbiError | Conflict | ValidationError):
            log.exception("NCBI import %s failed", import_id)
        message = exc.detail if isinstance(exc, Conflict) else str(exc)
        row.refresh_from_db()
        return _fail(row, actor, str(message) or exc.__class__.__name__, code=getattr(exc, "code", "error"))
    return row


# --- status -----------------------------------------------------------------------------------


def find_import(
    user: Any,
    accession: str,
    *,
    kind: str | None = None,
    project: int | None = None,
    folder: int | None | str = "",
) -> NcbiImport | None:
    """The most recently updated import of ``accession`` whose target the user may see."""
    accession = accession.strip()
    candidates = NcbiImport.objects.restrict(user, "view")
    try:
        link = parse_link(accession)
    except UnsupportedLink:
        candidates = candidates.filter(accession__iexact=accession)
    else:
        candidates = candidates.filter(accession__in={link.accession, accession.upper()})
        kind = kind or link.kind
    if kind:
        candidates = candidates.filter(kind=kind)
    if project:
        candidates = candidates.filter(project_id=project)
    if folder is None:
        candidates = candidates.filter(folder__isnull=True)
    elif folder != "":
        candidates = candidates.filter(folder_id=folder)
    return candidates.select_related("project", "folder").first()
