"""Folders: ``create_folder``, ``update_folder``, ``delete_folder``, ``folder_ancestors``."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from authentication import audit
from file_project.domain import Conflict

from ..models import (
    Folder,
    NodeAccessLevel,
    Project,
)
from ..validators import normalise_name, validate_object_name
from .levels import changes_of, effective_level, refresh_effective_levels

log = logging.getLogger(__name__)


def _paths_for(parent: Folder | None, folder_id: int, name: str) -> tuple[str, str]:
    if parent is None:
        return f"/{folder_id}/", f"/{name}"
    return f"{parent.tree_path}{folder_id}/", f"{parent.name_path.rstrip('/')}/{name}"


def _check_parent(project: Project, parent: Folder | None) -> None:
    if parent is not None and parent.project_id != project.id:
        raise ValidationError({"parent": ["The parent folder belongs to another project."]})


def create_folder(
    *,
    project: Project,
    name: str,
    actor: Any,
    parent: Folder | None = None,
    access_level: str = NodeAccessLevel.INHERIT,
) -> Folder:
    name = normalise_name(name)
    validate_object_name(name)
    _check_parent(project, parent)
    try:
        with transaction.atomic():
            folder = Folder.objects.create(
                project=project,
                parent=parent,
                name=name,
                access_level=access_level,
                effective_access_level=effective_level(project, parent, access_level),
                created_by=actor,
            )
            folder.tree_path, folder.name_path = _paths_for(parent, folder.id, name)
            folder.save(update_fields=["tree_path", "name_path"])
            audit.record(actor, "folder.create", folder, path=folder.name_path, access_level=access_level)
    except IntegrityError as exc:
        raise Conflict(f"A folder named “{name}” already exists here.", code="name_conflict") from exc
    return folder


def folder_ancestors(folder: Folder) -> list[Folder]:
    """The folder's ancestors, root first (one query through the materialised path)."""
    ids = [int(part) for part in folder.tree_path.strip("/").split("/") if part][:-1]
    by_id = {f.id: f for f in Folder.objects.filter(id__in=ids)}
    return [by_id[i] for i in ids if i in by_id]


def update_folder(folder: Folder, *, actor: Any, **changes: Any) -> Folder:
    """Rename, move (``parent``) or change the level of a folder; keeps the subtree consistent."""
    new_parent = changes.get("parent", folder.parent)
    if "name" in changes:
        changes["name"] = normalise_name(changes["name"])
        validate_object_name(changes["name"])
    if new_parent is not None:
        _check_parent(folder.project, new_parent)
        if new_parent.id == folder.id or new_parent.tree_path.startswith(folder.tree_path):
            raise ValidationError({"parent": ["A folder cannot be moved into itself or its own subfolder."]})
    diff = changes_of(folder, changes)
    old_tree, old_names = folder.tree_path, folder.name_path
    for field, value in changes.items():
        setattr(folder, field, value)
    folder.tree_path, folder.name_path = _paths_for(new_parent, folder.id, folder.name)
    try:
        with transaction.atomic():
            folder.save()
            if (old_tree, old_names) != (folder.tree_path, folder.name_path):
                for child in Folder.objects.filter(tree_path__startswith=old_tree).exclude(id=folder.id):
                    child.tree_path = folder.tree_path + child.tree_path[len(old_tree) :]
                    child.name_path = folder.name_path + child.name_path[len(old_names) :]
                    child.save(update_fields=["tree_path", "name_path"])
            if "access_level" in diff or "parent" in diff:
                refresh_effective_levels(folder.project, root=folder)
                folder.refresh_from_db(fields=["effective_access_level"])
            if diff:
                audit.record(actor, "folder.update", folder, changes=diff)
    except IntegrityError as exc:
        raise Conflict(f"A folder named “{folder.name}” already exists there.", code="name_conflict") from exc
    return folder


def delete_folder(folder: Folder, *, actor: Any) -> None:
    if folder.children.exists() or folder.files.filter(deleted_at__isnull=True).exists():
        raise Conflict("The folder is not empty.", code="not_empty")
    with transaction.atomic():
        audit.record(actor, "folder.delete", folder, path=folder.name_path)
        # Files in the trash keep their bytes; they move to the project root so the folder can go.
        folder.files.update(folder=None)
        folder.delete()
