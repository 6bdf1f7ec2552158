"""The node's search-index writer: applies the change feed to the tantivy index, committing the
feed position with the documents. On PostgreSQL a pass starts as soon as a change commits (the
feed trigger's notification) and at least every ``BIOFM_SEARCH_COMMIT_INTERVAL`` seconds; on
SQLite every ``BIOFM_SEARCH_COMMIT_INTERVAL`` seconds.
One per node: it holds the writer lock beside the index (a second one waits for it).
Started by ``scripts/start_services.sh``, stopped by ``scripts/stop_services.sh`` (SIGTERM)."""

from __future__ import annotations

import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from file_upload.search import engine, feed


class Command(BaseCommand):
    help = "Keep the node's search index current from the change feed (runs until stopped)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        path = engine.index_dir()
        with engine.writer_lock(path):
            writer = engine.Writer(path)
            changes = feed.ChangeSignal()
            self.stdout.write(f"search index writer on {path}")
            while not stopping:
                if not once:
                    close_old_connections()  # a long-lived process: drop broken connections
                try:
                    feed.catch_up(writer)
                except Exception as error:  # a database hiccup: the next pass tries again
                    self.stderr.write(f"search index writer: {error!r}")
                if once:
                    break
                changes.wait(settings.BIOFM_SEARCH_COMMIT_INTERVAL)
            writer.close()
