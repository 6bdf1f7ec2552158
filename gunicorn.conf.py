"""gunicorn settings shared by every way this project starts its web server
(``scripts/start_services.sh`` and the benchmarks pass ``--config gunicorn.conf.py``; gunicorn
also reads this file by itself from the working directory). Command-line options still decide
the bind address, workers and threads."""

from __future__ import annotations

from typing import Any


def post_worker_init(worker: Any) -> None:
    """Warm the worker up before it accepts its first request (``file_project.warmup``)."""
    from file_project.warmup import warm_up

    seconds = warm_up(worker.wsgi)
    worker.log.info("Worker %s warmed up in %.0f ms", worker.pid, seconds * 1000)
