"""Data subject access requests: a zip of everything stored about one person.

``write_dsar_archive(user, target)`` writes ``account.json`` (login data, groups, token
metadata), ``profile.json`` (decrypted personal data), ``memberships.json`` (project roles and
access grants held), ``files.json`` (metadata of files they own, trashed ones included),
``uploads.json`` (resumable uploads), ``downloads.json`` (their downloads and signed links),
``audit_events.json`` (events they caused, and events about their account) and a README; with
``include_bytes`` also ``files/<id>__<name>`` with the bytes of their live files.

Nothing about other people goes in: events others caused about this account keep only time,
action and object (actor, address and user agent are withheld); other users' names in event
details are replaced; the encrypted sample fields (``notes``, ``donor_id``) of files are left
out because they describe research subjects, not the requester. Each export is audited.

Public surface: ``write_dsar_archive``, ``dsar_filename``.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from typing import Any, BinaryIO

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.utils import timezone

from . import audit
from .models import AccessGrant, AuditEvent, User, UserProfile

OTHER = "(another user)"
FILE_FIELDS_LEFT_OUT = {"notes", "donor_id", "storage_key", "owner", "autofilled_fields"}

README = """Personal data export for {username}, made {when} (UTC).

account.json        your account: login name, e-mail, names, dates, groups, API token metadata
profile.json        personal details (full name, phone, affiliation), stored encrypted
memberships.json    your roles in projects and the access grants you hold
files.json          metadata of the files you own (including ones in the trash)
uploads.json        resumable uploads you started
downloads.json      files you downloaded and download links you created
audit_events.json   the audit trail of what you did, and of changes others made to your account
                    (their identity withheld)
files/              the bytes of your files, when requested
"""


def dsar_filename(user: User) -> str:
    return f"dsar-{user.get_username()}-{timezone.now():%Y%m%d-%H%M%S}.zip"


def _dump(archive: zipfile.ZipFile, name: str, data: Any) -> None:
    archive.writestr(name, json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False))


def _scrub(value: Any, others: set[str]) -> Any:
    if isinstance(value, dict):
        return {key: _scrub(item, others) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, others) for item in value]
    if isinstance(value, str) and value in others:
        return OTHER
    return value


def _event(event: AuditEvent, user: User, others: set[str]) -> dict[str, Any]:
    own = event.actor_id == user.id
    about_people = event.object_type in {"user", "accessgrant", "projectmember", "projectgroup"}
    repr_is_other = about_people and not (event.object_type == "user" and event.object_id == str(user.id))
    return {
        "id": event.id,
        "timestamp": event.timestamp,
        "actor": event.actor_username if own else ("you" if event.actor_username == user.username else OTHER),
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object": OTHER if repr_is_other else _scrub(event.object_repr, others),
        "project_id": event.project_id,
        "ip": event.ip if own else None,
        "user_agent": event.user_agent if own else None,
        "details": _scrub(event.details, others) if own else {},
        "hash": event.hash,
    }


def _account(user: User) -> dict[str, Any]:
    from rest_framework.authtoken.models import Token

    token = Token.objects.filter(user=user).first()
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "api_token": {"exists": True, "created": token.created} if token else {"exists": False},
    }


def _profile(user: User) -> dict[str, Any]:
    profile = UserProfile.objects.filter(user=user).first()
    if profile is None:
        return {}
    return {
        "full_name": profile.full_name,
        "phone": profile.phone,
        "affiliation": profile.affiliation,
        "updated_at": profile.updated_at,
    }


def _memberships(user: User) -> dict[str, Any]:
    from file_upload.models import Project, ProjectMember

    return {
        "projects_owned": list(Project.objects.filter(owner=user).values("id", "name", "created_at")),
        "project_roles": [
            {"project_id": m.project_id, "project": m.project.name, "role": m.role}
            for m in ProjectMember.objects.filter(user=user).select_related("project")
        ],
        "grants_held": [
            {
                "object_type": g.object_type,
                "object": str(g.target),
                "project": g.project.name,
                "permission": g.permission,
                "created_at": g.created_at,
            }
            for g in AccessGrant.objects.filter(subject_user=user).select_related("project", "folder", "file")
        ],
    }


def _files(user: User) -> list[dict[str, Any]]:
    from file_upload.models import File

    rows = []
    for file in File.objects.filter(owner=user).select_related("project", "folder").order_by("id"):
        row = {
            field.name: getattr(file, field.attname)
            for field in File._meta.concrete_fields
            if field.name not in FILE_FIELDS_LEFT_OUT
        }
        row["project_name"] = file.project.name
        row["folder_path"] = file.folder.name_path if file.folder_id else "/"
        rows.append(row)
    return rows


def _uploads(user: User) -> list[dict[str, Any]]:
    from file_upload.models import Upload

    return list(
        Upload.objects.filter(owner=user).values(
            "id", "project_id", "filename", "length", "offset", "state", "file_id", "created_at", "expires_at"
        )
    )


def write_dsar_archive(user: User, target: BinaryIO, *, include_bytes: bool = False, actor: Any = None) -> None:
    """Write the zip for ``user`` to ``target`` (a file opened for binary writing)."""
    others = set(User.objects.exclude(pk=user.pk).values_list("username", flat=True))
    others |= {email for email in User.objects.exclude(pk=user.pk).values_list("email", flat=True) if email}
    own_events = Q(actor_id=user.id)
    about_account = Q(object_type="user", object_id=str(user.id))
    failed_sign_ins = Q(actor__isnull=True, actor_username=user.username, action__startswith="auth.")
    events = AuditEvent.objects.filter(own_events | about_account | failed_sign_ins).order_by("id")
    downloads = AuditEvent.objects.filter(actor_id=user.id, action__in=["file.download", "file.signed_url"])
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "README.txt", README.format(username=user.username, when=timezone.now().isoformat(timespec="seconds"))
        )
        _dump(archive, "account.json", _account(user))
        _dump(archive, "profile.json", _profile(user))
        _dump(archive, "memberships.json", _memberships(user))
        files = _files(user)
        _dump(archive, "files.json", files)
        _dump(archive, "uploads.json", _uploads(user))
        _dump(archive, "downloads.json", [_event(e, user, others) for e in downloads.order_by("id")])
        _dump(archive, "audit_events.json", [_event(e, user, others) for e in events.iterator()])
        if include_bytes:
            from file_upload import storage
            from file_upload.models import File

            for file in File.objects.alive().filter(owner=user).only("id", "name", "storage_key"):
                try:
                    source = storage.open_blob(file.storage_key)
                except FileNotFoundError:
                    continue
                with source, archive.open(f"files/{file.id}__{file.name}", "w", force_zip64=True) as member:
                    shutil.copyfileobj(source, member, storage.CHUNK_SIZE)
    audit.record(actor, "dsar.export", user, username="" if actor else "system", include_bytes=include_bytes)
