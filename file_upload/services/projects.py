"""Projects and their members: ``create_project``, ``update_project``, ``delete_project``,
``set_project_member``, ``remove_project_member``, ``project_usage``."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import Sum

from authentication import audit
from file_project.domain import Conflict

from ..models import (
    AccessLevel,
    File,
    Project,
    ProjectGroup,
    ProjectMember,
)
from .levels import changes_of, refresh_effective_levels
from .saving import saving_changes, unique_name

log = logging.getLogger(__name__)


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
    with unique_name(f"A project named “{name}” already exists."):
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
    return project


def update_project(project: Project, *, actor: Any, **changes: Any) -> Project:
    diff = changes_of(project, changes)
    for field, value in changes.items():
        setattr(project, field, value)
    taken = f"A project named “{project.name}” already exists."
    with saving_changes(project, actor=actor, action="project.update", diff=diff, taken=taken):
        if "access_level" in diff:
            refresh_effective_levels(project)
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
