"""Users. A project-owned user model from day one so profile and privacy fields can grow."""

from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    class Meta:
        db_table = "biofm_user"
        ordering = ["username"]
