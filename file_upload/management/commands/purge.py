"""Purge trashed files whose retention window has passed (the daily beat task does the same)."""

from django.core.management.base import BaseCommand, CommandError

from file_upload import retention
from file_upload.models import File


class Command(BaseCommand):
    help = "Erase trashed files past their project's retention window: bytes, derived copies, row."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List what would be purged; change nothing.")
        parser.add_argument(
            "--file",
            type=int,
            action="append",
            dest="files",
            default=[],
            help="Purge this trashed file now, whatever its window (repeatable).",
        )

    def handle(self, *args, dry_run=False, files=(), **options):
        if files:
            chosen = list(File.objects.filter(pk__in=files, deleted_at__isnull=False).select_related("project"))
            missing = set(files) - {f.pk for f in chosen}
            if missing:
                raise CommandError(f"Not in the trash: {', '.join(map(str, sorted(missing)))}")
            results = [
                retention.PurgeResult(f.id, f.name, f.sha256, f.size)
                if dry_run
                else retention.purge_file(f, reason="manual")
                for f in chosen
            ]
        else:
            results = retention.purge_expired(dry_run=dry_run)
        verb = "Would purge" if dry_run else "Purged"
        for result in results:
            self.stdout.write(f"{verb} file {result.file_id} {result.name!r} sha256={result.sha256} size={result.size}")
        self.stdout.write(f"{verb} {len(results)} file(s).")
