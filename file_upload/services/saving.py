"""Saving a workspace write whose name must be free: ``unique_name`` (the write in one
transaction; the unique constraint finding the name taken is a ``Conflict``) and
``saving_changes`` (an edit of a project, folder or file saved and audited with its diff)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import IntegrityError, transaction

from authentication import audit
from file_project.domain import Conflict


@contextmanager
def unique_name(taken: str) -> Iterator[None]:
    """The ``with`` body in one transaction; a name its unique constraint finds taken is a
    ``Conflict`` (``name_conflict``) saying ``taken``."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        raise Conflict(taken, code="name_conflict") from exc


@contextmanager
def saving_changes(obj: Any, *, actor: Any, action: str, diff: dict[str, list[Any]], taken: str) -> Iterator[None]:
    """Save ``obj`` with what the ``with`` body adds (a subtree's paths, its levels), then record
    ``action`` with ``diff`` (``levels.changes_of``) when anything changed: one transaction
    (``unique_name``)."""
    with unique_name(taken):
        obj.save()
        yield
        if diff:
            audit.record(actor, action, obj, changes=diff)
