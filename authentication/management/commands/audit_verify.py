"""Re-compute the audit hash chain, check every MAC and the head recorded in the audit log, and
report the first broken row (exit status 1 if broken)."""

from django.core.management.base import BaseCommand, CommandError

from authentication.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain and MACs; names the first event that does not match, and why."

    def handle(self, *args, **options):
        result = verify_chain()
        if result["ok"]:
            self.stdout.write(f"Audit chain intact: {result['checked']} events checked.")
            return
        raise CommandError(
            f"Audit chain broken at event {result['first_broken']} ({REASONS[result['reason']]}; "
            f"{result['checked']} events before it verified)."
        )


REASONS = {
    "link": "its link to the previous event does not match: an event was removed or inserted",
    "hash": "its content does not match its hash: it was changed",
    "mac": "its MAC is wrong or missing: the chain was recomputed without the audit key",
    "missing_tail": "the audit log recorded it, the table no longer has it: the newest events were removed",
}
