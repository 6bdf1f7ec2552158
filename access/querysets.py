"""The restricting queryset every model a client can name uses as its manager:
``Model.objects.restrict(user, action)`` narrows to the rows the policy lets ``user`` reach.
The policy is imported when first asked, so models can use this class without importing the
policy (which imports the models)."""

from __future__ import annotations

from typing import Any

from django.db import models


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user: Any, action: str = "view") -> RestrictedQuerySet:
        from .policy import restrict

        return restrict(self, user, action)
