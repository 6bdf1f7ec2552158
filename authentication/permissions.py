"""The one access gate. Every path that lists, searches, counts, shows, downloads or changes a
project, folder or file asks this module: ``visible_projects``/``visible_folders``/
``visible_files`` for querysets and ``can(user, action, obj)`` for one object.

Semantics (DESIGN.md, "Access control semantics"):
- public objects are visible to anyone, internal ones to any signed-in user, restricted ones
  only through a role or a grant; the level that counts is the object's *effective* level
  (its own unless ``inherit``, then its folders', then the project's), stored on the row;
- project roles (owner, editor, viewer; for users or groups) cover the whole project;
- ``AccessGrant`` rows (view, edit, manage; for users or groups) cover their object's subtree;
- a file's owner always sees it; superusers see everything;
- viewer/view = view + download; editor/edit = + upload, edit metadata, delete own files;
  owner/manage = + change levels, members and grants, delete anything.

Callers turn "not visible" into 404 and "visible but not allowed" into 403. Nothing here is
cached across requests, so a revoked grant or role takes effect on the next request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet

from file_upload.models import AccessLevel, File, Folder, Project, ProjectGroup, ProjectMember, Role

from .models import AccessGrant, Permission


class Action(StrEnum):
    VIEW = "view"
    DOWNLOAD = "download"
    UPLOAD = "upload"  # add files or folders inside a project or folder
    EDIT = "edit"  # edit metadata, rename, move
    DELETE = "delete"
    MANAGE = "manage"  # change levels, members and grants; delete the project


VIEWER, EDITOR, MANAGER = 1, 2, 3
_ROLE_RANK = {Role.VIEWER: VIEWER, Role.EDITOR: EDITOR, Role.OWNER: MANAGER}
_GRANT_RANK = {Permission.VIEW: VIEWER, Permission.EDIT: EDITOR, Permission.MANAGE: MANAGER}


def is_signed_in(user: Any) -> bool:
    return bool(user is not None and not isinstance(user, AnonymousUser) and user.is_authenticated)


def is_superuser(user: Any) -> bool:
    return is_signed_in(user) and bool(user.is_superuser)


def open_levels(user: Any) -> list[str]:
    """Levels everyone in the user's position sees without a role or grant."""
    return [AccessLevel.PUBLIC, AccessLevel.INTERNAL] if is_signed_in(user) else [AccessLevel.PUBLIC]


@dataclass
class _Reach:
    """What a signed-in user reaches through roles and grants (two queries)."""

    member_projects: QuerySet
    project_ids: set[int] = field(default_factory=set)
    folder_paths: list[str] = field(default_factory=list)  # tree paths of granted folders
    file_ids: set[int] = field(default_factory=set)
    ancestor_folder_ids: set[int] = field(default_factory=set)  # folders above granted objects


def _grants_q(user: Any) -> Q:
    return Q(subject_user=user) | Q(subject_group__user=user)


def _reach(user: Any) -> _Reach:
    by_user = ProjectMember.objects.filter(user=user).values("project_id")
    by_group = ProjectGroup.objects.filter(group__user=user).values("project_id")
    reach = _Reach(Project.objects.filter(Q(owner=user) | Q(id__in=by_user) | Q(id__in=by_group)).values("id"))
    grants = AccessGrant.objects.filter(_grants_q(user)).values_list(
        "object_type", "project_id", "folder__tree_path", "file_id", "file__folder__tree_path"
    )
    for object_type, project_id, folder_path, file_id, file_folder_path in grants:
        if object_type == "project":
            reach.project_ids.add(project_id)
        elif object_type == "folder":
            reach.folder_paths.append(folder_path)
            reach.ancestor_folder_ids.update(_ids_in(folder_path)[:-1])
        else:
            reach.file_ids.add(file_id)
            if file_folder_path:
                reach.ancestor_folder_ids.update(_ids_in(file_folder_path))
    return reach


def _ids_in(tree_path: str) -> list[int]:
    return [int(part) for part in tree_path.strip("/").split("/") if part]


def _subtree_q(paths: list[str], field_name: str) -> Q:
    condition = Q(pk__in=[])
    for path in paths:
        condition |= Q(**{f"{field_name}__startswith": path})
    return condition


def visible_files(user: Any) -> QuerySet[File]:
    """Live (not deleted) files the user may see: the queryset every file path starts from."""
    files = File.objects.alive()
    if is_superuser(user):
        return files
    condition = Q(effective_access_level__in=open_levels(user))
    if is_signed_in(user):
        reach = _reach(user)
        condition |= (
            Q(owner=user)
            | Q(project_id__in=reach.member_projects)
            | Q(project_id__in=reach.project_ids)
            | Q(id__in=reach.file_ids)
            | _subtree_q(reach.folder_paths, "folder__tree_path")
        )
    return files.filter(condition)


def visible_folders(user: Any) -> QuerySet[Folder]:
    """Folders the user may see; a grant deep in a tree also reveals the folders above it."""
    if is_superuser(user):
        return Folder.objects.all()
    condition = Q(effective_access_level__in=open_levels(user))
    if is_signed_in(user):
        reach = _reach(user)
        condition |= (
            Q(project_id__in=reach.member_projects)
            | Q(project_id__in=reach.project_ids)
            | Q(id__in=reach.ancestor_folder_ids)
            | _subtree_q(reach.folder_paths, "tree_path")
        )
    return Folder.objects.filter(condition)


def visible_projects(user: Any) -> QuerySet[Project]:
    """Projects the user may see: by level, role or grant, or because something inside is open."""
    if is_superuser(user):
        return Project.objects.all()
    levels = open_levels(user)
    open_inside = Exists(
        File.objects.alive().filter(project=OuterRef("pk"), effective_access_level__in=levels)
    ) | Exists(Folder.objects.filter(project=OuterRef("pk"), effective_access_level__in=levels))
    condition = Q(access_level__in=levels) | open_inside
    if is_signed_in(user):
        reach = _reach(user)
        granted = AccessGrant.objects.filter(_grants_q(user)).values("project_id")
        owns_inside = Exists(File.objects.alive().filter(project=OuterRef("pk"), owner=user))
        condition |= Q(id__in=reach.member_projects) | Q(id__in=granted) | owns_inside
    return Project.objects.filter(condition)


def project_role(user: Any, project: Project) -> str | None:
    """The user's strongest role in the project, directly or through a group."""
    if not is_signed_in(user):
        return None
    if project.owner_id == user.id:
        return Role.OWNER
    roles = list(ProjectMember.objects.filter(project=project, user=user).values_list("role", flat=True))
    roles += list(ProjectGroup.objects.filter(project=project, group__user=user).values_list("role", flat=True))
    return max(roles, key=lambda role: _ROLE_RANK[Role(role)]) if roles else None


def _project_of(obj: Project | Folder | File) -> Project:
    return obj if isinstance(obj, Project) else obj.project


def grants_covering(obj: Project | Folder | File) -> QuerySet[AccessGrant]:
    """Every grant whose subtree contains ``obj`` (on its project, an ancestor folder, itself)."""
    project = _project_of(obj)
    condition = Q(object_type="project", project=project)
    tree_path = ""
    if isinstance(obj, Folder):
        tree_path = obj.tree_path
    elif isinstance(obj, File):
        tree_path = obj.folder.tree_path if obj.folder_id else ""
        condition |= Q(object_type="file", file=obj)
    folder_ids = _ids_in(tree_path)
    if folder_ids:
        condition |= Q(object_type="folder", folder_id__in=folder_ids)
    return AccessGrant.objects.filter(condition)


def rank_on(user: Any, obj: Project | Folder | File) -> int:
    """0 (none), VIEWER, EDITOR or MANAGER: the strongest of the user's role and grants."""
    if not is_signed_in(user):
        return 0
    role = project_role(user, _project_of(obj))
    rank = _ROLE_RANK[Role(role)] if role else 0
    for permission in grants_covering(obj).filter(_grants_q(user)).values_list("permission", flat=True):
        rank = max(rank, _GRANT_RANK[Permission(permission)])
    return rank


def is_visible(user: Any, obj: Project | Folder | File) -> bool:
    if isinstance(obj, File):
        return visible_files(user).filter(pk=obj.pk).exists()
    if isinstance(obj, Folder):
        return visible_folders(user).filter(pk=obj.pk).exists()
    return visible_projects(user).filter(pk=obj.pk).exists()


def can(user: Any, action: Action | str, obj: Project | Folder | File) -> bool:
    action = Action(action)
    if not is_visible(user, obj):
        return False
    if action in (Action.VIEW, Action.DOWNLOAD):
        return True
    if not is_signed_in(user):
        return False
    if user.is_superuser:
        return True
    rank = rank_on(user, obj)
    if action in (Action.UPLOAD, Action.EDIT):
        return rank >= EDITOR
    if action == Action.DELETE:
        if isinstance(obj, File) and obj.owner_id == user.id and rank >= EDITOR:
            return True
        return rank >= MANAGER
    return rank >= MANAGER
