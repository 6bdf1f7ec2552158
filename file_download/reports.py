"""The download audit report of a project, as CSV rows from the audit trail.

Public surface: ``download_report``, ``download_report_rows``, ``REPORT_COLUMNS``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from authentication import audit
from authentication.models import AuditEvent

REPORT_COLUMNS = [
    "timestamp",
    "event",
    "user",
    "ip",
    "user_agent",
    "file_id",
    "file_name",
    "via",
    "bytes",
    "ranges",
    "signed_by",
    "link_expires_at",
    "audit_id",
]


def _bytes(details: dict[str, Any]) -> int | str:
    ranges = details.get("ranges")
    if ranges:
        return sum(end - start + 1 for start, end in ranges)
    return details.get("size", "")


def download_report_rows(
    project_id: int, since: datetime | None = None, until: datetime | None = None
) -> Iterator[list[Any]]:
    """Downloads and signed-link creations in the project, oldest first (header row first)."""
    events = AuditEvent.objects.filter(project_id=project_id, action__in=["file.download", "file.signed_url"])
    if since:
        events = events.filter(timestamp__gte=since)
    if until:
        events = events.filter(timestamp__lt=until)
    yield REPORT_COLUMNS
    for event in events.order_by("id").iterator(chunk_size=2000):
        details = event.details or {}
        yield [
            event.timestamp.isoformat(),
            "download" if event.action == "file.download" else "signed_link",
            event.actor_username or "(anonymous)",
            event.ip or "",
            event.user_agent,
            event.object_id,
            event.object_repr,
            details.get("via", ""),
            _bytes(details) if event.action == "file.download" else "",
            ";".join(f"{s}-{e}" for s, e in details.get("ranges", [])),
            details.get("signed_by", ""),
            details.get("expires_at", ""),
            event.id,
        ]


def download_report(
    project: Any, *, actor: Any, since: datetime | None = None, until: datetime | None = None
) -> Iterator[list[Any]]:
    """The report's rows; asking for it is itself audited (who looked at whose downloads)."""
    bounds = {k: v.isoformat() for k, v in (("since", since), ("until", until)) if v}
    audit.record(actor, "project.download_report", project, **bounds)
    return download_report_rows(project.id, since=since, until=until)
