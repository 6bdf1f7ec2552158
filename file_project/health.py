"""``/healthz``: liveness of the database, the file store and the Celery broker."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _check_db() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_storage() -> str:
    from file_upload import storage

    if storage.is_s3():
        storage.s3_client().head_bucket(Bucket=storage.s3_bucket())
        return "ok"
    with tempfile.NamedTemporaryFile(dir=Path(settings.FILES_DIR), prefix=".healthz-") as handle:
        handle.write(b"ok")
        handle.flush()
    return "ok"


def _check_broker() -> str:
    from file_project.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    started = time.monotonic()
    for name, check in (("database", _check_db), ("storage", _check_storage), ("broker", _check_broker)):
        try:
            checks[name] = check()
        except Exception as exc:  # a health probe reports failures, it does not raise them
            checks[name] = f"error: {type(exc).__name__}: {exc}"[:300]
    healthy = all(value == "ok" for value in checks.values())
    body = {
        "status": "ok" if healthy else "error",
        "checks": checks,
        "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
    }
    return JsonResponse(body, status=200 if healthy else 503)
