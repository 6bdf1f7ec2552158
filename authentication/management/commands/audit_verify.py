"""Re-compute the audit hash chain and report the first broken row (exit status 1 if broken)."""

from django.core.management.base import BaseCommand, CommandError

from authentication.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; names the first event whose hash or link does not match."

    def handle(self, *args, **options):
        result = verify_chain()
        if result["ok"]:
            self.stdout.write(f"Audit chain intact: {result['checked']} events checked.")
            return
        raise CommandError(
            f"Audit chain broken at event {result['first_broken']} ({result['checked']} events before it verified)."
        )
