"""Rotate the field encryption key: re-encrypt every value under the current key."""

from django.core.management.base import BaseCommand, CommandError

from authentication import crypto, rotation


class Command(BaseCommand):
    help = (
        "Re-encrypt encrypted columns with the current key (the first in BIOFM_FIELD_KEY). "
        "--new makes a new key first (key file installs) or prints one to put in BIOFM_FIELD_KEY; "
        "--retire <id> drops an old key from the key file once nothing uses it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--new", action="store_true", help="Start using a freshly generated key.")
        parser.add_argument("--retire", metavar="KEY_ID", help="Remove an unused old key from the key file.")
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be re-encrypted.")

    def handle(self, *args, new=False, retire=None, dry_run=False, **options):
        try:
            if new:
                from django.conf import settings

                if settings.BIOFM_FIELD_KEY_SOURCE == "env":
                    key = crypto.generate_key()
                    self.stdout.write(
                        "Keys come from BIOFM_FIELD_KEY. Put this new key first, keep the old ones after it, "
                        f"restart, then run rotate_field_key again:\n{key}"
                    )
                    return
                self.stdout.write(f"New current key {rotation.add_key_file_key()}.")
            if retire:
                rotation.retire_key_file_key(retire)
                self.stdout.write(f"Retired key {retire}.")
                return
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        done = rotation.reencrypt_all(dry_run=dry_run)
        verb = "Would re-encrypt" if dry_run else "Re-encrypted"
        for column, count in done.items():
            self.stdout.write(f"{verb} {count} value(s) in {column}")
        self.stdout.write(f"Current key {crypto.current_key_id()}; values per key: {rotation.key_usage()}")
