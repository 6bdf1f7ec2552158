"""An upload's lease (``file_project.leases`` on the ``Upload`` row), renewed by a heartbeat on a
helper thread (``threads.run``) for as long as its holder works on it.

Public surface: ``lease_seconds``, ``Lease``, ``try_lease``, ``release``.
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

from django.conf import settings

from file_project import leases

from .. import threads
from ..models import Upload

log = logging.getLogger(__name__)


def lease_seconds() -> int:
    return int(settings.BIOFM_UPLOAD_LEASE_SECONDS)


class Lease:
    """An upload's lease, kept alive by a heartbeat thread for as long as its holder works on it
    (streaming a body, hashing and storing a finished file, however long that takes). A holder
    killed with SIGKILL stops renewing, so the upload is free again after at most
    ``BIOFM_UPLOAD_LEASE_SECONDS``, not after the longest PATCH anyone could send."""

    def __init__(self, upload: Upload, token: uuid.UUID) -> None:
        self.upload = upload
        self.token = token
        self._stop = threading.Event()
        self._beating = threads.run(self._beat, name="upload-lease")

    def _beat(self) -> None:
        from django.db import connection

        try:
            while not self._stop.wait(max(lease_seconds() / 3, 0.2)):
                leases.renew(Upload.objects.filter(id=self.upload.id), self.token, lease_seconds())
        except Exception:  # the request's own work decides the outcome; a missed beat is logged
            log.exception("renewing the lease of upload %s failed", self.upload.id)
        finally:
            connection.close()  # this thread's own connection

    def stop(self) -> None:
        self._stop.set()
        self._beating.wait()


def try_lease(upload_id: uuid.UUID, **conditions: Any) -> Lease | None:
    """Take the upload's lease if nobody holds it (and the row matches ``conditions``)."""
    token = uuid.uuid4()
    if not leases.take(Upload.objects.filter(id=upload_id, **conditions), token, lease_seconds()):
        return None
    return Lease(Upload.objects.get(id=upload_id), token)


def release(lease: Lease) -> None:
    lease.stop()
    leases.release(Upload.objects.filter(id=lease.upload.id), lease.token)
