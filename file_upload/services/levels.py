"""Access levels: ``effective_level`` (resolving ``inherit``) and ``refresh_effective_levels`` (a
subtree recomputed in a bounded number of queries); ``changes_of`` for audit diffs."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from ..models import (
    AccessLevel,
    File,
    Folder,
    NodeAccessLevel,
    Project,
)

log = logging.getLogger(__name__)


REFRESH_CHUNK = 5000
# Encrypted at rest; shown only to editors on the detail view, never copied into the audit trail.
SENSITIVE_FILE_FIELDS = frozenset({"notes", "donor_id"})


def effective_level(project: Project, folder: Folder | None, own_level: str) -> str:
    """Resolve ``inherit``: the object's own level, else its folder's effective level, else the
    project's (folders keep their effective level on the row)."""
    if own_level != NodeAccessLevel.INHERIT:
        return own_level
    if folder is not None:
        return folder.effective_access_level
    return project.access_level


def refresh_effective_levels(project: Project, root: Folder | None = None) -> int:
    """Recompute the effective level of every folder and file in ``root``'s subtree (or the whole
    project), e.g. after a level change or a move. Returns the number of rows changed.

    The subtree's folders are read once and resolved in memory, parents before children; rows
    are then updated grouped by their new level, so the number of queries does not grow with the
    number of files (one UPDATE per level and chunk of folder ids)."""
    if root is None:
        nodes = Folder.objects.filter(project=project)
        base = project.access_level
    else:
        nodes = Folder.objects.filter(project=project, tree_path__startswith=root.tree_path)
        base = root.parent.effective_access_level if root.parent_id else project.access_level
    rows = sorted(nodes.values_list("id", "parent_id", "access_level", "tree_path"), key=lambda r: r[3].count("/"))
    resolved: dict[int, str] = {}
    for folder_id, parent_id, own, _ in rows:
        inherited = resolved.get(parent_id, base) if parent_id is not None else project.access_level
        resolved[folder_id] = inherited if own == NodeAccessLevel.INHERIT else own
    by_level: dict[str, list[int]] = {level: [] for level in AccessLevel.values}
    for folder_id, level in resolved.items():
        by_level[level].append(folder_id)

    changed = 0
    files = File.objects.filter(project=project)
    if root is not None:
        files = files.filter(folder__tree_path__startswith=root.tree_path)
    with transaction.atomic():
        for level, folder_ids in by_level.items():
            for start in range(0, len(folder_ids), REFRESH_CHUNK):
                chunk = folder_ids[start : start + REFRESH_CHUNK]
                changed += (
                    Folder.objects.filter(id__in=chunk)
                    .exclude(effective_access_level=level)
                    .update(effective_access_level=level)
                )
                changed += (
                    File.objects.filter(folder_id__in=chunk, access_level=NodeAccessLevel.INHERIT)
                    .exclude(effective_access_level=level)
                    .update(effective_access_level=level)
                )
            changed += (
                files.filter(access_level=level)
                .exclude(effective_access_level=level)
                .update(effective_access_level=level)
            )
        if root is None:
            changed += (
                files.filter(folder__isnull=True, access_level=NodeAccessLevel.INHERIT)
                .exclude(effective_access_level=project.access_level)
                .update(effective_access_level=project.access_level)
            )
    return changed


def changes_of(obj: Any, changes: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for the fields that really change (for the audit trail)."""
    out: dict[str, list[Any]] = {}
    for field, value in changes.items():
        before = getattr(obj, field)
        before_cmp = before.pk if hasattr(before, "pk") else before
        after_cmp = value.pk if hasattr(value, "pk") else value
        if before_cmp != after_cmp:
            out[field] = [before_cmp, after_cmp]
    return out
