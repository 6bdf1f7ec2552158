"""The one access gate. Every path that lists, shows, downloads or changes a project, folder or
file asks this module: ``visible_projects``/``visible_folders``/``visible_files`` for querysets
and ``can(user, action, obj)`` for a single object.

Semantics (DESIGN.md, "Access control semantics"): public objects are visible to anyone,
internal ones to any signed-in user, restricted ones to the project's owner and members (users or
groups) and the file's owner. Superusers see everything. Roles: viewer = view + download;
editor = + upload, edit metadata, delete own files; owner = + change levels, delete anything.
Callers turn "not visible" into 404 and "visible but not allowed" into 403.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet

from file_upload.models import AccessLevel, File, Folder, Project, ProjectGroup, ProjectMember, Role


class Action(StrEnum):
    VIEW = "view"
    DOWNLOAD = "download"
    UPLOAD = "upload"  # add files or folders inside a project or folder
    EDIT = "edit"  # edit metadata, rename
    DELETE = "delete"
    MANAGE = "manage"  # change levels and memberships, delete the project


_ROLE_RANK = {None: 0, Role.VIEWER: 1, Role.EDITOR: 2, Role.OWNER: 3}


def _is_signed_in(user: Any) -> bool:
    return bool(user is not None and not isinstance(user, AnonymousUser) and user.is_authenticated)


def _member_project_ids(user: Any) -> QuerySet:
    by_user = ProjectMember.objects.filter(user=user).values("project_id")
    by_group = ProjectGroup.objects.filter(group__user=user).values("project_id")
    return Project.objects.filter(Q(owner=user) | Q(id__in=by_user) | Q(id__in=by_group)).values("id")


def _open_levels(user: Any) -> list[str]:
    if _is_signed_in(user):
        return [AccessLevel.PUBLIC, AccessLevel.INTERNAL]
    return [AccessLevel.PUBLIC]


def visible_projects(user: Any) -> QuerySet[Project]:
    if _is_signed_in(user) and user.is_superuser:
        return Project.objects.all()
    condition = Q(access_level__in=_open_levels(user))
    if _is_signed_in(user):
        condition |= Q(id__in=_member_project_ids(user))
    return Project.objects.filter(condition)


def visible_folders(user: Any) -> QuerySet[Folder]:
    return Folder.objects.filter(project__in=visible_projects(user).values("id"))


def visible_files(user: Any) -> QuerySet[File]:
    """Live (not deleted) files the user may see; the queryset every file path starts from."""
    files = File.objects.alive()
    if _is_signed_in(user) and user.is_superuser:
        return files
    condition = Q(effective_access_level__in=_open_levels(user))
    if _is_signed_in(user):
        condition |= Q(project_id__in=_member_project_ids(user)) | Q(owner=user)
    return files.filter(condition)


def project_role(user: Any, project: Project) -> str | None:
    """The user's strongest role in the project, directly or through a group."""
    if not _is_signed_in(user):
        return None
    if project.owner_id == user.id:
        return Role.OWNER
    roles = list(ProjectMember.objects.filter(project=project, user=user).values_list("role", flat=True))
    roles += list(ProjectGroup.objects.filter(project=project, group__user=user).values_list("role", flat=True))
    if not roles:
        return None
    return max(roles, key=lambda role: _ROLE_RANK[Role(role)])


def _project_of(obj: Project | Folder | File) -> Project:
    return obj if isinstance(obj, Project) else obj.project


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
    if not _is_signed_in(user):
        return False
    if user.is_superuser:
        return True
    rank = _ROLE_RANK[project_role(user, _project_of(obj))]
    if action in (Action.UPLOAD, Action.EDIT):
        return rank >= _ROLE_RANK[Role.EDITOR]
    if action == Action.DELETE:
        if isinstance(obj, File) and obj.owner_id == user.id and rank >= _ROLE_RANK[Role.EDITOR]:
            return True
        return rank >= _ROLE_RANK[Role.OWNER]
    return rank >= _ROLE_RANK[Role.OWNER]  # MANAGE
