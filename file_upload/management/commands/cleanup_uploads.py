"""Delete expired, terminated and failed uploads (bytes and rows) and abandoned temporaries."""

from django.core.management.base import BaseCommand

from file_upload.uploads import cleanup_uploads


class Command(BaseCommand):
    help = "Remove abandoned upload fragments; the beat task runs the same every hour."

    def handle(self, *args, **options):
        removed = cleanup_uploads()
        self.stdout.write(
            f"Removed {removed['uploads']} uploads and {removed['orphans']} orphaned temporaries, "
            f"{removed['bytes']} bytes freed."
        )
