"""Stop every cellxgene viewer of this node (used by scripts/stop_services.sh); their copies stay,
so the next request for a dataset starts its viewer again quickly."""

from django.core.management.base import BaseCommand

from cellxgene_bridge.pool import stop_all


class Command(BaseCommand):
    help = "Stop the cellxgene viewers we started (PIDs checked to be ours); audited as 'cellxgene.stop'."

    def add_arguments(self, parser):
        parser.add_argument("--reason", default="services stopped")

    def handle(self, *args, **options):
        count = stop_all(reason=options["reason"])
        self.stdout.write(f"Stopped {count} cellxgene viewer(s).")
