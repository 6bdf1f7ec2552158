"""Create demo data for the search page and the benchmarks (``file_upload.demo``)."""

from django.core.management.base import BaseCommand

from file_upload.demo import seed_demo


class Command(BaseCommand):
    help = "Add N demo files (metadata only) in new projects with nested folders, and U demo users."

    def add_arguments(self, parser):
        parser.add_argument("--files", type=int, default=10_000)
        parser.add_argument("--users", type=int, default=20)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, files, users, seed, **options):
        result = seed_demo(files=files, users=users, seed=seed, log=self.stdout.write)
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {result['files']} files in {result['projects']} projects; {result['users']} users."
            )
        )
