"""Prometheus metrics: ``GET /metrics`` for staff sessions, staff tokens or a scrape token.

- Requests: django-prometheus's middleware (``django_http_*``: counts by view, method and
  status, latency histograms).
- Transfers: ``biofm_uploads_total``/``biofm_upload_bytes_total`` by method (counted when a file
  is stored), ``biofm_downloads_total``/``biofm_download_bytes_total`` by route (bytes sent:
  the size, or the requested ranges).
- Tasks: ``biofm_tasks_total`` by task and outcome, ``biofm_task_seconds`` by task (Celery
  signals in the worker).
- State, read from the database at scrape time (correct whichever process answers):
  ``biofm_files`` (live/trash), ``biofm_stored_bytes``, ``biofm_uploads_in_progress``,
  ``biofm_uploads_verifying``,
  ``biofm_parse_status``, ``biofm_cellxgene_viewers`` and ``biofm_cellxgene_publications`` by
  status, ``biofm_audit_head_id`` (the newest audit event: its history in Prometheus is a copy of
  the chain's head outside the database; it must never go down).

Counters live in the process that counts them. With several gunicorn workers and a Celery
worker, set ``PROMETHEUS_MULTIPROC_DIR`` to one empty directory for all of them (emptied at
start) and the scrape aggregates every process; otherwise each scrape sees one process.

Public surface: ``count_upload``, ``count_download``, ``metrics_view``.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from rest_framework import permissions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.decorators import api_view, authentication_classes, permission_classes, schema
from rest_framework.request import Request

from . import task_metrics  # noqa: F401  (the task series, so a single-process scrape shows them)

UPLOADS = Counter("biofm_uploads", "Files stored, by upload method", ["method"])
UPLOAD_BYTES = Counter("biofm_upload_bytes", "Bytes stored, by upload method", ["method"])
DOWNLOADS = Counter("biofm_downloads", "File downloads served, by route", ["via"])
DOWNLOAD_BYTES = Counter("biofm_download_bytes", "Bytes of file downloads served, by route", ["via"])


def count_upload(method: str, size: int) -> None:
    UPLOADS.labels(method=method).inc()
    UPLOAD_BYTES.labels(method=method).inc(size)


def count_download(via: str, size: int) -> None:
    DOWNLOADS.labels(via=via).inc()
    DOWNLOAD_BYTES.labels(via=via).inc(size)


class StateCollector:
    """Gauges computed from the database on each scrape."""

    def collect(self) -> Any:
        from django.db.models import Count, Q, Sum

        from cellxgene_bridge.models import Publication, Viewer
        from file_upload.models import File, Upload, UploadState

        counts = File.objects.aggregate(
            live=Count("id", filter=Q(deleted_at__isnull=True)),
            trash=Count("id", filter=Q(deleted_at__isnull=False)),
            live_bytes=Sum("size", filter=Q(deleted_at__isnull=True)),
            trash_bytes=Sum("size", filter=Q(deleted_at__isnull=False)),
        )
        files = GaugeMetricFamily("biofm_files", "Files by state", labels=["state"])
        stored = GaugeMetricFamily("biofm_stored_bytes", "Bytes in the file store by state", labels=["state"])
        for state in ("live", "trash"):
            files.add_metric([state], counts[state] or 0)
            stored.add_metric([state], counts[f"{state}_bytes"] or 0)
        yield files
        yield stored
        active = Upload.objects.filter(state=UploadState.ACTIVE).aggregate(n=Count("id"), b=Sum("offset"))
        yield GaugeMetricFamily("biofm_uploads_in_progress", "Resumable uploads not finished", value=active["n"] or 0)
        yield GaugeMetricFamily(
            "biofm_upload_bytes_in_progress", "Bytes received by unfinished uploads", value=active["b"] or 0
        )
        yield GaugeMetricFamily(
            "biofm_uploads_verifying",
            "Resumable uploads fully received, being hashed and stored",
            value=Upload.objects.filter(state=UploadState.VERIFYING).count(),
        )
        for name, doc, queryset, field in (
            ("biofm_parse_status", "Live files by statistics extraction status", File.objects.alive(), "parse_status"),
            ("biofm_cellxgene_viewers", "cellxgene viewer processes by status", Viewer.objects.all(), "status"),
            ("biofm_cellxgene_publications", "cellxgene publications by status", Publication.objects.all(), "status"),
        ):
            family = GaugeMetricFamily(name, doc, labels=["status"])
            for row in queryset.values(field).annotate(n=Count("id")).order_by(field):
                family.add_metric([row[field] or ""], row["n"])
            yield family
        from authentication.audit import head_id

        yield GaugeMetricFamily(
            "biofm_audit_head_id",
            "Id of the newest audit event (never decreases unless rows are removed)",
            value=head_id(),
        )
        yield from _viewer_pool()


def _viewer_pool() -> Any:
    """Per viewer of the cellxgene pool (at most one per port of CELLXGENE_PORT_RANGE): memory,
    seconds since last use, restarts; and the pool's limits."""
    from django.utils import timezone

    from cellxgene_bridge.models import Viewer, ViewerStatus

    labels = ["port", "publication", "node"]
    rss = GaugeMetricFamily("biofm_cellxgene_viewer_rss_bytes", "Resident memory of a running viewer", labels=labels)
    idle = GaugeMetricFamily(
        "biofm_cellxgene_viewer_idle_seconds", "Seconds since a viewer was last used", labels=labels
    )
    restarts = GaugeMetricFamily(
        "biofm_cellxgene_viewer_restarts", "Times the dataset of a viewer was started again", labels=labels
    )
    now = timezone.now()
    for viewer in Viewer.objects.filter(status=ViewerStatus.READY):
        values = [str(viewer.port), str(viewer.publication_id or ""), viewer.node]
        rss.add_metric(values, (viewer.rss_mb or 0) * 1024 * 1024)
        used = viewer.last_used_at or viewer.ready_at or now
        idle.add_metric(values, max(0.0, (now - used).total_seconds()))
        restarts.add_metric(values, viewer.restarts)
    yield rss
    yield idle
    yield restarts
    limits = GaugeMetricFamily("biofm_cellxgene_pool_limit", "Limits of the viewer pool", labels=["limit"])
    limits.add_metric(["viewers"], settings.CELLXGENE_MAX_VIEWERS)
    limits.add_metric(["rss_bytes_per_viewer"], settings.CELLXGENE_MAX_RSS_MB * 1024 * 1024)
    limits.add_metric(["rss_bytes_total"], settings.CELLXGENE_MAX_TOTAL_RSS_MB * 1024 * 1024)
    limits.add_metric(["idle_seconds"], settings.CELLXGENE_IDLE_SECONDS)
    yield limits


def _exposition() -> bytes:
    state = CollectorRegistry()
    state.register(StateCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
        return generate_latest(processes) + generate_latest(state)
    return generate_latest(REGISTRY) + generate_latest(state)


class StaffOrScrapeToken(permissions.BasePermission):
    """Staff (session or ``Token``), or ``Authorization: Bearer <BIOFM_METRICS_TOKEN>``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if user and user.is_authenticated and (user.is_staff or user.is_superuser):
            return True
        expected = getattr(settings, "BIOFM_METRICS_TOKEN", "")
        given = request.headers.get("Authorization", "")
        return bool(expected) and hmac.compare_digest(given.encode(), f"Bearer {expected}".encode())


@api_view(["GET"])
@authentication_classes([TokenAuthentication, SessionAuthentication])
@permission_classes([StaffOrScrapeToken])
@schema(None)
def metrics_view(request: Request) -> HttpResponse:
    return HttpResponse(_exposition(), content_type=CONTENT_TYPE_LATEST)
