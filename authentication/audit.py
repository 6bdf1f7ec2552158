"""The audit trail: append-only, hash-chained events for every operation.

``record(actor, action, obj, **details)`` appends an event inside the caller's transaction; the
row's ``hash`` is SHA-256 over its canonical JSON form, which includes the previous row's hash,
so changing or removing any row breaks every link after it. The row's ``mac`` is HMAC-SHA256 of
that hash under ``BIOFM_AUDIT_KEY``, a key kept outside the database: someone who can write the
database but not read the key can neither recompute a changed chain nor append rows of their
own. The database rejects UPDATE and DELETE on the table (triggers installed by the
migrations). Each committed event is also appended as one JSON line (with its hash and MAC) to
``BIOFM_LOG_DIR/audit.jsonl`` for log shippers; the newest line is the chain's head as seen
outside the database, and ``/metrics`` reports the head's id, so cutting the newest rows off
the table shows too.

``verify_chain()`` re-computes the chain, checks every MAC and the head recorded in the log,
and names the first broken row and why. Rows written before the key existed (``mac`` null) are
verified by their hashes alone; they may only precede the sealed rows, whose hashes cover them.

Request details (IP, user agent) come from ``AuditContextMiddleware`` through a context
variable, so services record them without knowing about HTTP.

Public surface: ``record``, ``verify_chain``, ``read_checkpoint``, ``head_id``,
``canonical_hash``, ``mac_for``, ``maintenance``, ``AuditContextMiddleware``, ``GENESIS_HASH``.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from file_project.client_address import client_address

from .models import AuditEvent

GENESIS_HASH = "0" * 64
_CHAIN_LOCK_KEY = 0x62696F666D  # "biofm": the PostgreSQL advisory lock that serialises appends

_request_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("biofm_audit", default=None)
_maintenance = threading.local()
_jsonl_lock = threading.Lock()
log = logging.getLogger(__name__)


class AuditContextMiddleware:
    """Makes the client's IP and user agent available to ``record`` for this request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        context = {"ip": client_address(request) or None, "user_agent": request.META.get("HTTP_USER_AGENT", "")}
        token = _request_context.set(context)
        try:
            return self.get_response(request)
        finally:
            _request_context.reset(token)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def canonical_form(event: AuditEvent) -> dict[str, Any]:
    return {
        "timestamp": event.timestamp.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor": event.actor_username,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "project_id": event.project_id,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "details": event.details,
        "prev_hash": event.prev_hash,
    }


def canonical_hash(event: AuditEvent) -> str:
    payload = json.dumps(canonical_form(event), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def mac_for(hash_hex: str) -> str:
    """The row's seal: HMAC-SHA256 of its hash under ``BIOFM_AUDIT_KEY``."""
    return hmac.new(settings.BIOFM_AUDIT_KEY.encode(), hash_hex.encode(), hashlib.sha256).hexdigest()


def _describe(obj: Any) -> tuple[str, str, str, int | None]:
    if obj is None:
        return "", "", "", None
    object_type = obj._meta.model_name
    project_id = getattr(obj, "project_id", None)
    if object_type == "project":
        project_id = obj.pk
    return object_type, str(obj.pk), str(obj)[:300], project_id


def record(actor: Any, action: str, obj: Any = None, *, project_id: int | None = None, **details: Any) -> AuditEvent:
    """Append one event to the chain (in the caller's transaction, if any)."""
    object_type, object_id, object_repr, obj_project = _describe(obj)
    context = _request_context.get() or {}
    signed_in = actor is not None and getattr(actor, "is_authenticated", False)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
        # SQLite runs write transactions IMMEDIATE (settings), which serialises appends too.
        prev = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS_HASH
        event = AuditEvent(
            timestamp=timezone.now(),
            actor=actor if signed_in else None,
            actor_username=(actor.get_username() if signed_in else details.pop("username", "")) or "",
            action=action,
            object_type=object_type or details.pop("object_type", ""),
            object_id=object_id or str(details.pop("object_id", "")),
            object_repr=object_repr or str(details.pop("object_repr", ""))[:300],
            project_id=project_id if project_id is not None else obj_project,
            ip=context.get("ip"),
            user_agent=(context.get("user_agent") or "")[:300],
            details=_jsonable(details),
            prev_hash=prev,
        )
        event.hash = canonical_hash(event)
        event.mac = mac_for(event.hash)
        event.save(force_insert=True)
        transaction.on_commit(lambda: _append_jsonl(event))
    return event


def _append_jsonl(event: AuditEvent) -> None:
    line = json.dumps(
        {"id": event.id, **canonical_form(event), "hash": event.hash, "mac": event.mac}, ensure_ascii=False
    )
    path = Path(settings.BIOFM_LOG_DIR) / "audit.jsonl"
    try:
        with _jsonl_lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
    except OSError:  # the database row is the record; the file is a copy for log shippers
        log.exception("could not append audit event %s to %s", event.id, path)


def _broken(checked: int, event_id: int | None, reason: str, head: int | None, checkpoint: int | None) -> dict:
    return {
        "ok": False,
        "checked": checked,
        "first_broken": event_id,
        "reason": reason,
        "head": head,
        "checkpoint": checkpoint,
    }


def verify_chain(batch_size: int = 2000) -> dict[str, Any]:
    """Walk the chain from the first event: ``{ok, checked, first_broken, reason, head,
    checkpoint}``. ``reason``: ``link`` (``prev_hash`` is not the previous row's hash: a row was
    removed or inserted), ``hash`` (the row was changed), ``mac`` (the seal is wrong or missing:
    the chain was recomputed without the key), ``missing_tail`` (the head recorded in the log,
    ``checkpoint``, is gone or differs: the newest rows were cut off or replaced)."""
    checkpoint = read_checkpoint()
    checkpoint_id = checkpoint["id"] if checkpoint else None
    prev, sealed, checked, head = GENESIS_HASH, False, 0, None
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size):
        reason = None
        if event.prev_hash != prev:
            reason = "link"
        elif canonical_hash(event) != event.hash:
            reason = "hash"
        elif event.mac is None and sealed:
            reason = "mac"  # an unsealed row after sealed ones was not written by this code
        elif event.mac is not None and not hmac.compare_digest(event.mac, mac_for(event.hash)):
            reason = "mac"
        elif event.id == checkpoint_id and (event.hash, event.mac) != (checkpoint["hash"], checkpoint.get("mac")):
            reason = "missing_tail"
        if reason:
            return _broken(checked, event.id, reason, head, checkpoint_id)
        sealed = sealed or event.mac is not None
        prev, head = event.hash, event.id
        checked += 1
    if checkpoint_id is not None and (head is None or head < checkpoint_id):
        return _broken(checked, checkpoint_id, "missing_tail", head, checkpoint_id)
    return {
        "ok": True,
        "checked": checked,
        "first_broken": None,
        "reason": None,
        "head": head,
        "checkpoint": checkpoint_id,
    }


def read_checkpoint(tail_bytes: int = 65536) -> dict[str, Any] | None:
    """The newest event in ``audit.jsonl`` (``{id, hash, mac}``), or None without one. Lines from
    several processes may land slightly out of order, so the highest id near the end wins."""
    path = Path(settings.BIOFM_LOG_DIR) / "audit.jsonl"
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, handle.seek(0, 2) - tail_bytes))
            tail = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    best = None
    for line in tail.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue  # the first line may be cut; a line may be half-written
        if isinstance(row, dict) and isinstance(row.get("id"), int) and (best is None or row["id"] > best["id"]):
            best = {"id": row["id"], "hash": row.get("hash"), "mac": row.get("mac")}
    return best


def head_id() -> int:
    """The newest event's id (0 for none): the ``/metrics`` gauge, whose history lives outside."""
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def audit_locked() -> int:
    """SQLite trigger condition: 1 unless this thread runs ``maintenance()``."""
    return 0 if getattr(_maintenance, "active", False) else 1


@contextmanager
def maintenance() -> Iterator[None]:
    """Lift the SQLite append-only triggers in this thread (database flush in tests only).

    On PostgreSQL the triggers stay; ``flush`` there uses TRUNCATE, which row triggers ignore."""
    _maintenance.active = True
    try:
        yield
    finally:
        _maintenance.active = False
