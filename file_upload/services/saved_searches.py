"""Saved searches: ``save_search``, ``update_saved_search``, ``delete_saved_search``."""

from __future__ import annotations

import logging
from typing import Any

from ..models import (
    SavedSearch,
)
from .saving import unique_name

log = logging.getLogger(__name__)


def save_search(*, owner: Any, name: str, query: str = "") -> SavedSearch:
    """Save (or overwrite) the user's search called ``name``."""
    saved, _ = SavedSearch.objects.update_or_create(owner=owner, name=name.strip(), defaults={"query": query})
    return saved


def update_saved_search(saved: SavedSearch, **changes: Any) -> SavedSearch:
    for key, value in changes.items():
        setattr(saved, key, value.strip() if key == "name" else value)
    with unique_name(f"You already have a saved search called “{saved.name}”."):
        saved.save()
    return saved


def delete_saved_search(saved: SavedSearch) -> None:
    saved.delete()
