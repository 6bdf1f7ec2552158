"""The one access policy. Every rule about who may see or do what lives here, and every path
asks it: querysets through ``restrict(queryset, user, action)`` (what the models' restricting
managers call, ``Model.objects.restrict(user, action)``), one object through
``can(user, action, obj)``, and the rules that are easy to forget through small named
functions (``may_set_level``, ``may_move``, ``may_set_quota``, ``may_purge``, ``may_share``,
``audit_events``, ``visible_tasks``, ``task_result_for``, ``explain_access``). Views and
serializers never decide on their own; see docs/decisions/0003-gate-one-policy-module.md.

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

import functools
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from authentication.models import AccessGrant, Permission
from file_upload.models import AccessLevel, File, Folder, Project, ProjectGroup, ProjectMember, Role, more_open


class Action(StrEnum):
    NAVIGATE = "navigate"  # projects only: name and link, because something inside is visible
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

    member_projects: set[int]
    project_ids: set[int] = field(default_factory=set)
    folder_paths: list[str] = field(default_factory=list)  # tree paths of granted folders
    file_ids: set[int] = field(default_factory=set)
    ancestor_folder_ids: set[int] = field(default_factory=set)  # folders above granted objects
    # For ranks (``PermissionMemo``): the strongest role per project (owner included), and the
    # strongest grant per project, folder and file, as ``rank_on`` would find them.
    role_ranks: dict[int, int] = field(default_factory=dict)
    project_grant_ranks: dict[int, int] = field(default_factory=dict)
    folder_grant_ranks: dict[int, int] = field(default_factory=dict)
    file_grant_ranks: dict[int, int] = field(default_factory=dict)


def _grants_q(user: Any) -> Q:
    return Q(subject_user=user) | Q(subject_group__user=user)


# One read-only request asks for the same user's reach several times (the file list and its facet
# counts, say); VisibilityScopeMiddleware lets it be computed once per request. Writes never use
# it, so a grant changed by a request is seen by that same request.
_request_reaches: ContextVar[dict[int, _Reach] | None] = ContextVar("biofm_request_reaches", default=None)
# Likewise whether one object is visible to one user (asked by the lookup's check and again by
# the serializer's ``my_permissions``), within the same scope.
_request_visibility: ContextVar[dict[tuple[Any, str, int], bool] | None] = ContextVar(
    "biofm_request_visibility", default=None
)


class VisibilityScopeMiddleware:
    """Keeps each user's reach for the length of one GET/HEAD/OPTIONS request."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            return self.get_response(request)
        with read_scope():
            return self.get_response(request)


class read_scope:  # noqa: N801 (used like a function: ``with read_scope():``)
    """Within the block each user's reach, and whether they see an object, are worked out once:
    for a read-only request, and for the checks a writing request makes before it writes
    anything (a write must not run inside, as it would not see a grant it changed). Nothing
    outlives the block."""

    def __enter__(self) -> None:
        self._tokens = None
        if _request_reaches.get() is None:
            self._tokens = (_request_reaches.set({}), _request_visibility.set({}))

    def __exit__(self, *exc_info: Any) -> None:
        if self._tokens is not None:
            _request_reaches.reset(self._tokens[0])
            _request_visibility.reset(self._tokens[1])


def _reach(user: Any) -> _Reach:
    cache = _request_reaches.get()
    if cache is not None and user.pk in cache:
        return cache[user.pk]
    reach = _compute_reach(user)
    if cache is not None:
        cache[user.pk] = reach
    return reach


@functools.cache
def _reach_sql() -> tuple[str, str]:
    """The two reach queries, written out: every request of a signed-in user runs them, and
    compiling their ORM form cost more than running them."""
    user_groups = get_user_model()._meta.get_field("groups").remote_field.through._meta.db_table
    tables = {
        "project": Project._meta.db_table,
        "member": ProjectMember._meta.db_table,
        "pgroup": ProjectGroup._meta.db_table,
        "grant": AccessGrant._meta.db_table,
        "folder": Folder._meta.db_table,
        "file": File._meta.db_table,
        "user_groups": user_groups,
    }
    projects = (
        "SELECT id, 'owner' FROM {project} WHERE owner_id = %s"
        " UNION SELECT project_id, role FROM {member} WHERE user_id = %s"
        " UNION SELECT g.project_id, g.role FROM {pgroup} g JOIN {user_groups} ug ON ug.group_id = g.group_id"
        " WHERE ug.user_id = %s"
    ).format(**tables)
    grants = (
        "SELECT a.object_type, a.project_id, f.tree_path, a.file_id, ff.tree_path, a.folder_id, a.permission"
        " FROM {grant} a"
        " LEFT JOIN {folder} f ON f.id = a.folder_id"
        " LEFT JOIN {file} fl ON fl.id = a.file_id"
        " LEFT JOIN {folder} ff ON ff.id = fl.folder_id"
        " WHERE a.subject_user_id = %s"
        " OR a.subject_group_id IN (SELECT group_id FROM {user_groups} WHERE user_id = %s)"
    ).format(**tables)
    return projects, grants


def _compute_reach(user: Any) -> _Reach:
    """Projects the user owns or holds a role in (directly or through a group), and their grants
    (``_grants_q``): the same rules as the querysets elsewhere in this module."""
    projects_sql, grants_sql = _reach_sql()
    with connection.cursor() as cursor:
        cursor.execute(projects_sql, [user.pk] * 3)
        roles = cursor.fetchall()
        cursor.execute(grants_sql, [user.pk] * 2)
        grants = cursor.fetchall()
    reach = _Reach({project_id for project_id, _ in roles})
    for project_id, role in roles:
        _raise(reach.role_ranks, project_id, _ROLE_RANK[Role(role)])
    for object_type, project_id, folder_path, file_id, file_folder_path, folder_id, permission in grants:
        rank = _GRANT_RANK[Permission(permission)]
        if object_type == "project":
            reach.project_ids.add(project_id)
            _raise(reach.project_grant_ranks, project_id, rank)
        elif object_type == "folder":
            reach.folder_paths.append(folder_path)
            reach.ancestor_folder_ids.update(_ids_in(folder_path)[:-1])
            _raise(reach.folder_grant_ranks, folder_id, rank)
        else:
            reach.file_ids.add(file_id)
            _raise(reach.file_grant_ranks, file_id, rank)
            if file_folder_path:
                reach.ancestor_folder_ids.update(_ids_in(file_folder_path))
    return reach


def _raise(ranks: dict[int, int], key: int, rank: int) -> None:
    if rank > ranks.get(key, 0):
        ranks[key] = rank


def _ids_in(tree_path: str) -> list[int]:
    return [int(part) for part in tree_path.strip("/").split("/") if part]


def _subtree_q(paths: list[str], field_name: str) -> Q:
    condition = Q(pk__in=[])
    for path in paths:
        condition |= Q(**{f"{field_name}__startswith": path})
    return condition


@dataclass
class FileVisibility:
    """The rule of ``visible_files`` as data, for readers that are not querysets (the in-memory
    search index): a live file is visible when ``everything`` is set, or its effective level is
    in ``levels``, its project in ``projects``, its owner is ``owner_id``, its id in
    ``file_ids``, or its folder lies under one of ``folder_paths``."""

    everything: bool = False
    levels: list[str] = field(default_factory=list)
    projects: set[int] = field(default_factory=set)
    owner_id: int | None = None
    file_ids: set[int] = field(default_factory=set)
    folder_paths: list[str] = field(default_factory=list)


def _personal_q(rule: FileVisibility) -> Q:
    """Files a user sees as a person, whatever their level: own files and granted ones."""
    return Q(owner_id=rule.owner_id) | Q(id__in=rule.file_ids) | _subtree_q(rule.folder_paths, "folder__tree_path")


def file_visibility(user: Any) -> FileVisibility:
    if is_superuser(user):
        return FileVisibility(everything=True)
    rule = FileVisibility(levels=open_levels(user))
    if is_signed_in(user):
        reach = _reach(user)
        rule.projects = reach.member_projects | reach.project_ids
        rule.owner_id = user.pk
        rule.file_ids = set(reach.file_ids)
        rule.folder_paths = list(reach.folder_paths)
    return rule


def visible_files(user: Any) -> QuerySet[File]:
    """Live (not deleted) files the user may see: the queryset every file path starts from."""
    files = File.objects.alive()
    rule = file_visibility(user)
    if rule.everything:
        return files
    condition = Q(effective_access_level__in=rule.levels)
    if rule.owner_id is not None:
        condition |= Q(project_id__in=rule.projects) | _personal_q(rule)
    return files.filter(condition)


def trashed_files(user: Any) -> QuerySet[File]:
    """Soft-deleted files the user may list, restore or purge from the trash: staff see every
    one; others the files they own and those in projects they manage. Everyone else gets 404."""
    files = File.objects.filter(deleted_at__isnull=False)
    if not is_signed_in(user):
        return files.none()
    if user.is_superuser or user.is_staff:
        return files
    return files.filter(Q(owner=user) | Q(project_id__in=managed_project_ids(user)))


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


def viewable_projects(user: Any) -> QuerySet[Project]:
    """Projects the user sees in full (description, owner, members, rules): by the project's own
    level, a role, or a grant on the project itself."""
    rule = _project_view_rule(user)
    if rule is None:
        return Project.objects.all()
    levels, project_ids = rule
    condition = Q(access_level__in=levels)
    if project_ids:
        condition |= Q(id__in=project_ids)
    return Project.objects.filter(condition)


def _project_view_rule(user: Any) -> tuple[list[str], set[int]] | None:
    """``viewable_projects``' rule as data: ``None`` (every project), or the levels anyone in
    the user's position sees and the projects they hold a role or a project grant in."""
    if is_superuser(user):
        return None
    if not is_signed_in(user):
        return open_levels(user), set()
    reach = _reach(user)
    return open_levels(user), reach.member_projects | reach.project_ids


def visible_projects(user: Any) -> QuerySet[Project]:
    """Projects the user may at least navigate to: the ``viewable_projects``, plus those seen
    from outside because something inside is visible to the user (a public or internal file or
    folder, a grant deep inside, an own file). Seen from outside, a project shows its name and
    link only (``sees_project_fully`` tells which)."""
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


def sees_project_fully(user: Any, project: Project) -> bool:
    """``viewable_projects``' rule for one project, from the project's level and the user's
    reach (no query of its own in a ``read_scope``, where a listing of projects asks it)."""
    rule = _project_view_rule(user)
    if rule is None:
        return True
    levels, project_ids = rule
    return project.access_level in levels or project.pk in project_ids


_RANK_ROLE = {rank: role for role, rank in _ROLE_RANK.items()}


def project_role(user: Any, project: Project) -> str | None:
    """The user's strongest role in the project, directly or through a group (the owner's is
    ``owner``), from their reach."""
    if not is_signed_in(user):
        return None
    if project.owner_id == user.id:
        return Role.OWNER
    rank = _reach(user).role_ranks.get(project.pk, 0)
    return _RANK_ROLE[rank] if rank else None


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
    if isinstance(obj, Project):
        return _rank_in(_reach(user), obj, "")
    return _rank_in(_reach(user), obj, obj.tree_path if isinstance(obj, Folder) else _folder_path(obj))


# What the permissions of a file read of its folder (``_folder_path``, ``PermissionMemo``): a
# listing may load its files' folders with these fields alone.
FOLDER_FIELDS_FOR_FILE_PERMISSIONS = ("tree_path",)


def _folder_path(file: File) -> str:
    return file.folder.tree_path if file.folder_id else ""


def _rank_in(reach: _Reach, obj: Project | Folder | File, tree_path: str) -> int:
    """The strongest of the user's role in the object's project and their grants on the
    project, on the folders of ``tree_path`` (the object's own, or its folder's) and on the
    file, from their reach: the one rule behind ``rank_on`` and ``PermissionMemo``."""
    project_id = obj.pk if isinstance(obj, Project) else obj.project_id
    rank = max(reach.role_ranks.get(project_id, 0), reach.project_grant_ranks.get(project_id, 0))
    if reach.folder_grant_ranks:
        for folder_id in _ids_in(tree_path):
            rank = max(rank, reach.folder_grant_ranks.get(folder_id, 0))
    if isinstance(obj, File):
        rank = max(rank, reach.file_grant_ranks.get(obj.pk, 0))
    return rank


def is_visible(user: Any, obj: Project | Folder | File) -> bool:
    """Whether ``obj`` exists for the user at all (for a project: at least from outside)."""
    seen = _request_visibility.get()
    if seen is None or obj.pk is None:
        return _is_visible(user, obj)
    key = (getattr(user, "pk", None), type(obj).__name__, obj.pk)  # anonymous (or None): None
    if key not in seen:
        seen[key] = _is_visible(user, obj)
    return seen[key]


def _is_visible(user: Any, obj: Project | Folder | File) -> bool:
    if isinstance(obj, File):
        return visible_files(user).filter(pk=obj.pk).exists()
    if isinstance(obj, Folder):
        return visible_folders(user).filter(pk=obj.pk).exists()
    return visible_projects(user).filter(pk=obj.pk).exists()


def can(user: Any, action: Action | str, obj: Project | Folder | File) -> bool:
    action = Action(action)
    if not is_visible(user, obj):
        return False
    return _allowed(user, action, obj, lambda: rank_on(user, obj))


def _allowed(user: Any, action: Action, obj: Project | Folder | File, rank: Callable[[], int]) -> bool:
    """The rules of ``can`` for an object the user sees; ``rank`` is asked only when needed."""
    if action == Action.NAVIGATE:
        return True
    if isinstance(obj, Project) and not sees_project_fully(user, obj):
        return False  # seen from outside: name and link, nothing else
    if action in (Action.VIEW, Action.DOWNLOAD):
        return True
    if not is_signed_in(user):
        return False
    if user.is_superuser:
        return True
    strength = rank()
    if action in (Action.UPLOAD, Action.EDIT):
        return strength >= EDITOR
    if action == Action.DELETE:
        if isinstance(obj, File) and obj.owner_id == user.id and strength >= EDITOR:
            return True
        return strength >= MANAGER
    return strength >= MANAGER


class PermissionMemo:
    """Ranks and permissions worked out for one user while one response is written: the same
    rules as ``rank_on``, answered from the user's reach (``_reach``: their roles and grants,
    read once for the response, or once per read-only request) instead of asking the database
    per object, so a page costs the same few queries however many folders and projects it
    spans. The files of a listing that sit in the same folder (and hold no grant of their own)
    share their permissions (per whether the user owns the file: owners may delete with an
    editor's rank). Lives for one response only, never across requests, so a revoked role or
    grant shows on the next request."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self.permissions: dict[tuple[str, int, bool], list[str]] = {}
        self._reach: _Reach | None = None
        self._paths: dict[int, str] = {}

    def reach(self) -> _Reach:
        if self._reach is None:
            self._reach = _reach(self.user) if is_signed_in(self.user) else _Reach(set())
        return self._reach

    def shared_key(self, obj: Project | Folder | File) -> tuple[str, int, bool] | None:
        """The key under which a listed file's permissions equal its folder-mates' (None for
        anything else, which is worked out on its own)."""
        if not isinstance(obj, File) or obj.pk in self.reach().file_grant_ranks:
            return None
        owner = obj.owner_id == getattr(self.user, "id", None)
        return ("folder", obj.folder_id, owner) if obj.folder_id else ("project", obj.project_id, owner)

    def rank(self, obj: Project | Folder | File) -> int:
        """``rank_on(user, obj)``: the strongest of the user's role in the object's project, their
        grants on the project, on the folders above the object (and on itself) and on the file."""
        if not is_signed_in(self.user):
            return 0
        return _rank_in(self.reach(), obj, self._tree_path(obj))

    def _tree_path(self, obj: Project | Folder | File) -> str:
        """The folder's own path, or the file's folder's ("" at the project root); a listing's
        queryset selects the folders, so this reads no row."""
        if isinstance(obj, Project):
            return ""
        if isinstance(obj, Folder):
            return obj.tree_path
        if not obj.folder_id:
            return ""
        if obj.folder_id not in self._paths:
            self._paths[obj.folder_id] = obj.folder.tree_path
        return self._paths[obj.folder_id]


def refused_in_tree(user: Any, folder: Folder) -> Folder | File | None:
    """Deleting a folder takes everything under it to the trash: the first object of the subtree
    (the folder, its subfolders, its live files) the user may not delete, or None. The rules of
    ``can``, asked in a number of queries that does not grow with the files: what the user sees
    in two, ranks once per folder (``PermissionMemo``)."""
    subtree = Folder.objects.filter(project_id=folder.project_id, tree_path__startswith=folder.tree_path)
    files = File.objects.alive().filter(folder__in=subtree)
    with read_scope():  # checks before the deletion writes anything
        seen = {
            Folder: set(visible_folders(user).filter(id__in=subtree.values("id")).values_list("id", flat=True)),
            File: set(visible_files(user).filter(id__in=files.values("id")).values_list("id", flat=True)),
        }
        memo = PermissionMemo(user)
        for obj in [*subtree.order_by("tree_path"), *files.select_related("project", "folder")]:
            if obj.pk not in seen[type(obj)] or not _allowed(user, Action.DELETE, obj, lambda obj=obj: memo.rank(obj)):
                return obj
    return None


def permissions_on(
    user: Any, obj: Project | Folder | File, *, visible: bool | None = None, memo: PermissionMemo | None = None
) -> list[str]:
    """Every action of ``can`` the user may take on ``obj``, with the visibility and the rank
    asked once. ``visible=True`` when the object comes from one of the visible querysets."""
    if not (visible if visible is not None else is_visible(user, obj)):
        return []
    if memo is not None and memo.user is user and (key := memo.shared_key(obj)) is not None:
        if key not in memo.permissions:
            memo.permissions[key] = _permissions(user, obj, memo.rank)
        return list(memo.permissions[key])
    rank_of = memo.rank if memo is not None and memo.user is user else functools.partial(rank_on, user)
    return _permissions(user, obj, rank_of)


def _permissions(user: Any, obj: Project | Folder | File, rank_of: Callable[[Any], int]) -> list[str]:
    cached: list[int] = []

    def rank() -> int:
        if not cached:
            cached.append(rank_of(obj))
        return cached[0]

    return [action.value for action in Action if action != Action.NAVIGATE and _allowed(user, action, obj, rank)]


# --- cellxgene viewers (cellxgene_bridge) ------------------------------------------------------


def can_publish(user: Any, file: File) -> bool:
    """Sending a file to a cellxgene viewer needs view rights on it."""
    return can(user, Action.VIEW, file)


def can_view_viewer(user: Any, file: File) -> bool:
    """A viewer answers whoever may view its file now (asked on every proxied request)."""
    return can(user, Action.VIEW, file)


def can_stop_viewer(user: Any, file: File, requested_by_id: int | None) -> bool:
    """Stopping a viewer: staff, or whoever published it (while they may still view the file),
    or someone with manage rights on the file."""
    if not is_signed_in(user):
        return False
    if user.is_staff or user.is_superuser:
        return True
    if requested_by_id == user.pk and can(user, Action.VIEW, file):
        return True
    return can(user, Action.MANAGE, file)


# --- "why can X see this?" ---------------------------------------------------------------------

_LEVEL_WORDS = {
    AccessLevel.PUBLIC: "Anyone, including visitors who are not signed in",
    AccessLevel.INTERNAL: "Every signed-in user",
}
_RANK_NAMES = {0: "none", VIEWER: "view", EDITOR: "edit", MANAGER: "manage"}


def _node(obj: Project | Folder | File) -> dict[str, Any]:
    return {"type": obj._meta.model_name, "id": obj.pk, "name": obj.name, "access_level": obj.access_level}


def access_chain(obj: Project | Folder | File) -> list[dict[str, Any]]:
    """The object, its folders from the nearest up, and the project, with each one's own level."""
    chain = [_node(obj)]
    folder = obj.folder if isinstance(obj, File) else obj if isinstance(obj, Folder) else None
    if folder is not None:
        ids = _ids_in(folder.tree_path)[:-1]
        by_id = Folder.objects.in_bulk(ids)
        folders = [*(by_id[i] for i in ids if i in by_id), folder]
        if isinstance(obj, Folder):
            folders = folders[:-1]
        chain += [_node(f) for f in reversed(folders)]
    if not isinstance(obj, Project):
        chain.append(_node(_project_of(obj)))
    return chain


def _where(node: dict[str, Any]) -> str:
    return f"{node['type']} “{node['name']}”"


def explain_access(obj: Project | Folder | File, check_user: Any = None, reader: Any = None) -> dict[str, Any]:
    """Effective level, where it comes from, and every rule that lets someone see ``obj``;
    with ``check_user``, whether that user sees it and through which rules. A ``reader`` who
    sees the project only from outside gets the rules that concern them and the level, and
    the chain without the names of folders they cannot see."""
    result = _explain_access(obj, check_user)
    if reader is None or sees_project_fully(reader, _project_of(obj)):
        return result
    return _as_seen_from_outside(result, reader)


def _as_seen_from_outside(result: dict[str, Any], reader: Any) -> dict[str, Any]:
    folder_ids = [node["id"] for node in result["chain"] if node["type"] == "folder"]
    seen = set(visible_folders(reader).filter(id__in=folder_ids).values_list("id", flat=True))

    def shown(node: dict[str, Any]) -> dict[str, Any]:
        if node["type"] == "folder" and node["id"] not in seen:
            return {"type": "folder", "id": None, "name": None, "access_level": node["access_level"]}
        if node["type"] == "project":  # seen from outside: name and link, not its level
            return {**node, "access_level": None}
        return node

    username = reader.get_username() if is_signed_in(reader) else None
    groups = set(reader.groups.values_list("name", flat=True)) if username else set()
    rules = []
    for rule in result["rules"]:
        if rule["kind"] == "level":
            source = shown(result["source"])
            where = f"{source['type']} “{source['name']}”" if source["name"] else "a folder above"
            effective = result["effective_access_level"]
            rule = {**rule, "via": {k: source[k] for k in ("type", "id", "name")}}
            rule["description"] = f"{_LEVEL_WORDS[AccessLevel(effective)]} ({effective}, from {where})"
            rules.append(rule)
        elif rule["kind"] != "superuser" and (
            (rule["subject_type"] == "user" and rule.get("subject") == username)
            or (rule["subject_type"] == "group" and rule.get("subject") in groups)
        ):
            rules.append(rule)
    shown_descriptions = {rule["description"] for rule in result["rules"] if rule in rules}
    outside = {**result, "chain": [shown(node) for node in result["chain"]], "source": shown(result["source"])}
    outside["rules"] = rules
    if "check" in result:
        reasons = [r for r in result["check"]["reasons"] if r in shown_descriptions]
        outside["check"] = {**result["check"], "reasons": reasons}
    return outside


def _explain_access(obj: Project | Folder | File, check_user: Any = None) -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    project = _project_of(obj)
    chain = access_chain(obj)
    source = next(node for node in chain if node["access_level"] != "inherit")
    effective = source["access_level"]
    via = "set on" if source is chain[0] else "inherited from"
    rules: list[dict[str, Any]] = []
    if effective in _LEVEL_WORDS:
        rules.append(
            {
                "kind": "level",
                "subject_type": "everyone" if effective == AccessLevel.PUBLIC else "signed_in",
                "description": f"{_LEVEL_WORDS[effective]} ({effective}, {via} {_where(source)})",
                "via": {k: source[k] for k in ("type", "id", "name")},
            }
        )
    superusers = list(
        get_user_model().objects.filter(is_superuser=True, is_active=True).values_list("username", flat=True)
    )
    if superusers:
        rules.append(
            {
                "kind": "superuser",
                "subject_type": "user",
                "subject": ", ".join(superusers),
                "description": f"Superusers: {', '.join(superusers)}",
            }
        )
    if isinstance(obj, File):
        rules.append(
            {
                "kind": "owner",
                "subject_type": "user",
                "subject": obj.owner.get_username(),
                "description": f"The file's owner, {obj.owner.get_username()}",
            }
        )
    rules.append(
        {
            "kind": "project_owner",
            "subject_type": "user",
            "subject": project.owner.get_username(),
            "role": Role.OWNER,
            "description": f"The project's owner, {project.owner.get_username()}",
        }
    )
    for member in ProjectMember.objects.filter(project=project).select_related("user"):
        rules.append(
            {
                "kind": "member",
                "subject_type": "user",
                "subject": member.user.get_username(),
                "role": member.role,
                "description": f"{member.user.get_username()}, {member.role} of project “{project.name}”",
            }
        )
    for member in ProjectGroup.objects.filter(project=project).select_related("group"):
        rules.append(
            {
                "kind": "group_member",
                "subject_type": "group",
                "subject": member.group.name,
                "role": member.role,
                "description": f"Members of group {member.group.name}, {member.role} of project “{project.name}”",
            }
        )
    for grant in grants_covering(obj).select_related("subject_user", "subject_group", "folder", "file", "project"):
        target = grant.target
        subject = grant.subject_user.get_username() if grant.subject_user_id else grant.subject_group.name
        who = subject if grant.subject_user_id else f"Members of group {subject}"
        rules.append(
            {
                "kind": "grant",
                "subject_type": "user" if grant.subject_user_id else "group",
                "subject": subject,
                "permission": grant.permission,
                "via": {"type": grant.object_type, "id": target.pk, "name": target.name},
                "description": f"{who} can {grant.permission} (granted on {grant.object_type} “{target.name}”)",
            }
        )
    result: dict[str, Any] = {
        "object_type": obj._meta.model_name,
        "object": obj.pk,
        "name": obj.name,
        "access_level": obj.access_level,
        "effective_access_level": effective,
        "source": source,
        "chain": chain,
        "rules": rules,
    }
    if check_user is not None:
        result["check"] = _check(check_user, obj, rules)
    return result


def _check(user: Any, obj: Project | Folder | File, rules: list[dict[str, Any]]) -> dict[str, Any]:
    visible = is_visible(user, obj)
    rank = MANAGER if is_superuser(user) else rank_on(user, obj)
    if visible and rank == 0:
        rank = VIEWER
    username = user.get_username()
    groups = set(user.groups.values_list("name", flat=True))
    reasons = []
    for rule in rules:
        applies = (
            rule["subject_type"] == "everyone"
            or (rule["subject_type"] == "signed_in" and is_signed_in(user))
            or (rule["kind"] == "superuser" and user.is_superuser)
            or (rule["subject_type"] == "user" and rule.get("subject") == username and rule["kind"] != "superuser")
            or (rule["subject_type"] == "group" and rule.get("subject") in groups)
        )
        if applies:
            reasons.append(rule["description"])
    return {
        "user": username,
        "visible": visible,
        "rank": _RANK_NAMES[rank] if visible else "none",
        "reasons": reasons if visible else [],
    }


def managed_project_ids(user: Any) -> QuerySet:
    """Projects the user owns or manages (owner role directly or through a group, or a manage
    grant on the project)."""
    owner_roles = ProjectMember.objects.filter(user=user, role=Role.OWNER).values("project_id")
    group_roles = ProjectGroup.objects.filter(group__user=user, role=Role.OWNER).values("project_id")
    manage_grants = AccessGrant.objects.filter(
        _grants_q(user), object_type="project", permission=Permission.MANAGE
    ).values("project_id")
    return Project.objects.filter(
        Q(owner=user) | Q(id__in=owner_roles) | Q(id__in=group_roles) | Q(id__in=manage_grants)
    ).values("id")


# --- the rules that are easy to forget ---------------------------------------------------------


def is_staff(user: Any) -> bool:
    """Staff operate the service (quotas, the trash, metrics, the audit trail, the admin site);
    they see data only as any other user would. Superusers see and may do everything."""
    return is_signed_in(user) and bool(user.is_staff or user.is_superuser)


def may_set_level(user: Any, obj: Project | Folder | File, level: str | None) -> bool:
    """Setting or changing an access level is a manager's act, at creation too: ``obj`` is the
    object whose level changes, or for a new folder or file the folder or project it goes into.
    Editors create with ``inherit`` (or nothing, which means the same)."""
    if level in (None, "", "inherit"):
        return True
    return can(user, Action.MANAGE, obj)


def _grant_ids_over(project: Project, folder: Folder | None) -> set[int]:
    """Grants whose subtree contains everything placed in ``folder`` (or the project root)."""
    condition = Q(object_type="project", project=project)
    ids = _ids_in(folder.tree_path) if folder is not None else []
    if ids:
        condition |= Q(object_type="folder", folder_id__in=ids)
    return set(AccessGrant.objects.filter(condition).values_list("id", flat=True))


def move_could_loosen(obj: Folder | File, target: Folder | None) -> bool:
    """Whether moving ``obj`` (and its subtree) into ``target`` (``None``: the project root)
    could let anyone see something they cannot see now: its effective level opens (an
    inheriting object takes its new parent's level; objects with their own level, and what
    inherits from them, keep theirs), or it comes under a grant that did not cover it."""
    current_parent = obj.parent if isinstance(obj, Folder) else obj.folder
    if obj.access_level == "inherit":
        new_level = target.effective_access_level if target is not None else obj.project.access_level
        if more_open(new_level, obj.effective_access_level):
            return True
    return bool(_grant_ids_over(obj.project, target) - _grant_ids_over(obj.project, current_parent))


def may_move(user: Any, obj: Folder | File, target: Folder | None) -> bool:
    """A move needs upload rights on the target (``None``: the project root, which is checked
    like any folder), and — whenever it could loosen access to anything in the moved subtree
    (``move_could_loosen``), a data file's uploaded indexes included, as they move with it —
    manage rights on the moved object. Edit rights on the object are checked by the caller as
    for any change."""
    if not can(user, Action.UPLOAD, target if target is not None else obj.project):
        return False
    moved = [obj, *File.objects.alive().filter(index_of=obj)] if isinstance(obj, File) else [obj]
    if any(move_could_loosen(each, target) for each in moved):
        return can(user, Action.MANAGE, obj)
    return True


def may_read_sensitive(user: Any, file: File) -> bool:
    """The encrypted fields (notes, donor id): the file's owner and its editors."""
    return is_signed_in(user) and (file.owner_id == user.id or can(user, Action.EDIT, file))


def may_set_quota(user: Any) -> bool:
    """Storage quotas are the operators' to set."""
    return is_staff(user)


def may_purge(user: Any, file: File) -> bool:
    """Erasing a trashed file before its time: the project's managers and staff."""
    return is_staff(user) or managed_project_ids(user).filter(id=file.project_id).exists()


def may_share(user: Any, obj: Project | Folder | File) -> bool:
    """Creating, changing or deleting grants and members on ``obj``: its managers."""
    return can(user, Action.MANAGE, obj)


def visible_grants(user: Any) -> QuerySet[AccessGrant]:
    """Grants the user may list: the ones they hold (directly or through a group) and those on
    projects they manage; superusers every one."""
    grants = AccessGrant.objects.all()
    if not is_signed_in(user):
        return grants.none()
    if user.is_superuser:
        return grants
    mine = Q(subject_user=user) | Q(subject_group_id__in=user.groups.values("id"))
    return grants.filter(mine | Q(project_id__in=managed_project_ids(user)))


def audit_events(user: Any) -> QuerySet:
    """Staff read every event; others their own, those on projects they manage and on files they own."""
    from django.db.models import CharField
    from django.db.models.functions import Cast

    from authentication.models import AuditEvent

    events = AuditEvent.objects.all()
    if not is_signed_in(user):
        return events.none()
    if is_staff(user):
        return events
    own_files = File.objects.filter(owner=user).annotate(key=Cast("id", CharField())).values("key")
    return events.filter(
        Q(actor=user) | Q(project_id__in=managed_project_ids(user)) | Q(object_type="file", object_id__in=own_files)
    )


def may_verify_audit(user: Any) -> bool:
    return is_staff(user)


def visible_tasks(user: Any) -> QuerySet:
    """Analysis tasks: a user's own on files they may still see; superusers every one. Staff
    are no exception: a task names its file and its result names others."""
    from ml_interface.models import MLTask

    tasks = MLTask.objects.all()
    if not is_signed_in(user):
        return tasks.none()
    if user.is_superuser:
        return tasks
    return tasks.filter(submitter=user, file__in=visible_files(user))


def task_result_for(user: Any, result: Any) -> Any:
    """A task's stored result as ``user`` may read it now: entries that name a file (the
    ``similar`` list of an embedding) are kept only while the reader can see that file, so a
    revoked grant or group membership takes effect on results computed before."""
    if not isinstance(result, dict) or not isinstance(result.get("similar"), list):
        return result
    entries = result["similar"]
    ids = {e["file"]["id"] for e in entries if isinstance(e, dict) and isinstance(e.get("file"), dict)}
    seen = set(visible_files(user).filter(id__in=ids).values_list("id", flat=True))
    kept = [
        e for e in entries if isinstance(e, dict) and isinstance(e.get("file"), dict) and e["file"].get("id") in seen
    ]
    return {**result, "similar": kept}


def may_check_other_user(user: Any, obj: Project | Folder | File) -> bool:
    """The access explainer's ``?user=``: those who see the object's project in full may ask
    about a colleague (they see its rules anyway, and can look names up in the directory).
    Anonymous callers and those who see the project only from outside may ask about nobody
    else, whatever the name, so the answer tells neither a real username from an unknown one
    nor who else has access."""
    return is_signed_in(user) and sees_project_fully(user, _project_of(obj))


def ncbi_imports(user: Any) -> QuerySet:
    """NCBI imports whose target the user sees: the folder, or for the root the whole project
    (seen from outside, a project hides what is imported into it)."""
    from ncbi_bridge.models import NcbiImport

    imports = NcbiImport.objects.all()
    if is_superuser(user):
        return imports
    in_folder = Q(folder__in=visible_folders(user))
    return imports.filter(Q(project__in=viewable_projects(user), folder__isnull=True) | in_folder)


def own_rows(user: Any, queryset: QuerySet, field_name: str = "owner") -> QuerySet:
    """Rows that belong to the user (saved searches, uploads in progress); none when anonymous."""
    if not is_signed_in(user):
        return queryset.none()
    return queryset.filter(**{field_name: user})


# --- restriction by construction ---------------------------------------------------------------


def restrict(queryset: QuerySet, user: Any, action: Action | str = Action.VIEW) -> QuerySet:
    """``queryset`` narrowed to the rows ``user`` may ``action``: what each model's restricting
    manager (``Model.objects.restrict(user, action)``) calls. For projects, folders and files
    the rows returned for any action are the ones the user *sees* (hidden → 404); the action
    itself is re-checked on the object (``can``), so a visible object the user may not change
    answers 403. ``navigate`` narrows projects to those seen at least from outside."""
    action = Action(action)
    model = queryset.model
    label = model._meta.label_lower
    if model is Project:
        base = visible_projects(user) if action == Action.NAVIGATE else viewable_projects(user)
    elif model is Folder:
        base = visible_folders(user)
    elif model is File:
        base = visible_files(user)
    elif model is AccessGrant:
        base = visible_grants(user)
    elif label == "authentication.auditevent":
        base = audit_events(user)
    elif label == "ml_interface.mltask":
        base = visible_tasks(user)
    elif label == "ncbi_bridge.ncbiimport":
        base = ncbi_imports(user)
    elif label in ("file_upload.upload", "file_upload.savedsearch"):
        base = own_rows(user, model.objects.all())
    elif label == "background.backgroundtask":
        base = model.objects.all() if is_staff(user) else model.objects.none()
    elif label == "cellxgene_bridge.publication":
        base = own_rows(user, model.objects.all(), "requested_by") if not is_superuser(user) else model.objects.all()
    else:
        raise LookupError(f"No access rule for {label}: add one to access.policy.restrict.")
    if queryset.query.distinct == base.query.distinct and not queryset.query.combinator:
        return queryset & base
    return queryset.filter(pk__in=base.values("pk"))
