"""Rebuild the node's search index from the file table (``--if-needed``: only when it is
missing, its schema changed or it was built from another database). Waits for the writer lock,
so it never races the writer."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from file_upload.search import engine, feed


class Command(BaseCommand):
    help = "Rebuild the tantivy search index (run by start_services.sh when it is missing or outdated)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--if-needed", action="store_true", help="Only when missing, of another schema or of another database."
        )

    def handle(self, *args: Any, if_needed: bool = False, **options: Any) -> None:
        path = engine.index_dir()
        if if_needed and engine.read_signature(path) == engine.index_signature():
            self.stdout.write(f"search index at {path} is current")
            return
        with engine.writer_lock(path):
            writer = engine.Writer(path)
            count = feed.rebuild(writer, progress=lambda line: self.stdout.write(f"  {line}"))
            writer.close()
        self.stdout.write(f"search index at {path}: {count} files")
