"""Workspace API: projects, folders, files and the one-shot multipart upload. Thin: every
viewset derives from ``access.viewsets.RestrictedViewSetMixin`` (lookups through the restricting
managers, the action re-checked by the policy), every rule is asked of ``access.policy`` and
every write goes through ``services``."""

from __future__ import annotations

import csv
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import Http404, StreamingHttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access import policy
from access.policy import Action
from access.viewsets import RestrictedModelViewSet, RestrictedViewSetMixin, require, require_upload
from file_project.errors import LengthRequired, PayloadTooLarge
from file_project.http import django_request
from file_project.parsers import BoundedJSONParser, StrictCharField, parse_moment
from file_project.schema import MOMENT_OR_EMPTY, ErrorSerializer

from . import retention, search, services, uploads
from .filters import FileFilterSet, FolderFilterSet, ProjectFilterSet, TrashFilterSet, require_single_values
from .metadata import METADATA_FIELD_NAMES
from .models import File, Folder, Project, SavedSearch, UploadMethod
from .pagination import SearchCursorPagination, SearchPagination, page_window, wants_cursor
from .privacy import privacy_hints, require_consent
from .serializers import (
    AccessExplanationSerializer,
    ConflictsSerializer,
    FilePageSerializer,
    FileSerializer,
    FileUploadSerializer,
    FolderSerializer,
    MemberSerializer,
    MetadataFieldsSerializer,
    MoveSerializer,
    NameCheckSerializer,
    PrivacyCheckSerializer,
    PrivacyHintSerializer,
    ProjectSerializer,
    RestoredSerializer,
    RestoreSerializer,
    SavedSearchSerializer,
    SuggestionsSerializer,
    TrashedFileSerializer,
    metadata_fields_payload,
    project_members,
)


def require_replaceable(user: Any, project: Project, folder: Folder | None, name: str, on_conflict: str) -> None:
    """``on_conflict=replace`` sends the live file of that name to the trash: the caller must be
    allowed to delete it (403 with the reason otherwise)."""
    if on_conflict != services.OnConflict.REPLACE:
        return
    existing = services.existing_file(project, folder, name)
    if existing is not None and not policy.can(user, Action.DELETE, existing):
        raise PermissionDenied(f"You may not replace “{existing.name}”: only its owner and the project's managers can.")


class AccessExplanationMixin:
    """``GET <object>/access/[?user=<username>]``: the effective level, where it comes from and
    every rule that lets someone see the object; with ``user``, whether that user does."""

    @extend_schema(
        parameters=[OpenApiParameter("user", str, description="Username to check")],
        responses=AccessExplanationSerializer,
    )
    @action(detail=True, methods=["get"])
    def access(self, request: Request, pk: str | None = None) -> Response:
        obj = self.get_object()  # type: ignore[attr-defined]
        check_user = None
        username = request.query_params.get("user", "").strip()
        if username:
            try:  # a username's shape (no NUL, which the database would refuse with a 500)
                username = StrictCharField(max_length=150).run_validation(username)
            except ValidationError as exc:
                raise ValidationError({"user": exc.detail}) from None
        if username and username != request.user.get_username():
            if not policy.may_check_other_user(request.user, obj):
                raise PermissionDenied("Only those who see the whole project can check another user's access.")
            check_user = get_user_model().objects.filter(username=username).first()
            if check_user is None:
                raise ValidationError({"user": [f"No user named “{username}”."]})
        return Response(policy.explain_access(obj, check_user, reader=request.user))


class ProjectViewSet(AccessExplanationMixin, RestrictedModelViewSet):
    """Projects. Listed and shown to anyone who sees something inside (seen from outside: name
    and link only); members, rules and reports only to those who see the project itself."""

    queryset = Project.objects.select_related("owner")
    serializer_class = ProjectSerializer
    throttle_scopes = {"download_report": "heavy"}
    filterset_class = ProjectFilterSet
    ordering_fields = ["name", "created_at", "updated_at"]
    lookup_actions = {"list": Action.NAVIGATE, "retrieve": Action.NAVIGATE}
    object_actions = {"retrieve": Action.NAVIGATE, "update": Action.MANAGE, "partial_update": Action.MANAGE,
                      "destroy": Action.MANAGE, "download_report": Action.MANAGE, "members": Action.VIEW}  # fmt: skip

    def get_queryset(self) -> QuerySet[Project]:
        return super().get_queryset().order_by("name")

    def check_new(self, serializer: ProjectSerializer) -> None:
        self._require_staff_for_quota(serializer)

    def check_changes(self, serializer: ProjectSerializer) -> None:
        self._require_staff_for_quota(serializer)

    def save_new(self, serializer: ProjectSerializer) -> None:
        serializer.instance = services.create_project(owner=self.request.user, **serializer.validated_data)

    def save_changes(self, serializer: ProjectSerializer) -> None:
        services.update_project(serializer.instance, actor=self.request.user, **serializer.validated_data)

    def perform_destroy(self, instance: Project) -> None:
        services.delete_project(instance, actor=self.request.user)

    def _require_staff_for_quota(self, serializer: ProjectSerializer) -> None:
        """A project's managers choose its retention; only staff set its storage quota."""
        current = serializer.instance.quota_bytes if serializer.instance else None
        wanted = serializer.validated_data.get("quota_bytes", current)
        if wanted != current and not policy.may_set_quota(self.request.user):
            raise PermissionDenied("Only staff can set a project's storage quota.")

    @extend_schema(methods=["get"], responses=MemberSerializer(many=True), parameters=[OpenApiParameter("kind", str)])
    @extend_schema(methods=["post"], request=MemberSerializer, responses=MemberSerializer)
    @extend_schema(
        methods=["delete"],
        parameters=[OpenApiParameter("kind", str, enum=["user", "group"]), OpenApiParameter("name", str)],
        responses={204: None},
    )
    @action(detail=True, methods=["get", "post", "delete"])
    def members(self, request: Request, pk: str | None = None) -> Response:
        """Roles in the project: everyone who sees the project may list; owners change them."""
        project = self.get_object()
        if request.method == "GET":
            return Response(MemberSerializer(project_members(project), many=True).data)
        if not policy.may_share(request.user, project):
            raise PermissionDenied("Only the project's owners can change its members.")
        source = request.data if request.method == "POST" else request.query_params
        serializer = MemberSerializer(data=source, partial=request.method == "DELETE")
        serializer.is_valid(raise_exception=True)
        subject = serializer.validated_data["subject"]
        target = {serializer.validated_data["kind"]: subject}
        if request.method == "DELETE":
            if not services.remove_project_member(project, actor=request.user, **target):
                raise Http404
            return Response(status=status.HTTP_204_NO_CONTENT)
        member, created = services.set_project_member(
            project, actor=request.user, role=serializer.validated_data["role"], **target
        )
        return Response(
            MemberSerializer(member).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("since", MOMENT_OR_EMPTY),
            OpenApiParameter("until", MOMENT_OR_EMPTY),
        ],
        responses={(200, "text/csv"): str},
    )
    @action(detail=True, methods=["get"], url_path="download-report")
    def download_report(self, request: Request, pk: str | None = None) -> StreamingHttpResponse:
        """Every download of the project's files and every signed link made, as CSV (managers)."""
        from file_download.reports import download_report

        project = self.get_object()
        bounds = {}
        for name in ("since", "until"):
            raw = request.query_params.get(name, "").strip()
            if raw:
                bounds[name] = parse_moment(name, raw)
        writer = csv.writer(_Echo())
        rows = download_report(project, actor=request.user, **bounds)
        response = StreamingHttpResponse((writer.writerow(row) for row in rows), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="downloads-project-{project.id}.csv"'
        return response


class _Echo:
    def write(self, value: str) -> str:
        return value


class FolderViewSet(AccessExplanationMixin, RestrictedModelViewSet):
    queryset = Folder.objects.all()
    serializer_class = FolderSerializer
    filterset_class = FolderFilterSet
    ordering_fields = ["name", "created_at"]

    def get_queryset(self) -> QuerySet[Folder]:
        return super().get_queryset().order_by("name")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "with_ancestors": self.action != "list"}

    def check_new(self, serializer: FolderSerializer) -> None:
        data = serializer.validated_data
        require_upload(self.request.user, data["project"], data.get("parent"), data.get("access_level"))

    def save_new(self, serializer: FolderSerializer) -> None:
        data = serializer.validated_data
        data.pop("on_conflict", None)
        serializer.instance = services.create_folder(actor=self.request.user, **data)

    def check_changes(self, serializer: FolderSerializer) -> None:
        folder, user, changes = serializer.instance, self.request.user, serializer.validated_data
        if "access_level" in changes and changes["access_level"] != folder.access_level:
            if not policy.may_set_level(user, folder, changes["access_level"]):
                raise PermissionDenied("Only the folder's managers can change its level.")
        if "parent" in changes and changes["parent"] != folder.parent:
            if not policy.may_move(user, folder, changes["parent"]):
                raise PermissionDenied(
                    "Moving here needs upload rights on the target and, when the move could open "
                    "access to anything inside, manage rights on the folder."
                )

    def save_changes(self, serializer: FolderSerializer) -> None:
        folder, user = serializer.instance, self.request.user
        changes = {k: v for k, v in serializer.validated_data.items() if k not in ("project", "on_conflict")}
        on_conflict = services.OnConflict(serializer.validated_data.get("on_conflict", "refuse"))
        services.update_folder(folder, actor=user, on_conflict=on_conflict, **changes)

    def perform_destroy(self, instance: Folder) -> None:
        refused = policy.refused_in_tree(self.request.user, instance)
        if refused is not None:
            raise PermissionDenied(
                f"“{refused.name}” inside this folder is not yours to delete; ask the project's owners."
            )
        services.delete_folder(instance, actor=self.request.user)


class FileViewSet(AccessExplanationMixin, RestrictedModelViewSet):
    """Search, read, edit and soft-delete files; ``POST`` is the one-shot multipart upload."""

    serializer_class = FileSerializer
    filterset_class = FileFilterSet
    filter_backends = [DjangoFilterBackend]  # ordering is part of the search (relevance)
    parser_classes = [BoundedJSONParser, MultiPartParser, FormParser]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    throttle_scopes = {"create": "upload", "reparse": "heavy"}

    queryset = File.objects.select_related("owner", "project", "folder")
    object_actions = {"reparse": Action.EDIT, "move": Action.EDIT}

    def filter_queryset(self, queryset: QuerySet[File]) -> QuerySet[File]:
        """The search filters are for the list (which applies them itself); a file looked up by
        id is not filtered by them, which spares every detail request building the ~40-filter
        FilterSet and its form (a fifth of the time of a metadata read)."""
        if self.detail:
            return queryset
        return super().filter_queryset(queryset)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "detail": self.action in {"retrieve", "partial_update"}}

    @extend_schema(
        parameters=[
            OpenApiParameter("ordering", str, description="name, size, created_at, updated_at, relevance; - descends"),
            OpenApiParameter("cursor", str, description="Cursor of a deep page (from next/previous)"),
            OpenApiParameter("pagination", str, enum=["cursor"], description="Start cursor pagination"),
        ],
        responses=FilePageSerializer,
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Faceted search: filters, ``q``, ordering, page or cursor pagination, and with
        ``facets=`` the counts per value of each named field (``{field: [{value, count}]}``)."""
        require_single_values(request.query_params)
        query = search.SearchQuery.from_params(request.query_params)
        # A listing never shows the encrypted fields (the serializer reads them only where it
        # shows them): they are not loaded, so not decrypted; nor the SQL search's generated
        # text, which only its WHERE reads.
        visible = self.get_queryset().defer(*services.SENSITIVE_FILE_FIELDS, "search_text")
        files, ordering = search.order_files(visible, query, request.query_params.get("ordering", ""))
        cursor = wants_cursor(request.query_params)
        window = None if cursor else page_window(request)

        def show(files: list[File]) -> Any:
            return self.get_serializer(files, many=True).data

        indexed = None if cursor else search.backend_search(request.user, visible, query, ordering, window, show)
        if indexed is not None:
            facets, count, results = indexed
        else:
            facets, count = search.facets_and_count(request.user, query, with_count=not cursor)
            results = search.apply_filters(files, query)
        if cursor:
            paginator: Any = SearchCursorPagination(ordering)
        else:
            paginator = SearchPagination(lambda: count)
        page = paginator.paginate_queryset(results, request, view=self)
        # The page shown while the index counted, when it is this one.
        shown = results.shown_as(page) if indexed is not None else None
        response = paginator.get_paginated_response(show(page) if shown is None else shown)
        # Which backend answered (the index, or SQL as the reference and fallback).
        response["X-Search-Backend"] = settings.BIOFM_SEARCH_BACKEND if indexed is not None else "sql"
        if query.facets:
            response.data["facets"] = facets
        return response

    @extend_schema(parameters=[OpenApiParameter("q", str)], responses=SuggestionsSerializer)
    @action(detail=False, methods=["get"])
    def suggest(self, request: Request) -> Response:
        """Completions for the search box: visible file names and metadata values."""
        return Response({"results": search.suggest(request.user, request.query_params.get("q", ""))})

    @extend_schema(
        request={"multipart/form-data": FileUploadSerializer},
        responses={
            201: FileSerializer,
            411: ErrorSerializer,  # a chunked body: Django's multipart parser needs its length
            413: ErrorSerializer,
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        meta = request.META
        if not meta.get("CONTENT_LENGTH") and "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
            raise LengthRequired()
        limit = meta.get("CONTENT_LENGTH") or "0"
        if limit.isascii() and limit.isdigit() and int(limit) > settings.BIOFM_MAX_UPLOAD_BYTES + 64 * 1024:
            raise PayloadTooLarge(f"Uploads are limited to {settings.BIOFM_MAX_UPLOAD_BYTES} bytes.")
        data = request.data
        if getattr(django_request(request), "biofm_upload_too_large", False):
            raise PayloadTooLarge(f"Uploads are limited to {settings.BIOFM_MAX_UPLOAD_BYTES} bytes.")
        serializer = FileUploadSerializer(data=data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        upload = values.pop("file")
        project, folder = values.pop("project"), values.pop("folder", None)
        require_upload(request.user, project, folder, values.get("access_level"))
        uploads.check_quota(request.user, upload.size, project)
        name = values.pop("name", None) or upload.name
        if not name:
            raise ValidationError({"name": ["The upload has no file name; give one in “name”."]})
        on_conflict = services.parse_on_conflict(values.pop("on_conflict", ""))
        require_replaceable(request.user, project, folder, name, on_conflict)
        require_consent(request.user, project, values.pop("consent_confirmed", False), via="multipart", name=name)
        via_browser = isinstance(request.successful_authenticator, SessionAuthentication)
        file = services.store_file(
            project=project,
            folder=folder,
            name=name,
            source=upload,
            owner=request.user,
            upload_method=UploadMethod.WEB if via_browser else UploadMethod.API,
            metadata={k: values.pop(k) for k in list(values) if k in METADATA_FIELD_NAMES},
            tags=values.pop("tags", []),
            description=values.pop("description", ""),
            access_level=values.pop("access_level", "inherit"),
            content_type=upload.content_type or "",
            on_conflict=on_conflict,
        )
        return Response(FileSerializer(file, context={"request": request}).data, status=status.HTTP_201_CREATED)

    def check_changes(self, serializer: FileSerializer) -> None:
        file, changes = serializer.instance, serializer.validated_data
        if "access_level" in changes and changes["access_level"] != file.access_level:
            if not policy.may_set_level(self.request.user, file, changes["access_level"]):
                raise PermissionDenied("Only the file's managers can change its level.")

    def save_changes(self, serializer: FileSerializer) -> None:
        file, changes = serializer.instance, dict(serializer.validated_data)
        services.update_file(file, actor=self.request.user, **changes)

    def perform_destroy(self, instance: File) -> None:
        services.soft_delete_file(instance, actor=self.request.user)

    @extend_schema(request=None, responses={202: FileSerializer})
    @action(detail=True, methods=["post"])
    def reparse(self, request: Request, pk: str | None = None) -> Response:
        """Re-run format detection, statistics and metadata autofill in the background."""
        file = self.get_object()
        file = services.request_reparse(file, request.user)
        return Response(FileSerializer(file, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=PrivacyCheckSerializer, responses={200: PrivacyHintSerializer(many=True)})
    @action(detail=False, methods=["post"], url_path="privacy-check", parser_classes=[BoundedJSONParser])
    def privacy_check(self, request: Request) -> Response:
        """Warn before an upload when a name or value looks like personal data (nothing stored)."""
        serializer = PrivacyCheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        metadata = {k: v for k, v in data.get("metadata", {}).items() if k in METADATA_FIELD_NAMES}
        hints = privacy_hints(
            data.get("name", ""), metadata, description=data.get("description", ""), tags=data.get("tags", [])
        )
        return Response(hints)

    @extend_schema(request=NameCheckSerializer, responses=ConflictsSerializer)
    @action(detail=False, methods=["post"], url_path="conflicts", parser_classes=[BoundedJSONParser])
    def conflicts(self, request: Request) -> Response:
        """Which of ``names`` are taken in the target folder: asked once before an upload batch
        so that the user decides Replace / Keep both / Skip before any byte is sent."""
        serializer = NameCheckSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project, folder = data["project"], data.get("folder")
        require(request.user, Action.UPLOAD, folder or project)
        names = list(dict.fromkeys(data["names"]))
        taken = File.objects.alive().filter(project=project, folder=folder, name__in=names)
        found = {f.name: f for f in taken}
        return Response(
            {
                "conflicts": [
                    {
                        "name": name,
                        "file": found[name].id,
                        "can_replace": policy.can(request.user, Action.DELETE, found[name]),
                    }
                    for name in names
                    if name in found
                ]
            }
        )

    @extend_schema(request=MoveSerializer, responses={200: FileSerializer})
    @action(detail=True, methods=["post"], parser_classes=[BoundedJSONParser])
    def move(self, request: Request, pk: str | None = None) -> Response:
        """Move the file into ``folder`` (null: the root of ``project``, default its own)."""
        file = self.get_object()  # edit rights on the file
        serializer = MoveSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        folder = data.get("folder")
        project = folder.project if folder is not None else data.get("project") or file.project
        if project.id == file.project_id:
            allowed = policy.may_move(request.user, file, folder)
        else:  # into another project: upload rights there, and the file's managers only
            allowed = policy.can(request.user, Action.UPLOAD, folder or project) and policy.can(
                request.user, Action.MANAGE, file
            )
        if not allowed:
            raise PermissionDenied(
                "Moving here needs upload rights on the target and, when the move could open access to "
                "the file (or takes it to another project), manage rights on it."
            )
        on_conflict = data.get("on_conflict", services.OnConflict.REFUSE)
        require_replaceable(request.user, project, folder, file.name, on_conflict)
        file = services.move_file(file, actor=request.user, project=project, folder=folder, on_conflict=on_conflict)
        return Response(FileSerializer(file, context={"request": request}).data)

    @extend_schema(request=RestoreSerializer, responses={200: RestoredSerializer})
    @action(detail=True, methods=["post"], parser_classes=[BoundedJSONParser])
    def restore(self, request: Request, pk: str | None = None) -> Response:
        """Take a file out of the trash (its owner, the project's managers, staff; others 404) —
        with ``whole_folder``, the folder it was deleted with and everything deleted with it —
        back into its old folder, or the project's top level when that folder is gone."""
        trashed = policy.trashed_files(request.user)
        file = get_object_or_404(trashed.select_related("project", "folder"), pk=pk)
        serializer = RestoreSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        whole = serializer.validated_data["whole_folder"]
        result = services.restore_from_trash(file, actor=request.user, candidates=trashed, whole_folder=whole)
        file.refresh_from_db()
        file.restored_count = len(result.files)  # type: ignore[attr-defined]
        file.to_top_level = [f.name for f in result.to_top_level]  # type: ignore[attr-defined]
        file.message = restore_message(result)  # type: ignore[attr-defined]
        return Response(RestoredSerializer(file, context={"request": request}).data)


def restore_message(result: services.Restored) -> str:
    """The restore in words: how many came back, and which landed at the top level."""
    count = len(result.files)
    text = "Restored 1 file" if count == 1 else f"Restored {count} files"
    moved = result.to_top_level
    if not moved:
        text = f"{text}."
    elif count == 1:
        text = f"{text} to the project's top level: its folder no longer exists."
    else:
        text = f"{text}; {len(moved)} to the project's top level, as their folder no longer exists."
    kept = result.kept_level
    if kept:
        if count == 1:
            text += " It keeps the access level it had before, as its new place is more open."
        else:
            text += f" {len(kept)} keep the access level they had before, as their new place is more open."
    return text


class TrashViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Soft-deleted files the user may restore: owners see theirs, managers their projects',
    staff all. ``POST trash/<id>/purge/`` erases one now (managers and staff). The rows are the
    policy's ``trashed_files``, not the live files the File manager restricts to."""

    serializer_class = TrashedFileSerializer
    permission_classes = [permissions.IsAuthenticated]
    throttle_scopes = {"purge": "heavy"}
    filterset_class = TrashFilterSet
    ordering_fields = ["deleted_at", "name", "size"]

    def get_queryset(self) -> QuerySet[File]:
        trashed = policy.trashed_files(self.request.user)
        return trashed.select_related("owner", "project", "folder").order_by("-deleted_at", "-id")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "trashed": policy.trashed_files(self.request.user)}

    def check_object_action(self, obj: File) -> None:
        """Listing a trashed file is the right to see it here; purging is checked by ``purge``."""

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def purge(self, request: Request, pk: str | None = None) -> Response:
        file = self.get_object()
        user = request.user
        if not policy.may_purge(user, file):
            raise PermissionDenied("Only the project's managers and staff can purge a file before its time.")
        retention.purge_file(file, actor=user, reason="manual")
        return Response(status=status.HTTP_204_NO_CONTENT)


class MetadataFieldsView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=MetadataFieldsSerializer)
    def get(self, request: Request) -> Response:
        return Response(metadata_fields_payload())


class SavedSearchViewSet(RestrictedModelViewSet):
    """A user's saved searches (name + the query string of ``/search``); each user sees their own."""

    serializer_class = SavedSearchSerializer
    pagination_class = None
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    queryset = SavedSearch.objects.all()

    def get_permissions(self) -> list[Any]:
        return [permissions.IsAuthenticated()]

    def save_new(self, serializer: SavedSearchSerializer) -> None:
        serializer.instance = services.save_search(owner=self.request.user, **serializer.validated_data)

    def save_changes(self, serializer: SavedSearchSerializer) -> None:
        services.update_saved_search(serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance: SavedSearch) -> None:
        services.delete_saved_search(instance)
