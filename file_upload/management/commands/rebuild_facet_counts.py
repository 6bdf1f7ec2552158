"""Recompute the pre-aggregated facet counts (PostgreSQL) from the file rows."""

from django.core.management.base import BaseCommand

from file_upload.search import rebuild_facet_counts


class Command(BaseCommand):
    help = "Rebuild the facet count table from the files (after a restore or a load with triggers off)."

    def handle(self, *args, **options):
        rows = rebuild_facet_counts()
        self.stdout.write(f"Done: {rows} count rows." if rows else "Nothing to do (not PostgreSQL).")
