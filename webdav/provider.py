"""The workspace as a WebDAV tree for WsgiDAV: ``/<project name>/<folder>/…/<file name>``.

Projects and folders are collections, files are resources. Every lookup starts from the gate's
querysets (``visible_projects``/``visible_folders``/``visible_files``), so what a user may not
see does not exist here (404, absent from PROPFIND); every change asks ``can(user, action,
obj)`` first (403 when it says no) and then calls a service, which audits it: PUT stores through
``store_file`` (hashing, name checks, parsing), MKCOL creates a folder, DELETE moves files to
the trash, MOVE renames or moves, COPY copies bytes and metadata.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import exceptions as drf_exceptions
from wsgidav import util
from wsgidav.dav_error import (
    HTTP_BAD_REQUEST,
    HTTP_CONFLICT,
    HTTP_FORBIDDEN,
    HTTP_INSUFFICIENT_STORAGE,
    DAVError,
)
from wsgidav.dav_provider import DAVCollection, DAVNonCollection, DAVProvider

from access.policy import Action, can, may_move, refused_in_tree, visible_files, visible_folders, visible_projects
from file_project.errors import Conflict, InsufficientStorage, PayloadTooLarge
from file_upload import services as file_services
from file_upload import storage
from file_upload.models import File, Folder, Project
from file_upload.privacy import require_consent
from file_upload.uploads import check_quota

from . import services


def _user(environ: dict[str, Any]) -> Any:
    return environ["biofm.user"]


def _message(exc: BaseException) -> str:
    if isinstance(exc, DjangoValidationError):
        return "; ".join(exc.messages)
    detail = getattr(exc, "detail", None)
    return str(detail if detail is not None else exc)


@contextlib.contextmanager
def _service_errors() -> Iterator[None]:
    """The services' errors as WebDAV status codes."""
    try:
        yield
    except Conflict as exc:
        raise DAVError(HTTP_CONFLICT, _message(exc)) from exc
    except (PayloadTooLarge, InsufficientStorage) as exc:
        raise DAVError(HTTP_INSUFFICIENT_STORAGE, _message(exc)) from exc
    except (PermissionDenied, drf_exceptions.PermissionDenied) as exc:
        raise DAVError(HTTP_FORBIDDEN, _message(exc)) from exc
    except (DjangoValidationError, drf_exceptions.ValidationError) as exc:
        raise DAVError(HTTP_BAD_REQUEST, _message(exc)) from exc


def _require(environ: dict[str, Any], action: Action, obj: Project | Folder | File) -> None:
    if not can(_user(environ), action, obj):
        raise DAVError(
            HTTP_FORBIDDEN, f"You don't have permission to {action.value} this {type(obj).__name__.lower()}."
        )


def _require_move(environ: dict[str, Any], obj: Folder | File, parent: FolderCollection) -> None:
    """The policy's move rule: upload rights on the target, manage rights when the move could
    loosen access to anything moved."""
    if not may_move(_user(environ), obj, parent.folder):
        raise DAVError(
            HTTP_FORBIDDEN,
            "Moving here needs upload rights on the target, and manage rights when it could open access.",
        )


def _stamp(value: Any) -> float | None:
    return value.timestamp() if value else None


class RootCollection(DAVCollection):
    """The projects the user may see."""

    def get_display_name(self) -> str:
        return "BioFileManager"

    def get_member_names(self) -> list[str]:
        return list(visible_projects(_user(self.environ)).order_by("name").values_list("name", flat=True))

    def get_member(self, name: str) -> Any:
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)

    def create_collection(self, name: str) -> None:
        raise DAVError(HTTP_FORBIDDEN, "Projects are created in the web app.")

    def create_empty_resource(self, name: str) -> None:
        raise DAVError(HTTP_FORBIDDEN, "Files live in projects: open a project first.")

    def support_recursive_delete(self) -> bool:
        return False

    def delete(self) -> None:
        raise DAVError(HTTP_FORBIDDEN)

    def support_recursive_move(self, dest_path: str) -> bool:
        return False

    def copy_move_single(self, dest_path: str, *, is_move: bool) -> None:
        raise DAVError(HTTP_FORBIDDEN)


class FolderCollection(DAVCollection):
    """A project's root (``folder`` None) or a folder."""

    def __init__(self, path: str, environ: dict[str, Any], project: Project, folder: Folder | None) -> None:
        super().__init__(path, environ)
        self.project = project
        self.folder = folder

    @property
    def target(self) -> Project | Folder:
        return self.folder or self.project

    def get_display_name(self) -> str:
        return self.target.name

    def get_creation_date(self) -> float | None:
        return _stamp(self.target.created_at)

    def get_last_modified(self) -> float | None:
        return _stamp(self.target.updated_at)

    def _children(self) -> tuple[list[Folder], list[File]]:
        user = _user(self.environ)
        folders = visible_folders(user).filter(project=self.project, parent=self.folder).order_by("name")
        files = visible_files(user).filter(project=self.project, folder=self.folder).order_by("name")
        return list(folders), list(files)

    def get_member_names(self) -> list[str]:
        folders, files = self._children()
        return [f.name for f in folders] + [f.name for f in files]

    def get_member_list(self) -> list[Any]:
        folders, files = self._children()
        members: list[Any] = [
            FolderCollection(util.join_uri(self.path, f.name), self.environ, self.project, f) for f in folders
        ]
        members += [FileResource(util.join_uri(self.path, f.name), self.environ, f) for f in files]
        return members

    def get_member(self, name: str) -> Any:
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)

    def create_empty_resource(self, name: str) -> Any:
        _require(self.environ, Action.UPLOAD, self.target)
        resource = NewFileResource(util.join_uri(self.path, name), self.environ, self.project, self.folder, name)
        if self.environ.get("REQUEST_METHOD") == "LOCK":
            resource.store_empty()  # LOCK on an unmapped URL creates an empty resource (RFC 4918 §7.3)
        return resource

    def create_collection(self, name: str) -> None:
        _require(self.environ, Action.UPLOAD, self.target)
        with _service_errors():
            file_services.create_folder(project=self.project, parent=self.folder, name=name, actor=_user(self.environ))

    def support_recursive_delete(self) -> bool:
        return True

    def delete(self) -> None:
        if self.folder is None:
            raise DAVError(HTTP_FORBIDDEN, "Projects are deleted in the web app.")
        user = _user(self.environ)
        refused = refused_in_tree(user, self.folder)
        if refused is not None:
            _require(self.environ, Action.DELETE, refused)
        with _service_errors():
            file_services.delete_folder(self.folder, actor=user)
        self.remove_all_properties(recursive=True)
        self.remove_all_locks(recursive=True)

    def _destination(self, dest_path: str) -> tuple[FolderCollection, str]:
        parent = self.provider.get_resource_inst(util.get_uri_parent(dest_path), self.environ)
        if not isinstance(parent, FolderCollection):
            raise DAVError(HTTP_CONFLICT, "The destination's parent is not a folder of a project.")
        return parent, util.get_uri_name(dest_path)

    def copy_move_single(self, dest_path: str, *, is_move: bool) -> None:
        """COPY of a folder (its members are copied one by one by WsgiDAV), or MOVE across projects."""
        if self.folder is None:
            raise DAVError(HTTP_FORBIDDEN, "Projects cannot be copied or moved.")
        parent, name = self._destination(dest_path)
        if self.provider.get_resource_inst(dest_path, self.environ) is None:
            parent.create_collection(name)
        if self.provider.prop_manager:
            self.provider.prop_manager.copy_properties(self.get_ref_url(), util.join_uri(dest_path, ""))

    def support_recursive_move(self, dest_path: str) -> bool:
        parent = self.provider.get_resource_inst(util.get_uri_parent(dest_path), self.environ)
        return self.folder is not None and isinstance(parent, FolderCollection) and parent.project.id == self.project.id

    def move_recursive(self, dest_path: str) -> None:
        assert self.folder is not None
        parent, name = self._destination(dest_path)
        _require(self.environ, Action.EDIT, self.folder)
        _require_move(self.environ, self.folder, parent)
        with _service_errors():
            file_services.update_folder(self.folder, actor=_user(self.environ), parent=parent.folder, name=name)
        if self.provider.prop_manager:
            self.provider.prop_manager.move_properties(self.get_ref_url(), dest_path, with_children=True)


class FileResource(DAVNonCollection):
    def __init__(self, path: str, environ: dict[str, Any], file: File) -> None:
        super().__init__(path, environ)
        self.file: File | None = file
        self.project, self.folder, self.name = file.project, file.folder, file.name
        self.body: services.PutBody | None = None

    def get_content_length(self) -> int:
        return int(self.file.size)

    def get_content_type(self) -> str:
        return self.file.content_type or "application/octet-stream"

    def get_creation_date(self) -> float | None:
        return _stamp(self.file.created_at)

    def get_last_modified(self) -> float | None:
        return _stamp(self.file.updated_at)

    def get_etag(self) -> str:
        return self.file.sha256 or f"{self.file.id}-{int(self.file.updated_at.timestamp())}"

    def support_etag(self) -> bool:
        return True

    def support_ranges(self) -> bool:
        return True

    def get_content(self) -> Any:
        """Bytes for WsgiDAV (GET of files is answered by ``file_download`` before WsgiDAV)."""
        _require(self.environ, Action.DOWNLOAD, self.file)
        return storage.open_blob(self.file.storage_key)

    def _check_put(self) -> None:
        user = _user(self.environ)
        length = int(self.environ.get("CONTENT_LENGTH") or 0)
        confirmed = self.environ.get("HTTP_X_BIOFM_CONSENT", "") == "confirmed"
        with _service_errors():
            check_quota(user, length, self.project)
            require_consent(user, self.project, confirmed, via="webdav", name=self.name)

    def begin_write(self, *, content_type: str | None = None) -> services.PutBody:
        if self.file is not None:
            _require(self.environ, Action.UPLOAD, self.folder or self.project)
            _require(self.environ, Action.DELETE, self.file)  # the old version goes to the trash
        self._check_put()
        self.body = services.PutBody()
        return self.body

    def end_write(self, *, with_errors: bool) -> None:
        assert self.body is not None
        if with_errors:
            self.body.discard()
            return
        with _service_errors():
            self.file = services.store_put(
                self.body,
                project=self.project,
                folder=self.folder,
                name=self.name,
                owner=_user(self.environ),
                replacing=self.file,
            )

    def delete(self) -> None:
        _require(self.environ, Action.DELETE, self.file)
        with _service_errors():
            file_services.soft_delete_file(self.file, actor=_user(self.environ))
        self.remove_all_properties(recursive=False)
        self.remove_all_locks(recursive=False)

    def _destination(self, dest_path: str) -> tuple[FolderCollection, str]:
        parent = self.provider.get_resource_inst(util.get_uri_parent(dest_path), self.environ)
        if not isinstance(parent, FolderCollection):
            raise DAVError(HTTP_CONFLICT, "The destination's parent is not a folder of a project.")
        return parent, util.get_uri_name(dest_path)

    def support_recursive_move(self, dest_path: str) -> bool:
        parent = self.provider.get_resource_inst(util.get_uri_parent(dest_path), self.environ)
        return isinstance(parent, FolderCollection) and parent.project.id == self.file.project_id

    def move_recursive(self, dest_path: str) -> None:
        """MOVE within the project: the same file, renamed and/or in another folder."""
        parent, name = self._destination(dest_path)
        _require(self.environ, Action.EDIT, self.file)
        _require_move(self.environ, self.file, parent)
        with _service_errors():
            services.move_file(self.file, actor=_user(self.environ), folder=parent.folder, name=name)
        if self.provider.prop_manager:
            self.provider.prop_manager.move_properties(self.get_ref_url(), dest_path, with_children=False)

    def copy_move_single(self, dest_path: str, *, is_move: bool) -> None:
        """COPY, or the copy half of a MOVE across projects (WsgiDAV then deletes the source,
        which sends it to the trash). Such a move is the move rule's "into another project":
        manage rights on the file, as from the web app."""
        parent, name = self._destination(dest_path)
        _require(self.environ, Action.UPLOAD, parent.target)
        _require(self.environ, Action.DOWNLOAD, self.file)
        if is_move:
            _require(self.environ, Action.MANAGE, self.file)
        existing = self.provider.get_resource_inst(dest_path, self.environ)
        if isinstance(existing, FileResource):  # COPY of a collection over one: files are overwritten
            _require(self.environ, Action.DELETE, existing.file)
        with _service_errors(), transaction.atomic():
            if isinstance(existing, FileResource):
                file_services.soft_delete_file(existing.file, actor=_user(self.environ))
            services.copy_file(
                self.file, actor=_user(self.environ), project=parent.project, folder=parent.folder, name=name
            )
        if self.provider.prop_manager:
            self.provider.prop_manager.copy_properties(self.get_ref_url(), dest_path)


class NewFileResource(FileResource):
    """The target of a PUT (or LOCK) whose name does not exist yet."""

    def __init__(self, path: str, environ: dict[str, Any], project: Project, folder: Folder | None, name: str) -> None:
        DAVNonCollection.__init__(self, path, environ)
        self.project, self.folder, self.name = project, folder, name
        self.file = None
        self.body = None

    def get_content_length(self) -> int:
        return int(self.file.size) if self.file else 0

    def get_etag(self) -> str:
        return super().get_etag() if self.file else ""

    def support_etag(self) -> bool:
        return self.file is not None

    def store_empty(self) -> None:
        self.body = self.begin_write()
        self.body.close()
        self.end_write(with_errors=False)


class WorkspaceProvider(DAVProvider):
    def get_resource_inst(self, path: str, environ: dict[str, Any]) -> Any:
        self._count_get_resource_inst += 1
        user = _user(environ)
        parts = [part for part in path.strip("/").split("/") if part]
        if not parts:
            return RootCollection("/", environ)
        project = visible_projects(user).filter(name=parts[0]).first()
        if project is None:
            return None
        folder: Folder | None = None
        for index, name in enumerate(parts[1:], start=2):
            child = visible_folders(user).filter(project=project, parent=folder, name=name).first()
            if child is not None:
                folder = child
                continue
            if index == len(parts):
                file = visible_files(user).filter(project=project, folder=folder, name=name).first()
                if file is not None:
                    return FileResource(path, environ, file)
            return None
        return FolderCollection(path, environ, project, folder)

    def resolve_file(self, path: str, user: Any) -> File | None:
        resource = self.get_resource_inst(path, {"biofm.user": user, "wsgidav.provider": self})
        return resource.file if isinstance(resource, FileResource) else None
