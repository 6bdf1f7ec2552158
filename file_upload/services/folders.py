"""Folders: ``create_folder``, ``update_folder``, ``delete_folder``, ``restore_from_trash``,
``folder_ancestors``."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from authentication import audit
from file_project.domain import Conflict

from ..models import (
    File,
    Folder,
    NodeAccessLevel,
    Project,
    more_open,
)
from ..validators import normalise_name, validate_object_name
from .files import OnConflict, soft_delete_file
from .levels import changes_of, effective_level, refresh_effective_levels
from .saving import saving_changes, unique_name

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
    with unique_name(f"A folder named “{name}” already exists here."):
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
    return folder


def folder_ancestors(folder: Folder) -> list[Folder]:
    """The folder's ancestors, root first (one query through the materialised path)."""
    ids = [int(part) for part in folder.tree_path.strip("/").split("/") if part][:-1]
    by_id = {f.id: f for f in Folder.objects.filter(id__in=ids)}
    return [by_id[i] for i in ids if i in by_id]


def free_folder_name(project: Project, parent: Folder | None, name: str, exclude_id: int | None = None) -> str:
    """``name``, or the first free ``name (2)``, ``name (3)`` … among ``parent``'s folders."""
    taken = set(
        Folder.objects.filter(project=project, parent=parent).exclude(id=exclude_id).values_list("name", flat=True)
    )
    if name not in taken:
        return name
    for n in range(2, 10_000):
        if f"{name} ({n})" not in taken:
            return f"{name} ({n})"
    raise Conflict(f"A folder named “{name}” already exists there.", code="name_conflict")


def update_folder(folder: Folder, *, actor: Any, on_conflict: OnConflict = OnConflict.REFUSE, **changes: Any) -> Folder:
    """Rename, move (``parent``) or change the level of a folder; keeps the subtree consistent.
    A name taken by a sibling folder is refused (409), or with ``keep_both`` this folder takes the
    first free "name (2)". Folders are never replaced or merged (docs/design.md)."""
    if on_conflict == OnConflict.REPLACE:
        raise ValidationError({"on_conflict": ["Folders are not replaced: choose keep_both or refuse."]})
    new_parent = changes.get("parent", folder.parent)
    if "name" in changes:
        changes["name"] = normalise_name(changes["name"])
        validate_object_name(changes["name"])
    if on_conflict == OnConflict.KEEP_BOTH and ("name" in changes or "parent" in changes):
        changes["name"] = free_folder_name(folder.project, new_parent, changes.get("name", folder.name), folder.id)
    if new_parent is not None:
        _check_parent(folder.project, new_parent)
        if new_parent.id == folder.id or new_parent.tree_path.startswith(folder.tree_path):
            raise ValidationError({"parent": ["A folder cannot be moved into itself or its own subfolder."]})
    diff = changes_of(folder, changes)
    old_tree, old_names = folder.tree_path, folder.name_path
    for field, value in changes.items():
        setattr(folder, field, value)
    folder.tree_path, folder.name_path = _paths_for(new_parent, folder.id, folder.name)
    taken = f"A folder named “{folder.name}” already exists there."
    with saving_changes(folder, actor=actor, action="folder.update", diff=diff, taken=taken):
        if (old_tree, old_names) != (folder.tree_path, folder.name_path):
            for child in Folder.objects.filter(tree_path__startswith=old_tree).exclude(id=folder.id):
                child.tree_path = folder.tree_path + child.tree_path[len(old_tree) :]
                child.name_path = folder.name_path + child.name_path[len(old_names) :]
                child.save(update_fields=["tree_path", "name_path"])
        if "access_level" in diff or "parent" in diff:
            refresh_effective_levels(folder.project, root=folder)
            folder.refresh_from_db(fields=["effective_access_level"])
    return folder


def delete_folder(folder: Folder, *, actor: Any) -> int:
    """Delete a folder and everything under it: its live files go to the trash as one deletion
    batch (``File.trash_origin`` keeps the batch, the deleted root and the folders down to each
    file, with their access levels, so that ``restore_from_trash`` can bring the folder back as a
    whole); its folders are removed. The caller has asked the policy (``refused_in_tree``).
    Returns the number of files trashed."""
    with transaction.atomic():
        subtree = list(Folder.objects.filter(project_id=folder.project_id, tree_path__startswith=folder.tree_path))
        by_id = {f.id: f for f in subtree}
        batch = uuid.uuid4().hex
        live = File.objects.alive().filter(folder__in=subtree)
        reason = f"folder {folder.name_path} deleted"
        # Data files first: each takes its uploaded index along (same deletion time).
        data_files = list(live.filter(index_of__isnull=True))
        for file in data_files:
            soft_delete_file(file, actor=actor, reason=reason)
        loose = list(live.all())  # indexes whose data file lies elsewhere
        for file in loose:
            soft_delete_file(file, actor=actor, reason=reason)
        trashed = len(data_files) + len(loose)
        trashed_ids = {f.id for f in data_files + loose}
        audit.record(actor, "folder.delete", folder, path=folder.name_path, files_trashed=trashed, batch=batch)
        for file in File.objects.filter(folder__in=subtree, deleted_at__isnull=False):
            place = by_id[file.folder_id]
            origin: dict[str, Any] = {
                "folder_path": place.name_path,
                "effective_access_level": file.effective_access_level,
            }
            if file.id in trashed_ids or file.index_of_id in trashed_ids:
                chain = [
                    int(p) for p in place.tree_path[len(folder.tree_path) - len(f"{folder.id}/") :].split("/") if p
                ]
                origin |= {
                    "batch": batch,
                    "root_id": folder.id,
                    "root": folder.name_path,
                    "folders": [
                        {
                            "path": by_id[i].name_path,
                            "access_level": by_id[i].access_level,
                            "effective_access_level": by_id[i].effective_access_level,
                        }
                        for i in chain
                    ],
                }
            file.trash_origin, file.folder = origin, None
            # Files in the trash keep their bytes; they move to the project root so the folders can go.
            file.save(update_fields=["trash_origin", "folder"])
        for gone in sorted(subtree, key=lambda f: f.tree_path.count("/"), reverse=True):
            gone.delete()
    return trashed


@dataclass
class Restored:
    """What a restore did: the files back, and those whose folder was gone (now at the top)."""

    files: list[File] = dataclasses.field(default_factory=list)
    to_top_level: list[File] = dataclasses.field(default_factory=list)
    kept_level: list[File] = dataclasses.field(default_factory=list)  # given their former level as their own


def _folder_at(project: Project, path: str) -> Folder | None:
    return Folder.objects.filter(project=project, name_path=path).first()


def _at_most(level: str, before: str | None, project: Project, folder: Folder | None) -> str:
    """The own level that keeps an object placed in ``folder`` (None: the top level) no more open
    than the effective level it had ``before``: ``level`` itself, or ``before`` when ``level``
    would resolve to something more open there."""
    if before and more_open(effective_level(project, folder, level), before):
        return before
    return level


def _rebuild_folders(project: Project, specs: list[dict[str, str]], actor: Any) -> Folder | None:
    """The folders along ``specs`` (root first), re-created where missing with their old levels
    — never more open than they were: a folder that inherited and lands under a more open
    parent (its old one is gone) keeps its former level as its own; the root goes under its old
    parent when that still exists, else to the top level."""
    above = specs[0]["path"].rstrip("/").rsplit("/", 1)[0]
    parent: Folder | None = _folder_at(project, above) if above else None
    for spec in specs:
        found = _folder_at(project, spec["path"])
        if found is None:
            name = spec["path"].rstrip("/").rsplit("/", 1)[-1]
            level = _at_most(spec["access_level"], spec.get("effective_access_level"), project, parent)
            found = create_folder(project=project, name=name, actor=actor, parent=parent, access_level=level)
        parent = found
    return parent


def restore_from_trash(file: File, *, actor: Any, candidates: Any, whole_folder: bool = False) -> Restored:
    """Take ``file`` out of the trash — with ``whole_folder``, every file of the folder deletion
    it belongs to (among ``candidates``, the trashed files the actor may restore). Each goes back
    to its old folder when that exists or is re-created in this step (a whole folder re-creates
    its folders, with their access levels); else to the project's top level (``to_top_level``).
    All or nothing: 409 when a live file took a name meanwhile."""
    from ..retention import restore_file  # the trash lifecycle; imports this package

    origin = file.trash_origin or {}
    if whole_folder and origin.get("batch"):
        rows = list(candidates.filter(project_id=file.project_id, trash_origin__batch=origin["batch"]).order_by("id"))
    else:
        rows = [file, *File.objects.filter(index_of=file, deleted_at=file.deleted_at)]
    result = Restored()
    with transaction.atomic():
        for row in rows:
            row_origin = row.trash_origin or {}
            if row.folder_id is None and row_origin.get("folder_path"):
                target = _folder_at(row.project, row_origin["folder_path"])
                if target is None and whole_folder and row_origin.get("folders"):
                    target = _rebuild_folders(row.project, row_origin["folders"], actor)
                if target is None:
                    result.to_top_level.append(row)
                # Its new place may be more open than its old one (a folder of that path made
                # since, the top level): the file keeps the level it had.
                before = row_origin.get("effective_access_level", row.effective_access_level)
                level = _at_most(row.access_level, before, row.project, target)
                if level != row.access_level:
                    audit.record(actor, "file.update", row, changes={"access_level": [row.access_level, level]})
                    row.access_level = level
                    result.kept_level.append(row)
                row.folder = target
                row.effective_access_level = effective_level(row.project, target, row.access_level)
                row.save(update_fields=["folder", "access_level", "effective_access_level"])
        for row in rows:
            row.refresh_from_db(fields=["deleted_at"])
            if row.deleted_at is not None:  # an index comes back with its data file
                restore_file(row, actor=actor)
                File.objects.filter(id=row.id).update(trash_origin=None)
            result.files.append(row)
    return result
