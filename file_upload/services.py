"""Workspace actions: the only code that writes projects, folders and files.

Views, tasks, management commands and later front doors (tus, NCBI import) all call these.
Public surface: ``create_project``, ``update_project``, ``delete_project``, ``create_folder``,
``update_folder``, ``delete_folder``, ``folder_ancestors``, ``store_file``, ``update_file``,
``soft_delete_file``, ``effective_level``, ``refresh_effective_levels``, ``parse_file``.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Iterable
from typing import Any, BinaryIO

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from file_project.errors import Conflict

from . import storage
from .metadata import METADATA_FIELD_NAMES
from .models import AccessLevel, File, Folder, NodeAccessLevel, ParseStatus, Project, UploadMethod
from .parsers import registry
from .parsers.base import ParseError
from .validators import validate_object_name

log = logging.getLogger(__name__)


# --- access levels ---------------------------------------------------------------------------


def effective_level(project: Project, folder: Folder | None, own_level: str) -> str:
    """Resolve ``inherit`` through the folder chain up to the project."""
    if own_level != NodeAccessLevel.INHERIT:
        return own_level
    node = folder
    while node is not None:
        if node.access_level != NodeAccessLevel.INHERIT:
            return node.access_level
        node = node.parent
    return project.access_level


def refresh_effective_levels(project: Project) -> int:
    """Recompute ``effective_access_level`` of every file in the project; returns rows changed."""
    folders = {f.id: f for f in Folder.objects.filter(project=project)}

    def folder_level(folder_id: int | None) -> str:
        while folder_id is not None:
            folder = folders[folder_id]
            if folder.access_level != NodeAccessLevel.INHERIT:
                return folder.access_level
            folder_id = folder.parent_id
        return project.access_level

    changed = 0
    with transaction.atomic():
        for level in AccessLevel.values:
            changed += (
                File.objects.filter(project=project, access_level=level)
                .exclude(effective_access_level=level)
                .update(effective_access_level=level)
            )
        inherit = File.objects.filter(project=project, access_level=NodeAccessLevel.INHERIT)
        for folder_id in [None, *folders]:
            level = folder_level(folder_id)
            changed += (
                inherit.filter(folder_id=folder_id)
                .exclude(effective_access_level=level)
                .update(effective_access_level=level)
            )
    return changed


# --- projects --------------------------------------------------------------------------------


def create_project(
    *,
    owner: Any,
    name: str,
    description: str = "",
    access_level: str = AccessLevel.INTERNAL,
    retention_days: int | None = None,
) -> Project:
    try:
        with transaction.atomic():
            return Project.objects.create(
                owner=owner,
                name=name,
                description=description,
                access_level=access_level,
                retention_days=retention_days,
            )
    except IntegrityError as exc:
        raise Conflict(f"A project named “{name}” already exists.", code="name_conflict") from exc


def update_project(project: Project, **changes: Any) -> Project:
    level_changed = "access_level" in changes and changes["access_level"] != project.access_level
    for field, value in changes.items():
        setattr(project, field, value)
    try:
        with transaction.atomic():
            project.save()
            if level_changed:
                refresh_effective_levels(project)
    except IntegrityError as exc:
        raise Conflict(f"A project named “{project.name}” already exists.", code="name_conflict") from exc
    return project


def delete_project(project: Project) -> None:
    if File.objects.filter(project=project).exists() or project.folders.exists():
        raise Conflict(
            "The project still holds folders or files (including the trash); empty it first.", code="not_empty"
        )
    project.delete()


def project_usage(project: Project) -> dict[str, int]:
    agg = File.objects.alive().filter(project=project).aggregate(total=Sum("size"))
    return {"file_count": File.objects.alive().filter(project=project).count(), "total_size": agg["total"] or 0}


# --- folders ---------------------------------------------------------------------------------


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
    parent: Folder | None = None,
    user: Any = None,
    access_level: str = NodeAccessLevel.INHERIT,
) -> Folder:
    validate_object_name(name)
    _check_parent(project, parent)
    try:
        with transaction.atomic():
            folder = Folder.objects.create(
                project=project, parent=parent, name=name, access_level=access_level, created_by=user
            )
            folder.tree_path, folder.name_path = _paths_for(parent, folder.id, name)
            folder.save(update_fields=["tree_path", "name_path"])
    except IntegrityError as exc:
        raise Conflict(f"A folder named “{name}” already exists here.", code="name_conflict") from exc
    return folder


def folder_ancestors(folder: Folder) -> list[Folder]:
    """The folder's ancestors, root first (one query through the materialised path)."""
    ids = [int(part) for part in folder.tree_path.strip("/").split("/") if part][:-1]
    by_id = {f.id: f for f in Folder.objects.filter(id__in=ids)}
    return [by_id[i] for i in ids if i in by_id]


def update_folder(folder: Folder, **changes: Any) -> Folder:
    """Rename, move (``parent``) or change the level of a folder; keeps the subtree consistent."""
    new_parent = changes.get("parent", folder.parent)
    if "name" in changes:
        validate_object_name(changes["name"])
    if new_parent is not None:
        _check_parent(folder.project, new_parent)
        if new_parent.id == folder.id or new_parent.tree_path.startswith(folder.tree_path):
            raise ValidationError({"parent": ["A folder cannot be moved into itself or its own subfolder."]})
    level_changed = "access_level" in changes and changes["access_level"] != folder.access_level
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
            if level_changed or "parent" in changes:
                refresh_effective_levels(folder.project)
    except IntegrityError as exc:
        raise Conflict(f"A folder named “{folder.name}” already exists there.", code="name_conflict") from exc
    return folder


def delete_folder(folder: Folder) -> None:
    if folder.children.exists() or folder.files.filter(deleted_at__isnull=True).exists():
        raise Conflict("The folder is not empty.", code="not_empty")
    with transaction.atomic():
        # Files in the trash keep their bytes; they move to the project root so the folder can go.
        folder.files.update(folder=None)
        folder.delete()


# --- files -----------------------------------------------------------------------------------


def _check_name_free(project: Project, folder: Folder | None, name: str, exclude_id: int | None = None) -> None:
    clash = File.objects.alive().filter(project=project, folder=folder, name=name)
    if exclude_id is not None:
        clash = clash.exclude(id=exclude_id)
    if clash.exists():
        raise Conflict(f"A file named “{name}” already exists in this folder.", code="name_conflict")


def normalise_tags(tags: Iterable[str]) -> list[str]:
    """Trimmed, de-duplicated tags in first-seen order; each at most 64 characters."""
    seen: dict[str, None] = {}
    for tag in tags:
        tag = str(tag).strip()
        if not tag:
            continue
        if len(tag) > 64:
            raise ValidationError({"tags": [f"Tags are limited to 64 characters: “{tag[:20]}…”."]})
        seen.setdefault(tag, None)
    return list(seen)


def store_file(
    *,
    project: Project,
    folder: Folder | None,
    name: str,
    source: BinaryIO,
    owner: Any,
    upload_method: str = UploadMethod.API,
    metadata: dict[str, Any] | None = None,
    tags: Iterable[str] = (),
    description: str = "",
    content_type: str = "",
    access_level: str = NodeAccessLevel.INHERIT,
) -> File:
    """Put the bytes of ``source`` into the store and create the File; queue format extraction.

    ``source`` is a readable binary stream, or an upload that already sits in a temporary file
    with its digest (``HashingFileUploadHandler``), which is then moved instead of copied.
    """
    validate_object_name(name)
    if folder is not None and folder.project_id != project.id:
        raise ValidationError({"folder": ["The folder belongs to another project."]})
    metadata = {k: v for k, v in (metadata or {}).items() if k in METADATA_FIELD_NAMES}
    _check_name_free(project, folder, name)

    key = storage.new_key()
    digest = getattr(source, "biofm_digest", None)
    if digest is not None and hasattr(source, "temporary_file_path"):
        source.file.flush()  # type: ignore[attr-defined]
        storage.adopt(source.temporary_file_path(), key)
    else:
        digest = storage.write_stream(source, key)
    try:
        with transaction.atomic():
            file = File.objects.create(
                project=project,
                folder=folder,
                name=name,
                owner=owner,
                size=digest.size,
                sha256=digest.sha256,
                md5=digest.md5,
                storage_key=key,
                upload_method=upload_method,
                description=description,
                tags=normalise_tags(tags),
                access_level=access_level,
                content_type=content_type or mimetypes.guess_type(name)[0] or "application/octet-stream",
                effective_access_level=effective_level(project, folder, access_level),
                **metadata,
            )
            transaction.on_commit(lambda: _enqueue_parse(file.id))
    except IntegrityError as exc:
        storage.delete_blob(key)
        raise Conflict(f"A file named “{name}” already exists in this folder.", code="name_conflict") from exc
    except BaseException:
        storage.delete_blob(key)
        raise
    return file


def _enqueue_parse(file_id: int) -> None:
    from .tasks import parse_file_task

    try:
        parse_file_task.delay(file_id)
    except Exception:  # the broker being down must not fail an upload that is already stored
        log.exception("could not queue parsing of file %s; it stays pending", file_id)


def update_file(file: File, **changes: Any) -> File:
    """Edit metadata, tags, description, name or level of a file."""
    if "name" in changes and changes["name"] != file.name:
        validate_object_name(changes["name"])
        _check_name_free(file.project, file.folder, changes["name"], exclude_id=file.id)
    if "tags" in changes:
        changes["tags"] = normalise_tags(changes["tags"])
    for field, value in changes.items():
        setattr(file, field, value)
    if "access_level" in changes:
        file.effective_access_level = effective_level(file.project, file.folder, file.access_level)
    try:
        with transaction.atomic():
            file.save()
    except IntegrityError as exc:
        raise Conflict(f"A file named “{file.name}” already exists in this folder.", code="name_conflict") from exc
    return file


def soft_delete_file(file: File) -> File:
    """Move the file to the trash: hidden from every list and download, bytes kept."""
    file.deleted_at = timezone.now()
    file.save(update_fields=["deleted_at", "updated_at"])
    return file


# --- format extraction -----------------------------------------------------------------------


def parse_file(file_id: int) -> File | None:
    """Detect the format from the content and extract statistics with the registered parser."""
    file = File.objects.filter(id=file_id).first()
    if file is None:
        return None
    File.objects.filter(id=file.id).update(parse_status=ParseStatus.RUNNING, parse_error="")
    path = storage.path_for(file.storage_key)
    fmt = registry.detect_format(path, file.name)
    updates: dict[str, Any] = {"parse_error": "", "stats": {}}
    if fmt and not file.file_format:
        updates["file_format"] = fmt
    parser = registry.parser_for(fmt) if fmt else None
    if parser is None:
        updates["parse_status"] = ParseStatus.SKIPPED
    else:
        try:
            updates["stats"] = parser.parse(path)
            updates["parse_status"] = ParseStatus.DONE
        except ParseError as exc:
            updates["parse_status"] = ParseStatus.FAILED
            updates["parse_error"] = str(exc).splitlines()[0] if str(exc) else "malformed file"
    File.objects.filter(id=file.id).update(**updates)
    file.refresh_from_db()
    return file
