"""Publishing ``.h5ad`` files to cellxgene viewers: one viewer per published dataset.

Flow (``request_publication`` in the request, ``publish_dataset`` in a Celery task):

1. ``request_publication`` (the caller checked ``can_publish``) checks the file is named
   ``.h5ad`` and starts like HDF5. A file whose publication is in progress or served gets that
   publication back; a stopped one is reopened (``reopen``); otherwise a ``Publication`` row is
   created, ``cellxgene.publish`` audited and the task queued after commit.
2. ``publish_dataset`` opens the file's AnnData parts (obs, var, obsm; X stays on disk), and puts
   a copy at ``CELLXGENE_DATA_DIR/<file id>__<name>.h5ad``: a hard link of the stored blob when
   ``obsm`` already holds a layout cellxgene accepts, else a copy to which ``ensure_embedding``
   adds a 2-D TruncatedSVD of X as ``obsm['X_truncated_svd']`` (computed on the sparse matrix as
   stored, never densified). Layouts the ``h5ad_vis`` analysis stored for the file (UMAP, PCA,
   t-SNE; ``ml_interface``) are written into the copy instead, and no SVD is computed. A
   reopened publication whose copy is still there goes straight to starting.
3. ``pool.launch`` starts its viewer in the pool (ports, eviction, memory: see ``pool``).

The dataset is then served at ``/cellxgene/<publication id>/``; ``viewer_for_request`` decides,
on every proxied request, whether the user may see it now and whether its viewer must start again.

All state is in the database (``Publication``, ``Viewer``): any gunicorn worker can answer the
status and proxy the viewer; the process itself runs where the task ran.

Public surface: ``request_publication``, ``reopen``, ``publish_dataset``, ``ensure_embedding``,
``add_layouts``, ``usable_layouts``, ``inspect_h5ad``, ``viewer_for_request``, ``status_for``,
``recent_publications``, ``publication_data``, ``sweep_stale_publications``, ``PublishError``.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from access.policy import can_view_viewer, visible_files
from authentication import audit
from background.enqueue import enqueue
from file_upload import storage
from file_upload.models import File
from file_upload.signals import cell_layouts_wanted

from . import pool
from .h5ad import (  # noqa: F401  (re-exported: the public surface named above stays here)
    EMBEDDING_KEY,
    HDF5_SIGNATURE,
    H5adInfo,
    PublishError,
    _one_line,
    add_layouts,
    ensure_embedding,
    inspect_h5ad,
    truncated_svd_2d,
    usable_layouts,
)
from .models import ACTIVE_STATUSES, Publication, PublicationStatus, Viewer, ViewerStatus

log = logging.getLogger(__name__)


def proxy_url(publication_id: int) -> str:
    return f"/cellxgene/{publication_id}/"


# --- the request side -------------------------------------------------------------------------


def is_h5ad_name(name: str) -> bool:
    return name.lower().endswith(".h5ad")


def request_publication(user: Any, file: File) -> Publication:
    """Publish ``file`` (the caller checked ``can_publish``): its live publication if it has
    one, the last one reopened if it was stopped, else a new one queued."""
    from django.core.exceptions import ValidationError

    if not is_h5ad_name(file.name) and (file.file_format or "").lower() != "h5ad":
        raise ValidationError({"file": "Only .h5ad (AnnData) files can be sent to cellxgene."})
    path = storage.path_for(file.storage_key)
    try:
        with path.open("rb") as handle:
            head = handle.read(len(HDF5_SIGNATURE))
    except OSError as exc:
        raise ValidationError({"file": "The file's bytes are missing from the store."}) from exc
    if head != HDF5_SIGNATURE:
        audit.record(user, "cellxgene.failure", file, dataset=file.name, error="not an HDF5 file")
        raise ValidationError({"file": "This is not an HDF5 file, so not a readable .h5ad."})
    latest = Publication.objects.filter(file=file).order_by("-created_at", "-id").first()
    if latest is not None and latest.status in ACTIVE_STATUSES:
        return latest
    if latest is not None and latest.status in (PublicationStatus.READY, PublicationStatus.STOPPED):
        reopen(latest, user, reason="published again")
        latest.refresh_from_db()
        return latest
    with transaction.atomic():
        publication = Publication.objects.create(file=file, dataset=file.name, requested_by=user)
        audit.record(user, "cellxgene.publish", file, dataset=file.name, publication=publication.id)
        transaction.on_commit(lambda: _queue(publication.id))
    return publication


def reopen(publication: Publication, user: Any = None, reason: str = "opened") -> bool:
    """Start the viewer of a stopped publication again (or of a ready one whose viewer is gone):
    back to ``queued`` and the task queued, so the page shows the usual steps. True if queued;
    False when it is in progress, served, failed, or its file is gone."""
    if publication.file_id is None:
        return False
    if publication.status == PublicationStatus.READY:
        viewer = pool.viewer_for(publication.pk)
        if viewer is not None and pool.answering(viewer):
            return False
        if viewer is not None:
            pool.mark_crashed(viewer)
        publication.refresh_from_db()
    restarted = Publication.objects.filter(
        pk=publication.pk, status__in=(PublicationStatus.STOPPED, PublicationStatus.READY)
    ).update(status=PublicationStatus.QUEUED, error="", log_tail="", ready_at=None, finished_at=None, pid=None)
    if not restarted:
        return False
    Publication.objects.filter(pk=publication.pk).update(restarts=publication.restarts + 1)
    audit.record(
        user,
        "cellxgene.reopen",
        publication.file,
        dataset=publication.dataset,
        publication=publication.pk,
        reason=reason,
        username="" if user else "system",
    )
    transaction.on_commit(lambda: _queue(publication.pk))
    return True


def _queue(publication_id: int) -> None:
    # Not queued (broker down): the watchdog's stale-publication rule fails it, and it can be reopened.
    enqueue("cellxgene_bridge.publish_dataset", publication_id)


# --- layouts from other apps ----------------------------------------------------------------


def analysis_layouts(file: File, n_obs: int) -> dict[str, Any]:
    """Layouts (``X_umap``, ``X_pca``, ``X_tsne``) another app stored for this file's bytes (the
    ``h5ad_vis`` analysis answers ``file_upload.signals.cell_layouts_wanted``), or nothing."""
    layouts: dict[str, Any] = {}
    for receiver, answer in cell_layouts_wanted.send_robust(sender=File, file=file, n_obs=n_obs):
        if isinstance(answer, BaseException):  # the analysis store is an extra: publishing goes on
            log.error("reading the stored layouts of file %s failed (%r): %r", file.pk, receiver, answer)
        elif answer:
            layouts.update(answer)
    return layouts


# --- the worker side --------------------------------------------------------------------------


def data_dir() -> Path:
    path = Path(settings.CELLXGENE_DATA_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def copy_name(file: File) -> str:
    stem = file.name[:-5] if is_h5ad_name(file.name) else file.name
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "dataset"
    return f"{file.id}__{safe[:150]}.h5ad"


def _set(publication: Publication, **values: Any) -> None:
    for key, value in values.items():
        setattr(publication, key, value)
    Publication.objects.filter(pk=publication.pk).update(**values)


def publish_dataset(publication_id: int) -> Publication | None:
    """Copy, embed if needed, and start the viewer for one publication (the Celery task's work)."""
    publication = Publication.objects.select_related("file", "requested_by").filter(pk=publication_id).first()
    if publication is None:
        return None
    if publication.status != PublicationStatus.QUEUED:
        # A redelivered task: whatever the first delivery reached stands (a dead worker's
        # half-done run is marked failed so the user can simply publish again).
        if publication.status in ACTIVE_STATUSES:
            _fail(publication, "The worker handling this publication stopped; send the file again.")
        return publication
    file = publication.file
    if file is None or file.deleted_at is not None:
        _fail(publication, "The file was deleted before it could be published.")
        return publication
    tmp: Path | None = None
    try:
        _set(publication, status=PublicationStatus.COPYING)
        if not (publication.data_path and Path(publication.data_path).is_file()):  # else a reopen
            tmp = data_dir() / f".{copy_name(file)}.{publication.pk}.tmp"
            _set(publication, data_path=str(_prepare_copy(publication, file, tmp)))
            tmp = None
        _set(publication, status=PublicationStatus.STARTING)
        viewer = pool.launch(publication)
        ready = timezone.now()
        _set(publication, status=PublicationStatus.READY, ready_at=ready, pid=viewer.pid, port=viewer.port)
        audit.record(
            publication.requested_by,
            "cellxgene.ready",
            file,
            dataset=publication.dataset,
            publication=publication.pk,
            port=viewer.port,
            pid=viewer.pid,
            rss_mb=viewer.rss_mb,
            restarts=publication.restarts,
            launch_seconds=round((ready - viewer.started_at).total_seconds(), 2) if viewer.started_at else None,
            seconds=round((ready - publication.created_at).total_seconds(), 2) if not publication.restarts else None,
        )
    except PublishError as exc:
        _fail(publication, exc.message, exc.log_tail)
    except Exception as exc:
        log.exception("publishing %s failed", publication)
        _fail(publication, f"Publishing failed unexpectedly: {_one_line(exc)}")
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    publication.refresh_from_db()
    return publication


def _prepare_copy(publication: Publication, file: File, tmp: Path) -> Path:
    """The viewer's copy of ``file`` (linked, or copied with layouts added), written via ``tmp``."""
    source = storage.path_for(file.storage_key)
    info = inspect_h5ad(source)
    target = data_dir() / copy_name(file)
    analysed = {k: v for k, v in analysis_layouts(file, info.n_obs).items() if k not in info.layouts}
    if info.layouts and not analysed:
        _link_or_copy(source, tmp)
    else:
        shutil.copyfile(source, tmp)
        if analysed:  # layouts the h5ad_vis analysis computed: no SVD needed
            _set(publication, embedding=add_layouts(tmp, analysed))
        else:
            _set(publication, status=PublicationStatus.EMBEDDING)
            _set(publication, embedding=ensure_embedding(tmp) or "")
    os.replace(tmp, target)
    return target


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link (the store never rewrites a blob, cellxgene only reads); a copy across devices."""
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _fail(publication: Publication, message: str, log_tail: str = "") -> None:
    _set(
        publication,
        status=PublicationStatus.FAILED,
        error=message,
        log_tail=log_tail,
        finished_at=timezone.now(),
    )
    audit.record(
        publication.requested_by,
        "cellxgene.failure",
        publication.file,
        dataset=publication.dataset,
        publication=publication.pk,
        error=message,
        log_tail=log_tail[-2000:],
    )


def sweep_stale_publications(now: Any = None) -> list[int]:
    """Publications still copying/embedding/starting long after any run could have finished
    belong to a worker that died (a broker without redelivery leaves them so): mark them failed,
    so the SPA's mask stops waiting and the user can publish again. Returns their ids."""
    limit = (now or timezone.now()) - timedelta(
        seconds=settings.CELLXGENE_READY_TIMEOUT + settings.CELLXGENE_STALE_PUBLICATION_SECONDS
    )
    stale = list(Publication.objects.filter(status__in=ACTIVE_STATUSES, created_at__lt=limit).select_related("file"))
    for publication in stale:
        _fail(publication, "The worker handling this publication stopped; send the file again.")
    return [publication.pk for publication in stale]


# --- what the API and the proxy see -----------------------------------------------------------


def publication_data(publication: Publication, viewer: Viewer | None = None) -> dict[str, Any]:
    return {
        "id": publication.pk,
        "file": publication.file_id,
        "dataset": publication.dataset,
        "status": publication.status,
        "url": proxy_url(publication.pk),
        "embedding": publication.embedding or None,
        "error": publication.error or None,
        "log_tail": publication.log_tail or None,
        "restarts": publication.restarts,
        "created_at": publication.created_at,
        "ready_at": publication.ready_at,
        "finished_at": publication.finished_at,
        "last_used_at": viewer.last_used_at if viewer else None,
    }


def _visible_publications(user: Any):
    return Publication.objects.filter(file__in=visible_files(user).values("pk"))


def status_for(user: Any, file_id: int | None = None) -> dict[str, Any]:
    """The latest publication of ``file_id`` (or, without it, the user's own latest one) among
    files the user may see now, and whether its viewer is running."""
    publications = _visible_publications(user)
    publications = publications.filter(file_id=file_id) if file_id else publications.filter(requested_by=user)
    latest = publications.order_by("-created_at", "-id").first()
    viewer = pool.viewer_for(latest.pk) if latest else None
    return {
        "running": viewer is not None,
        "ready": viewer is not None and latest.status == PublicationStatus.READY,
        "dataset": latest.dataset if latest else None,
        "file": latest.file_id if latest else None,
        "url": proxy_url(latest.pk) if latest else None,
        "started_at": viewer.started_at if viewer else None,
        "error": latest.error or None if latest and latest.status == PublicationStatus.FAILED else None,
        "publication": publication_data(latest, viewer) if latest else None,
    }


def recent_publications(user: Any, limit: int = 8) -> list[dict[str, Any]]:
    """The user's own publications, newest first, one per file, of files they may still see."""
    seen: set[int] = set()
    found = []
    for publication in _visible_publications(user).filter(requested_by=user).order_by("-created_at", "-id")[:200]:
        if publication.file_id in seen:
            continue
        seen.add(publication.file_id)
        found.append(publication)
        if len(found) == limit:
            break
    viewers = {v.publication_id: v for v in Viewer.objects.filter(publication__in=found, status=ViewerStatus.READY)}
    return [publication_data(p, viewers.get(p.pk)) for p in found]


def visible_publication(user: Any, publication_id: int) -> Publication | None:
    """The publication if its file is one ``user`` may see now (else None: answer 404)."""
    publication = Publication.objects.select_related("file").filter(pk=publication_id).first()
    if publication is None or publication.file is None or not can_view_viewer(user, publication.file):
        return None
    return publication


@dataclass
class ProxyTarget:
    """What the proxy does for one request: forward to ``viewer``, or answer that the viewer is
    (re)starting, or that the publication failed (``error``)."""

    publication: Publication
    viewer: Viewer | None = None
    starting: bool = False
    error: str = ""


def viewer_for_request(user: Any, publication_id: int) -> ProxyTarget | None:
    """Every proxied request: None (→ 404) unless ``user`` may see the file now. A stopped or
    crashed viewer is started again (with ``CELLXGENE_AUTO_RESTART``)."""
    publication = visible_publication(user, publication_id)
    if publication is None:
        return None
    viewer = pool.viewer_for(publication.pk)
    if viewer is not None and publication.status == PublicationStatus.READY:
        pool.touch(viewer)
        return ProxyTarget(publication, viewer=viewer)
    if publication.status in ACTIVE_STATUSES:
        return ProxyTarget(publication, starting=True)
    if publication.status == PublicationStatus.FAILED:
        return ProxyTarget(publication, error=publication.error or "Publishing failed.")
    if settings.CELLXGENE_AUTO_RESTART and reopen(publication, user, reason="requested"):
        return ProxyTarget(publication, starting=True)
    return ProxyTarget(publication, error="The viewer of this dataset is stopped.")


def viewer_unreachable(target: ProxyTarget, user: Any) -> bool:
    """The proxy could not reach the viewer: if its process is gone, it is marked crashed and
    (``CELLXGENE_AUTO_RESTART``) started again. True when a restart was queued."""
    viewer = target.viewer
    if viewer is None or pool.answering(viewer):
        return False
    pool.mark_crashed(viewer)
    target.publication.refresh_from_db()
    return bool(settings.CELLXGENE_AUTO_RESTART) and reopen(target.publication, user, reason="crashed")
