"""Stop every cellxgene viewer this installation started (used by scripts/stop_services.sh)."""

from django.core.management.base import BaseCommand

from cellxgene_bridge.services import stop_viewers


class Command(BaseCommand):
    help = "Stop the cellxgene viewers we started (PIDs checked to be ours); audited as 'cellxgene.stop'."

    def add_arguments(self, parser):
        parser.add_argument("--reason", default="services stopped")

    def handle(self, *args, **options):
        count = stop_viewers(reason=options["reason"])
        self.stdout.write(f"Stopped {count} cellxgene viewer(s).")
