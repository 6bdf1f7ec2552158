"""Export everything stored about one user as a zip (data subject access request)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from authentication.dsar import dsar_filename, write_dsar_archive
from authentication.models import User


class Command(BaseCommand):
    help = "Write a zip of a user's account, profile, files (metadata), downloads and audit events."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--output", "-o", help="Zip path (default: dsar-<user>-<time>.zip here).")
        parser.add_argument("--include-bytes", action="store_true", help="Add the bytes of the user's live files.")

    def handle(self, *args, username, output=None, include_bytes=False, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        path = Path(output or dsar_filename(user))
        with open(path, "wb") as handle:
            write_dsar_archive(user, handle, include_bytes=include_bytes)
        path.chmod(0o600)
        self.stdout.write(f"Wrote {path}")
