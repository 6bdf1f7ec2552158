"""Recompute the stored effective access level of every folder and file from the levels set on
projects, folders and files (after a restore, a bulk import or a manual database edit)."""

from django.core.management.base import BaseCommand

from file_upload.models import Project
from file_upload.services import refresh_effective_levels


class Command(BaseCommand):
    help = "Rebuild effective access levels of folders and files (all projects, or the ids given)."

    def add_arguments(self, parser):
        parser.add_argument("project_ids", nargs="*", type=int, help="Only these projects")

    def handle(self, *args, project_ids, **options):
        projects = Project.objects.all()
        if project_ids:
            projects = projects.filter(id__in=project_ids)
        total = 0
        for project in projects.iterator():
            changed = refresh_effective_levels(project)
            total += changed
            if changed:
                self.stdout.write(f"{project.name}: {changed} rows corrected")
        self.stdout.write(f"Done: {total} rows corrected.")
