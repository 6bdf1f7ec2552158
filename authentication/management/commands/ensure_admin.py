"""Create the first superuser from ``BIOFM_ADMIN_USER``/``BIOFM_ADMIN_PASSWORD`` when set.

Idempotent: an existing user keeps its password unless ``--reset-password`` is given.
"""

from __future__ import annotations

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the superuser named in BIOFM_ADMIN_USER (password BIOFM_ADMIN_PASSWORD) if missing."

    def add_arguments(self, parser):
        parser.add_argument("--reset-password", action="store_true", help="Set the password of an existing user.")

    def handle(self, *args, **options):
        username = os.environ.get("BIOFM_ADMIN_USER", "").strip()
        password = os.environ.get("BIOFM_ADMIN_PASSWORD", "")
        if not username or not password:
            self.stdout.write("BIOFM_ADMIN_USER/BIOFM_ADMIN_PASSWORD not set; no superuser created.")
            return
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True, "email": ""}
        )
        if created or options["reset_password"]:
            user.set_password(password)
            user.is_staff = user.is_superuser = True
            user.save()
            self.stdout.write(f"Superuser {username!r} {'created' if created else 'password reset'}.")
        else:
            self.stdout.write(f"Superuser {username!r} exists; left unchanged.")
