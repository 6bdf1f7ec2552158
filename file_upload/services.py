"""Workspace actions: the only code that writes projects, folders and files.

Views, tasks, management commands and later front doors (tus, NCBI import) all call these.
Every write records its audit event in the same transaction.

Public surface: ``create_project``, ``update_project``, ``delete_project``, ``set_project_member``,
``remove_project_member``, ``create_folder``,
``update_folder``, ``delete_folder``, ``folder_ancestors``, ``store_file``, ``update_file``,
``soft_delete_file``, ``move_file``, ``free_name``, ``existing_file``, ``OnConflict``,
``parse_on_conflict``, ``effective_level``, ``refresh_effective_levels``, ``parse_file``,
``index_file``, ``request_reparse``, ``requeue_stale_parses``, ``requeue_stale_indexes``.
"""

from __future__ import annotations

import logging
import mimetypes
import os
from collections.abc import Iterable
from datetime import timedelta
from enum import StrEnum
from typing import Any, BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from authentication import audit
from file_project import metrics
from file_project.errors import Conflict

from . import sidecars, storage
from .metadata import METADATA_FIELD_NAMES
from .models import (
    AccessLevel,
    File,
    Folder,
    IndexStatus,
    NodeAccessLevel,
    ParseStatus,
    Project,
    ProjectGroup,
    ProjectMember,
    SavedSearch,
    UploadMethod,
)
from .parsers import autofill, registry
from .parsers.base import Budget, ParseError, budget_scope
from .validators import normalise_name, validate_object_name

log = logging.getLogger(__name__)


# --- access levels ---------------------------------------------------------------------------

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


def _changes(obj: Any, changes: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for the fields that really change (for the audit trail)."""
    out: dict[str, list[Any]] = {}
    for field, value in changes.items():
        before = getattr(obj, field)
        before_cmp = before.pk if hasattr(before, "pk") else before
        after_cmp = value.pk if hasattr(value, "pk") else value
        if before_cmp != after_cmp:
            out[field] = [before_cmp, after_cmp]
    return out


# --- projects --------------------------------------------------------------------------------


def create_project(
    *,
    owner: Any,
    name: str,
    description: str = "",
    access_level: str = AccessLevel.INTERNAL,
    retention_days: int | None = None,
    quota_bytes: int | None = None,
    holds_human_data: bool = False,
) -> Project:
    try:
        with transaction.atomic():
            project = Project.objects.create(
                owner=owner,
                name=name,
                description=description,
                access_level=access_level,
                retention_days=retention_days,
                quota_bytes=quota_bytes,
                holds_human_data=holds_human_data,
            )
            audit.record(owner, "project.create", project, access_level=access_level)
    except IntegrityError as exc:
        raise Conflict(f"A project named “{name}” already exists.", code="name_conflict") from exc
    return project


def update_project(project: Project, *, actor: Any, **changes: Any) -> Project:
    diff = _changes(project, changes)
    for field, value in changes.items():
        setattr(project, field, value)
    try:
        with transaction.atomic():
            project.save()
            if "access_level" in diff:
                refresh_effective_levels(project)
            if diff:
                audit.record(actor, "project.update", project, changes=diff)
    except IntegrityError as exc:
        raise Conflict(f"A project named “{project.name}” already exists.", code="name_conflict") from exc
    return project


def delete_project(project: Project, *, actor: Any) -> None:
    if File.objects.filter(project=project).exists() or project.folders.exists():
        raise Conflict(
            "The project still holds folders or files (including the trash); empty it first.", code="not_empty"
        )
    with transaction.atomic():
        audit.record(actor, "project.delete", project, name=project.name)
        project.delete()


def set_project_member(
    project: Project, *, actor: Any, role: str, user: Any = None, group: Any = None
) -> tuple[Any, bool]:
    """Give a user or a group a role in the project; returns ``(member, created)``."""
    if user is not None and user.pk == project.owner_id:
        raise Conflict("The project's owner is always its owner; transfer ownership in the admin.", code="is_owner")
    model, lookup = (ProjectMember, {"user": user}) if user is not None else (ProjectGroup, {"group": group})
    with transaction.atomic():
        member = model.objects.filter(project=project, **lookup).first()
        created = member is None
        if created:
            member = model.objects.create(project=project, role=role, **lookup)
            audit.record(actor, "project.member_add", project, member=_member_name(member), role=role)
        elif member.role != role:
            audit.record(actor, "project.member_update", project, member=_member_name(member), role=[member.role, role])
            member.role = role
            member.save(update_fields=["role"])
    return member, created


def remove_project_member(project: Project, *, actor: Any, user: Any = None, group: Any = None) -> bool:
    model, lookup = (ProjectMember, {"user": user}) if user is not None else (ProjectGroup, {"group": group})
    with transaction.atomic():
        member = model.objects.filter(project=project, **lookup).first()
        if member is None:
            return False
        audit.record(actor, "project.member_remove", project, member=_member_name(member), role=member.role)
        member.delete()
    return True


def _member_name(member: ProjectMember | ProjectGroup) -> str:
    if isinstance(member, ProjectMember):
        return f"user:{member.user.get_username()}"
    return f"group:{member.group.name}"


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
    diff = _changes(folder, changes)
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


def delete_folder(folder: Folder, *, actor: Any) -> int:
    """Delete a folder and everything under it: its live files go to the trash (restorable from
    there, to the project's top level, since their folders are gone), its folders are removed.
    The caller has asked the policy (``refused_in_tree``). Returns the number of files trashed."""
    with transaction.atomic():
        subtree = list(Folder.objects.filter(project_id=folder.project_id, tree_path__startswith=folder.tree_path))
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
        audit.record(actor, "folder.delete", folder, path=folder.name_path, files_trashed=trashed)
        # Files in the trash keep their bytes; they move to the project root so the folders can go.
        File.objects.filter(folder__in=subtree).update(folder=None)
        for gone in sorted(subtree, key=lambda f: f.tree_path.count("/"), reverse=True):
            gone.delete()
    return trashed


# --- files -----------------------------------------------------------------------------------


def _check_name_free(project: Project, folder: Folder | None, name: str, exclude_id: int | None = None) -> None:
    clash = File.objects.alive().filter(project=project, folder=folder, name=name)
    if exclude_id is not None:
        clash = clash.exclude(id=exclude_id)
    if clash.exists():
        raise Conflict(f"A file named “{name}” already exists in this folder.", code="name_conflict")


class OnConflict(StrEnum):
    """What a writer wants when the name it stores under is taken by a live file."""

    REFUSE = "refuse"  # 409 name_conflict (the default)
    REPLACE = "replace"  # the live file goes to the trash, the new one takes its name
    KEEP_BOTH = "keep_both"  # the new one is stored as "name (2).ext"


def parse_on_conflict(value: Any, field: str = "on_conflict") -> OnConflict:
    """``OnConflict`` from a request value ("" and None mean refuse); 400 for anything else."""
    if value in (None, ""):
        return OnConflict.REFUSE
    try:
        return OnConflict(str(value).strip().lower())
    except ValueError:
        raise ValidationError({field: [f"Choose one of {', '.join(c.value for c in OnConflict)}."]}) from None


def free_name(project: Project, folder: Folder | None, name: str) -> str:
    """``name``, or the first free ``stem (2).ext``, ``stem (3).ext`` … in that folder."""
    taken = set(File.objects.alive().filter(project=project, folder=folder).values_list("name", flat=True))
    if name not in taken:
        return name
    stem, dot, ext = name.partition(".")
    for n in range(2, 10_000):
        candidate = f"{stem} ({n}){dot}{ext}"
        if candidate not in taken:
            return candidate
    raise Conflict(f"A file named “{name}” already exists in this folder.", code="name_conflict")


def existing_file(project: Project, folder: Folder | None, name: str) -> File | None:
    """The live file holding ``name`` in that folder, if any."""
    return File.objects.alive().filter(project=project, folder=folder, name=normalise_name(name)).first()


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
    owner: Any,
    source: BinaryIO | None = None,
    temp_path: str | os.PathLike[str] | None = None,
    digest: storage.Digest | None = None,
    upload_method: str = UploadMethod.API,
    metadata: dict[str, Any] | None = None,
    tags: Iterable[str] = (),
    description: str = "",
    content_type: str = "",
    access_level: str = NodeAccessLevel.INHERIT,
    storage_key: str = "",
    on_conflict: OnConflict = OnConflict.REFUSE,
) -> File:
    """Put the bytes into the store and create the File; queue format extraction.

    The bytes come either from ``source``, a readable binary stream (copied in bounded chunks),
    or from ``temp_path``, a finished temporary file on the data disk whose ``digest`` is known
    (moved into place, not copied). A multipart upload that ``HashingFileUploadHandler`` already
    wrote and hashed counts as the second kind.

    ``storage_key``: the key a caller chose (and recorded) beforehand, so that it can find the
    bytes again if it is interrupted and retries; ``temp_path`` may then already be that key's
    path. The caller owns those bytes: a failure here leaves them where they are.

    ``on_conflict`` decides what happens when the name is taken: refuse (409), replace (the live
    file goes to the trash in the same transaction; the caller has checked the owner may delete
    it) or keep both (stored as ``name (2).ext``).
    """
    name = normalise_name(name)
    validate_object_name(name)
    if folder is not None and folder.project_id != project.id:
        raise ValidationError({"folder": ["The folder belongs to another project."]})
    metadata = {k: v for k, v in (metadata or {}).items() if k in METADATA_FIELD_NAMES}
    if on_conflict == OnConflict.KEEP_BOTH:
        name = free_name(project, folder, name)
    elif on_conflict == OnConflict.REFUSE:
        _check_name_free(project, folder, name)

    if source is not None and getattr(source, "biofm_digest", None) and hasattr(source, "temporary_file_path"):
        source.file.flush()  # type: ignore[attr-defined]
        temp_path, digest, source = source.temporary_file_path(), source.biofm_digest, None
    key = storage_key or storage.new_key()
    if temp_path is not None and digest is not None:
        storage.adopt(temp_path, key)
    elif source is not None:
        digest = storage.write_stream(source, key)
    else:
        raise ValueError("store_file needs a source stream or a temporary file with its digest")
    try:
        with transaction.atomic():
            if on_conflict == OnConflict.REPLACE:
                for old in File.objects.alive().select_for_update().filter(project=project, folder=folder, name=name):
                    soft_delete_file(old, actor=owner, reason="replaced")
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
            audit.record(
                owner, "file.upload", file, size=file.size, sha256=file.sha256, method=upload_method, metadata=metadata
            )
            _pair_sidecar(file)
            transaction.on_commit(lambda: _enqueue_parse(file.id))
            transaction.on_commit(lambda: metrics.count_upload(upload_method, file.size))
            if not file.md5:
                transaction.on_commit(lambda: _enqueue_checksums(file.id))
    except IntegrityError as exc:
        if not storage_key:
            storage.delete_blob(key)
        raise Conflict(f"A file named “{name}” already exists in this folder.", code="name_conflict") from exc
    except BaseException:
        if not storage_key:
            storage.delete_blob(key)
        raise
    return file


def _enqueue_parse(file_id: int) -> None:
    from .tasks import parse_file_task

    try:
        parse_file_task.delay(file_id)
    except Exception:  # the broker being down must not fail an upload that is already stored
        log.exception("could not queue parsing of file %s; it stays pending", file_id)


def _enqueue_index(file_id: int) -> None:
    from .tasks import index_file_task

    try:
        index_file_task.delay(file_id)
    except Exception:  # the sweep queues it again later
        log.exception("could not queue indexing of file %s; it stays pending", file_id)


def _enqueue_checksums(file_id: int) -> None:
    from .tasks import fill_checksums_task

    try:
        fill_checksums_task.delay(file_id)
    except Exception:
        log.exception("could not queue checksums of file %s", file_id)


def fill_checksums(file_id: int) -> File | None:
    """Compute the checksums a fast path left out (MD5 of tus uploads) from the stored bytes."""
    file = File.objects.filter(id=file_id).first()
    if file is None or (file.md5 and file.sha256):
        return file
    from .uploads import hash_file

    digest = hash_file(storage.path_for(file.storage_key))
    if file.sha256 and file.sha256 != digest.sha256:
        log.error("file %s: stored bytes no longer match their SHA-256", file.id)
        audit.record(None, "file.integrity_error", file, username="system", expected=file.sha256, actual=digest.sha256)
        return file
    File.objects.filter(id=file.id).update(md5=digest.md5, sha256=digest.sha256)
    file.refresh_from_db()
    return file


def update_file(file: File, *, actor: Any, autofilled: bool = False, **changes: Any) -> File:
    """Edit metadata, tags, description, name or level of a file. ``autofilled``: the values
    come from the app's own analysis (``ml_interface`` autotag), so the changed fields are
    marked in ``autofilled_fields`` instead of leaving it."""
    if "name" in changes:
        changes["name"] = normalise_name(changes["name"])
    if "name" in changes and changes["name"] != file.name:
        validate_object_name(changes["name"])
        _check_name_free(file.project, file.folder, changes["name"], exclude_id=file.id)
    if "tags" in changes:
        changes["tags"] = normalise_tags(changes["tags"])
    diff = _changes(file, changes)
    for field in SENSITIVE_FILE_FIELDS & set(diff):
        diff[field] = ["(encrypted)", "(encrypted)"]  # the audit trail is not encrypted
    for field, value in changes.items():
        setattr(file, field, value)
    if "access_level" in changes:
        file.effective_access_level = effective_level(file.project, file.folder, file.access_level)
    if autofilled:
        file.autofilled_fields = sorted({*(file.autofilled_fields or []), *(set(diff) & set(METADATA_FIELD_NAMES))})
    elif file.autofilled_fields and set(diff) & set(file.autofilled_fields):
        # A value a person typed is theirs from now on: a later parse no longer replaces it.
        file.autofilled_fields = [f for f in file.autofilled_fields if f not in diff]
    try:
        with transaction.atomic():
            file.save()
            if diff:
                audit.record(actor, "file.update", file, changes=diff)
    except IntegrityError as exc:
        raise Conflict(f"A file named “{file.name}” already exists in this folder.", code="name_conflict") from exc
    return file


def soft_delete_file(file: File, *, actor: Any, reason: str = "") -> File:
    """Move the file to the trash: hidden from every list and download, bytes kept. Its uploaded
    index (``sidecars``) goes with it, with the same deletion time (so a restore brings both)."""
    extra = {"reason": reason} if reason else {}
    with transaction.atomic():
        file.deleted_at = timezone.now()
        file.save(update_fields=["deleted_at", "updated_at"])
        audit.record(actor, "file.delete", file, sha256=file.sha256, size=file.size, **extra)
        for index in File.objects.alive().filter(index_of=file):
            index.deleted_at = file.deleted_at
            index.save(update_fields=["deleted_at", "updated_at"])
            audit.record(actor, "file.delete", index, sha256=index.sha256, size=index.size, index_of=file.id)
    return file


def move_file(
    file: File,
    *,
    actor: Any,
    project: Project,
    folder: Folder | None,
    on_conflict: OnConflict = OnConflict.REFUSE,
) -> File:
    """Move a file into ``folder`` (None: the project's root) of ``project``; its effective level
    follows the new place. Its uploaded index moves with it. The caller has checked that the
    actor may edit the file and upload into the target (the access policy's move rule)."""
    if folder is not None and folder.project_id != project.id:
        raise ValidationError({"folder": ["The folder belongs to another project."]})
    if file.project_id == project.id and file.folder_id == (folder.id if folder else None):
        return file
    name = file.name
    if on_conflict == OnConflict.KEEP_BOTH:
        name = free_name(project, folder, name)
    elif on_conflict == OnConflict.REFUSE:
        _check_name_free(project, folder, name)
    before = {"project": file.project_id, "folder": file.folder_id, "name": file.name}
    try:
        with transaction.atomic():
            if on_conflict == OnConflict.REPLACE:
                for old in File.objects.alive().filter(project=project, folder=folder, name=name).exclude(id=file.id):
                    soft_delete_file(old, actor=actor, reason="replaced")
            indexes = list(File.objects.alive().filter(index_of=file))
            for moved in [file, *indexes]:
                moved.project, moved.folder = project, folder
                if moved is file:
                    moved.name = name
                else:
                    moved.name = free_name(project, folder, moved.name)
                moved.effective_access_level = effective_level(project, folder, moved.access_level)
                moved.save(update_fields=["project", "folder", "name", "effective_access_level", "updated_at"])
            audit.record(
                actor,
                "file.move",
                file,
                source=before,
                target={"project": project.id, "folder": folder.id if folder else None, "name": name},
            )
            _pair_sidecar(file)
    except IntegrityError as exc:
        raise Conflict(f"A file named “{name}” already exists there.", code="name_conflict") from exc
    return file


def _pair_sidecar(file: File) -> None:
    """Link an index sidecar and its data file in the same folder (``sidecars.pair``); when a
    data file that was parsed without an index gains one, queue the index step, which then
    adopts the uploaded index instead of building one."""
    partner = sidecars.pair(file)
    data = partner if sidecars.is_index_name(file.name) else file if partner else None
    if data is None:
        return
    data.refresh_from_db(fields=["stats", "parse_status"])
    stats = dict(data.stats or {})
    if data.parse_status == ParseStatus.DONE and stats.get("format") in ("bam", "cram") and not stats.get("indexed"):
        if stats.get("index_status") != IndexStatus.RUNNING:
            stats.pop("index_error", None)
            File.objects.filter(id=data.id).update(stats={**stats, "index_status": IndexStatus.PENDING})
            transaction.on_commit(lambda: _enqueue_index(data.id))


# --- format extraction -----------------------------------------------------------------------


def parse_file(file_id: int) -> File | None:
    """Detect the format from the content, extract statistics with the registered parser and
    fill empty metadata fields from what it saw.

    ``parse_status`` goes pending → running (``parse_started_at`` set) → done, failed or
    skipped. A malformed file, or any unexpected error in a parser, ends as ``failed`` with a
    one-line ``parse_error``; the stored bytes are only ever read. A run that a newer run has
    superseded (the stale sweep re-queued it) does not write its result. When the stats say
    ``"index_status": "pending"`` (a coordinate-sorted BAM), ``index_file`` is queued next."""
    file = File.objects.filter(id=file_id).first()
    if file is None:
        return None
    started = timezone.now()
    File.objects.filter(id=file.id).update(
        parse_status=ParseStatus.RUNNING, parse_error="", parse_started_at=started, updated_at=started
    )
    path = storage.path_for(file.storage_key)
    updates: dict[str, Any] = {"parse_error": "", "stats": {}}
    hints: dict[str, Any] = {}
    fmt = ""
    try:
        fmt = registry.detect_format(path, file.name)
        parser = registry.parser_for(fmt) if fmt else None
        if parser is None:
            updates["parse_status"] = ParseStatus.SKIPPED
        else:
            budget = Budget(max_bytes=settings.BIOFM_PARSE_MAX_BYTES, max_seconds=settings.BIOFM_PARSE_MAX_SECONDS)
            with budget_scope(budget):
                stats = parser.parse(path)
            hints = stats.pop("_hints", None) or {}
            updates["stats"] = stats
            updates["parse_status"] = ParseStatus.DONE
    except ParseError as exc:
        updates["parse_status"] = ParseStatus.FAILED
        lines = str(exc).strip().splitlines()
        updates["parse_error"] = _one_line(lines[0]) if lines else "malformed file"
    except Exception as exc:  # a parser bug or an htslib surprise must not take the worker down
        log.exception("parsing file %s (%s) failed", file.id, fmt or "unknown format")
        updates["parse_status"] = ParseStatus.FAILED
        updates["parse_error"] = _one_line(f"could not read the file as {fmt or 'a known format'}: {exc}")

    filled: list[str] = []
    mates = _mates(file) if fmt == "fastq" else []
    if fmt:
        suggestions = autofill.suggest(fmt, updates["stats"], hints, file.name, mate_present=bool(mates))
        if updates["parse_status"] != ParseStatus.DONE:
            suggestions = {k: v for k, v in suggestions.items() if k == "file_format"}
        previous = set(file.autofilled_fields or [])
        for field, value in suggestions.items():
            current = getattr(file, field)
            if current in ("", None) or (field in previous and current != value):
                updates[field] = value
                filled.append(field)
        updates["autofilled_fields"] = sorted(previous | set(filled))
    updates["updated_at"] = timezone.now()
    written = File.objects.filter(id=file.id, parse_started_at=started).update(**updates)
    if written and updates.get("library_layout") == "paired":
        # The first mate was parsed alone; now that its pair is here it is paired too.
        for mate in mates:
            if not mate.library_layout:
                File.objects.filter(id=mate.id).update(
                    library_layout="paired", autofilled_fields=sorted({*mate.autofilled_fields, "library_layout"})
                )
    if written and updates["stats"].get("index_status") == IndexStatus.PENDING:
        transaction.on_commit(lambda: _enqueue_index(file.id))
    file.refresh_from_db()
    return file


def _mates(file: File) -> list[File]:
    """The other mate of a paired-end FASTQ in the same folder (``x_R1`` ↔ ``x_R2``), if present."""
    names = autofill.mate_names(file.name)
    if not names:
        return []
    return list(File.objects.alive().filter(project_id=file.project_id, folder_id=file.folder_id, name__in=names))


def index_file(file_id: int) -> File | None:
    """Build the index a parse left pending (``AlignmentParser.index``: ``<blob>.bai`` and the
    idxstats counts) and merge what it reports into ``stats``.

    ``index_status`` goes pending → running → done | failed; a failure is recorded in the stats
    (``index_error``, ``indexed: false``) and never touches ``parse_status``. Nothing is written
    when a newer parse has started since (its own follow-up does the work)."""
    file = File.objects.filter(id=file_id).first()
    if file is None:
        return None
    stats = dict(file.stats or {})
    if file.parse_status != ParseStatus.DONE or stats.get("index_status") not in (
        IndexStatus.PENDING,
        IndexStatus.RUNNING,
    ):
        return file
    run = File.objects.filter(id=file.id, parse_status=ParseStatus.DONE, parse_started_at=file.parse_started_at)
    if not run.update(stats={**stats, "index_status": IndexStatus.RUNNING}, updated_at=timezone.now()):
        return file
    path = storage.path_for(file.storage_key)
    fmt = ""
    update: dict[str, Any]
    try:
        fmt = registry.detect_format(path, file.name)
        indexer = getattr(registry.parser_for(fmt) if fmt else None, "index", None)
        if indexer is None:
            raise ParseError(f"files detected as {fmt or 'an unknown format'} are not indexed")
        uploaded = _adopt_uploaded_index(file, path)
        update = indexer(path, stats)
        if uploaded is not None:
            update.update(index_source="uploaded", index_file=uploaded.id)
    except ParseError as exc:
        lines = str(exc).strip().splitlines()
        update = {"index_error": _one_line(lines[0]) if lines else "no index could be built"}
    except Exception as exc:  # an htslib surprise: recorded, the parse stays done
        log.exception("indexing file %s (%s) failed", file.id, fmt or "unknown format")
        update = {"index_error": _one_line(f"no index could be built: {exc}")}
    if "index_error" in update:
        update.update(indexed=False, index_status=IndexStatus.FAILED)
    else:
        stats.pop("index_error", None)
    run.update(stats={**stats, **update}, updated_at=timezone.now())
    file.refresh_from_db()
    return file


def _adopt_uploaded_index(file: File, path: Any) -> File | None:
    """Put an uploaded index (``sidecars.index_for``) where the indexer looks for one
    (``<blob>.bai``/``.csi``/``.crai``, a hard link to the index's own blob, a copy across
    file systems), so that nothing is built. Returns the index file, or None."""
    import shutil

    index = sidecars.index_for(file)
    if index is None:
        return None
    suffix = "." + index.name.rsplit(".", 1)[-1].lower()
    target = f"{path}{suffix}"
    if os.path.exists(target):
        os.unlink(target)
    source = storage.path_for(index.storage_key)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return index


def _one_line(text: str, limit: int = 500) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def request_reparse(file: File, actor: Any) -> File:
    """Queue format extraction again (``POST /api/files/<id>/reparse/``)."""
    now = timezone.now()
    with transaction.atomic():
        File.objects.filter(id=file.id).update(
            parse_status=ParseStatus.PENDING, parse_error="", parse_started_at=None, updated_at=now
        )
        audit.record(actor, "file.reparse", file, previous_status=file.parse_status)
        transaction.on_commit(lambda: _enqueue_parse(file.id))
    file.refresh_from_db()
    return file


def requeue_stale_parses(older_than: timedelta | None = None, pending_older_than: timedelta | None = None) -> list[int]:
    """Re-queue extractions a dead worker left ``running`` (started before ``older_than`` ago,
    default ``BIOFM_PARSE_STALE_SECONDS``) and ``pending`` ones never picked up (untouched for
    ``BIOFM_PARSE_PENDING_SECONDS``). Returns the ids queued; the periodic sweep calls this."""
    now = timezone.now()
    if older_than is None:
        older_than = timedelta(seconds=settings.BIOFM_PARSE_STALE_SECONDS)
    if pending_older_than is None:
        pending_older_than = timedelta(seconds=settings.BIOFM_PARSE_PENDING_SECONDS)
    alive = File.objects.filter(deleted_at__isnull=True)
    running = alive.filter(parse_status=ParseStatus.RUNNING, parse_started_at__lte=now - older_than)
    pending = alive.filter(parse_status=ParseStatus.PENDING, updated_at__lte=now - pending_older_than)
    ids: list[int] = []
    for queryset in (running, pending):
        for file_id in list(queryset.values_list("id", flat=True)[:10000]):
            # Conditional update: a worker that just finished or started wins over the sweep.
            if queryset.filter(id=file_id).update(
                parse_status=ParseStatus.PENDING, parse_started_at=None, updated_at=now
            ):
                ids.append(file_id)
    for file_id in ids:
        log.warning("re-queueing the format extraction of file %s (stale)", file_id)
        _enqueue_parse(file_id)
    return ids


def requeue_stale_indexes(
    older_than: timedelta | None = None, pending_older_than: timedelta | None = None
) -> list[int]:
    """``requeue_stale_parses`` for the index follow-up: files whose ``stats.index_status`` is
    ``running`` (untouched for ``older_than``, default ``BIOFM_PARSE_STALE_SECONDS``) or
    ``pending`` (``BIOFM_PARSE_PENDING_SECONDS``) are queued again. Returns the ids queued."""
    now = timezone.now()
    if older_than is None:
        older_than = timedelta(seconds=settings.BIOFM_PARSE_STALE_SECONDS)
    if pending_older_than is None:
        pending_older_than = timedelta(seconds=settings.BIOFM_PARSE_PENDING_SECONDS)
    done = File.objects.filter(deleted_at__isnull=True, parse_status=ParseStatus.DONE)
    running = done.filter(stats__index_status=IndexStatus.RUNNING, updated_at__lte=now - older_than)
    pending = done.filter(stats__index_status=IndexStatus.PENDING, updated_at__lte=now - pending_older_than)
    ids: list[int] = []
    for queryset in (running, pending):
        for file_id in list(queryset.values_list("id", flat=True)[:10000]):
            # Touching updated_at claims the file: the next sweep leaves it alone for a while.
            if queryset.filter(id=file_id).update(updated_at=now):
                ids.append(file_id)
    for file_id in ids:
        log.warning("re-queueing the index build of file %s (stale)", file_id)
        _enqueue_index(file_id)
    return ids


# --- saved searches ----------------------------------------------------------------------------


def save_search(*, owner: Any, name: str, query: str = "") -> SavedSearch:
    """Save (or overwrite) the user's search called ``name``."""
    saved, _ = SavedSearch.objects.update_or_create(owner=owner, name=name.strip(), defaults={"query": query})
    return saved


def update_saved_search(saved: SavedSearch, **changes: Any) -> SavedSearch:
    for key, value in changes.items():
        setattr(saved, key, value.strip() if key == "name" else value)
    try:
        with transaction.atomic():
            saved.save()
    except IntegrityError as exc:
        raise Conflict(f"You already have a saved search called “{saved.name}”.", code="name_conflict") from exc
    return saved


def delete_saved_search(saved: SavedSearch) -> None:
    saved.delete()
