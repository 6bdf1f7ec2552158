"""Leases on database rows: one process at a time works on a row, across workers and nodes,
without a transaction held open (which on SQLite would block every writer for as long).

A lease is a token and an expiry in two columns of the row (``lock_token``, ``locked_until``),
taken by one conditional UPDATE (free: no expiry, or a past one), renewed by its holder and
released by it; a holder that dies stops renewing, so the row is free again once the expiry
passes. ``hold`` waits for a lease held for moments (cellxgene's viewer pool); ``Heartbeat``
renews one held for as long as the work takes (uploads' shape: a PATCH streaming gigabytes).

Public surface: ``take``, ``renew``, ``release``, ``hold``, ``Heartbeat``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

log = logging.getLogger(__name__)


def take(rows: QuerySet[Any], token: Any, seconds: float) -> bool:
    """Take the lease on ``rows`` (usually one) if nobody holds it; True when taken."""
    now = timezone.now()
    free = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    return bool(rows.filter(free).update(lock_token=token, locked_until=now + timedelta(seconds=seconds)))


def renew(rows: QuerySet[Any], token: Any, seconds: float) -> bool:
    """Push the expiry of a lease still held under ``token``; False when it was lost."""
    return bool(rows.filter(lock_token=token).update(locked_until=timezone.now() + timedelta(seconds=seconds)))


def release(rows: QuerySet[Any], token: Any, *, empty: Any = None) -> None:
    """Give the lease back (only if still held under ``token``); ``empty`` is the column's free value."""
    rows.filter(lock_token=token).update(lock_token=empty, locked_until=None)


@contextlib.contextmanager
def hold(
    rows: QuerySet[Any], *, seconds: float, wait_seconds: float, busy: Callable[[], Exception], empty: Any = None
) -> Iterator[str]:
    """Wait up to ``wait_seconds`` for the lease, hold it for the ``with`` block, then release it;
    ``busy()`` is raised when it stayed taken. For leases held for moments."""
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait_seconds
    while not take(rows, token, seconds):
        if time.monotonic() > deadline:
            raise busy()
        time.sleep(0.2)
    try:
        yield token
    finally:
        release(rows, token, empty=empty)


class Heartbeat:
    """Renews a held lease every third of ``seconds()`` from a thread of its own until ``stop``."""

    def __init__(self, rows: QuerySet[Any], token: Any, seconds: Callable[[], float], name: str) -> None:
        self._rows, self._token, self._seconds = rows, token, seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=name, daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        from django.db import connection

        try:
            while not self._stop.wait(max(self._seconds() / 3, 0.2)):
                renew(self._rows, self._token, self._seconds())
        except Exception:  # the holder's own work decides the outcome; a missed beat is logged
            log.exception("renewing lease %s failed", self._token)
        finally:
            connection.close()  # this thread's own connection

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
