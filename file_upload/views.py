"""Workspace API: projects, folders, files and the one-shot multipart upload. Thin: every
lookup goes through ``authentication.permissions`` and every write through ``services``."""

from __future__ import annotations

import csv
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, StreamingHttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from authentication.permissions import (
    Action,
    can,
    explain_access,
    is_visible,
    managed_project_ids,
    trashed_files,
    visible_files,
    visible_folders,
    visible_projects,
)
from file_project.errors import PayloadTooLarge
from file_project.parsers import BoundedJSONParser, parse_moment

from . import retention, search, services, uploads
from .filters import FileFilterSet, FolderFilterSet, ProjectFilterSet
from .metadata import METADATA_FIELD_NAMES
from .models import File, Folder, Project, SavedSearch, UploadMethod
from .pagination import SearchCursorPagination, SearchPagination, wants_cursor
from .privacy import privacy_hints, require_consent
from .serializers import (
    FileSerializer,
    FileUploadSerializer,
    FolderSerializer,
    MemberSerializer,
    PrivacyCheckSerializer,
    PrivacyHintSerializer,
    ProjectSerializer,
    SavedSearchSerializer,
    TrashedFileSerializer,
    metadata_fields_payload,
    project_members,
)


def require(user: Any, action: Action, obj: Project | Folder | File) -> None:
    """403 when the user sees the object but may not do ``action`` on it (invisible ones are
    already 404 because lookups start from the visible querysets)."""
    if not can(user, action, obj):
        raise PermissionDenied(f"You don't have permission to {action.value} this {type(obj).__name__.lower()}.")


def require_target(user: Any, project: Project, folder: Folder | None) -> None:
    """Upload targets: invisible → 404, visible without an editor role or grant → 403."""
    target: Project | Folder = folder or project
    if not is_visible(user, target):
        raise Http404
    require(user, Action.UPLOAD, target)


class AccessExplanationMixin:
    """``GET <object>/access/[?user=<username>]``: the effective level, where it comes from and
    every rule that lets someone see the object; with ``user``, whether that user does."""

    @extend_schema(parameters=[OpenApiParameter("user", str, description="Username to check")])
    @action(detail=True, methods=["get"])
    def access(self, request: Request, pk: str | None = None) -> Response:
        obj = self.get_object()  # type: ignore[attr-defined]
        check_user = None
        username = request.query_params.get("user", "").strip()
        if username:
            check_user = get_user_model().objects.filter(username=username).first()
            if check_user is None:
                raise ValidationError({"user": [f"No user named “{username}”."]})
        return Response(explain_access(obj, check_user))


class ProjectViewSet(AccessExplanationMixin, viewsets.ModelViewSet):
    serializer_class = ProjectSerializer
    throttle_scopes = {"download_report": "heavy"}
    filterset_class = ProjectFilterSet
    ordering_fields = ["name", "created_at", "updated_at"]

    def get_queryset(self) -> QuerySet[Project]:
        live = Q(files__deleted_at__isnull=True)
        return (
            visible_projects(self.request.user)
            .select_related("owner")
            .annotate(file_count=Count("files", filter=live), total_size=Coalesce(Sum("files__size", filter=live), 0))
            .order_by("name")
        )

    def perform_create(self, serializer: ProjectSerializer) -> None:
        self._require_staff_for_quota(serializer)
        serializer.instance = services.create_project(owner=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: ProjectSerializer) -> None:
        require(self.request.user, Action.MANAGE, serializer.instance)
        self._require_staff_for_quota(serializer)
        services.update_project(serializer.instance, actor=self.request.user, **serializer.validated_data)

    def perform_destroy(self, instance: Project) -> None:
        require(self.request.user, Action.MANAGE, instance)
        services.delete_project(instance, actor=self.request.user)

    def _require_staff_for_quota(self, serializer: ProjectSerializer) -> None:
        """A project's managers choose its retention; only staff set its storage quota."""
        user = self.request.user
        current = serializer.instance.quota_bytes if serializer.instance else None
        wanted = serializer.validated_data.get("quota_bytes", current)
        if wanted != current and not (user.is_staff or user.is_superuser):
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
        require(request.user, Action.MANAGE, project)
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
        parameters=[OpenApiParameter("since", str), OpenApiParameter("until", str)],
        responses={(200, "text/csv"): str},
    )
    @action(detail=True, methods=["get"], url_path="download-report")
    def download_report(self, request: Request, pk: str | None = None) -> StreamingHttpResponse:
        """Every download of the project's files and every signed link made, as CSV (managers)."""
        from file_download.reports import download_report

        project = self.get_object()
        require(request.user, Action.MANAGE, project)
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


class FolderViewSet(AccessExplanationMixin, viewsets.ModelViewSet):
    serializer_class = FolderSerializer
    filterset_class = FolderFilterSet
    ordering_fields = ["name", "created_at"]

    def get_queryset(self) -> QuerySet[Folder]:
        return visible_folders(self.request.user).order_by("name")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "with_ancestors": self.action != "list"}

    def perform_create(self, serializer: FolderSerializer) -> None:
        data = serializer.validated_data
        require_target(self.request.user, data["project"], data.get("parent"))
        serializer.instance = services.create_folder(actor=self.request.user, **data)

    def perform_update(self, serializer: FolderSerializer) -> None:
        folder = serializer.instance
        changes = {k: v for k, v in serializer.validated_data.items() if k != "project"}
        action = Action.MANAGE if "access_level" in changes else Action.EDIT
        require(self.request.user, action, folder)
        if changes.get("parent") is not None:
            require(self.request.user, Action.UPLOAD, changes["parent"])
        services.update_folder(folder, actor=self.request.user, **changes)

    def perform_destroy(self, instance: Folder) -> None:
        require(self.request.user, Action.DELETE, instance)
        services.delete_folder(instance, actor=self.request.user)


class FileViewSet(AccessExplanationMixin, viewsets.ModelViewSet):
    """Search, read, edit and soft-delete files; ``POST`` is the one-shot multipart upload."""

    serializer_class = FileSerializer
    filterset_class = FileFilterSet
    filter_backends = [DjangoFilterBackend]  # ordering is part of the search (relevance)
    parser_classes = [BoundedJSONParser, MultiPartParser, FormParser]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    throttle_scopes = {"create": "upload", "reparse": "heavy"}

    def get_queryset(self) -> QuerySet[File]:
        return visible_files(self.request.user).select_related("owner", "project", "folder")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "detail": self.action in {"retrieve", "partial_update"}}

    @extend_schema(
        parameters=[
            OpenApiParameter("ordering", str, description="name, size, created_at, updated_at, relevance; - descends"),
            OpenApiParameter("cursor", str, description="Cursor of a deep page (from next/previous)"),
            OpenApiParameter("pagination", str, enum=["cursor"], description="Start cursor pagination"),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Faceted search: filters, ``q``, ordering, page or cursor pagination, and with
        ``facets=`` the counts per value of each named field (``{field: [{value, count}]}``)."""
        query = search.SearchQuery.from_params(request.query_params)
        visible = self.get_queryset()
        files, ordering = search.order_files(visible, query, request.query_params.get("ordering", ""))
        cursor = wants_cursor(request.query_params)
        indexed = None if cursor else search.indexed_search(request.user, visible, query, ordering)
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
        response = paginator.get_paginated_response(self.get_serializer(page, many=True).data)
        if query.facets:
            response.data["facets"] = facets
        return response

    @extend_schema(parameters=[OpenApiParameter("q", str)], responses={200: dict})
    @action(detail=False, methods=["get"])
    def suggest(self, request: Request) -> Response:
        """Completions for the search box: visible file names and metadata values."""
        return Response({"results": search.suggest(request.user, request.query_params.get("q", ""))})

    @extend_schema(request={"multipart/form-data": FileUploadSerializer}, responses={201: FileSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        limit = request._request.META.get("CONTENT_LENGTH") or "0"
        if limit.isascii() and limit.isdigit() and int(limit) > settings.BIOFM_MAX_UPLOAD_BYTES + 64 * 1024:
            raise PayloadTooLarge(f"Uploads are limited to {settings.BIOFM_MAX_UPLOAD_BYTES} bytes.")
        data = request.data
        if getattr(request._request, "biofm_upload_too_large", False):
            raise PayloadTooLarge(f"Uploads are limited to {settings.BIOFM_MAX_UPLOAD_BYTES} bytes.")
        serializer = FileUploadSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        upload = values.pop("file")
        project, folder = values.pop("project"), values.pop("folder", None)
        require_target(request.user, project, folder)
        uploads.check_quota(request.user, upload.size, project)
        name = values.pop("name", None) or upload.name
        if not name:
            raise ValidationError({"name": ["The upload has no file name; give one in “name”."]})
        require_consent(request.user, project, values.pop("consent_confirmed", False), via="multipart", name=name)
        via_browser = request.successful_authenticator.__class__.__name__ == "SessionAuthentication"
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
        )
        return Response(FileSerializer(file, context={"request": request}).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: FileSerializer) -> None:
        changes = dict(serializer.validated_data)
        require(self.request.user, Action.MANAGE if "access_level" in changes else Action.EDIT, serializer.instance)
        services.update_file(serializer.instance, actor=self.request.user, **changes)

    def perform_destroy(self, instance: File) -> None:
        require(self.request.user, Action.DELETE, instance)
        services.soft_delete_file(instance, actor=self.request.user)

    @extend_schema(request=None, responses={202: FileSerializer})
    @action(detail=True, methods=["post"])
    def reparse(self, request: Request, pk: str | None = None) -> Response:
        """Re-run format detection, statistics and metadata autofill in the background."""
        file = self.get_object()
        require(request.user, Action.EDIT, file)
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

    @extend_schema(request=None, responses={200: FileSerializer})
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str | None = None) -> Response:
        """Take a file out of the trash (its owner, the project's managers, staff; others 404)."""
        file = get_object_or_404(trashed_files(request.user).select_related("project", "folder"), pk=pk)
        file = retention.restore_file(file, actor=request.user)
        return Response(FileSerializer(file, context={"request": request}).data)


class TrashViewSet(viewsets.ReadOnlyModelViewSet):
    """Soft-deleted files the user may restore: owners see theirs, managers their projects',
    staff all. ``POST trash/<id>/purge/`` erases one now (managers and staff)."""

    serializer_class = TrashedFileSerializer
    permission_classes = [permissions.IsAuthenticated]
    throttle_scopes = {"purge": "heavy"}
    filterset_fields = ["project"]
    ordering_fields = ["deleted_at", "name", "size"]

    def get_queryset(self) -> QuerySet[File]:
        return trashed_files(self.request.user).select_related("owner", "project").order_by("-deleted_at", "-id")

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def purge(self, request: Request, pk: str | None = None) -> Response:
        file = self.get_object()
        user = request.user
        if not (user.is_staff or user.is_superuser or managed_project_ids(user).filter(id=file.project_id).exists()):
            raise PermissionDenied("Only the project's managers and staff can purge a file before its time.")
        retention.purge_file(file, actor=user, reason="manual")
        return Response(status=status.HTTP_204_NO_CONTENT)


class MetadataFieldsView(APIView):
    permission_classes = [permissions.AllowAny]

    def get(self, request: Request) -> Response:
        return Response(metadata_fields_payload())


class SavedSearchViewSet(viewsets.ModelViewSet):
    """A user's saved searches (name + the query string of ``/search``); each user sees their own."""

    serializer_class = SavedSearchSerializer
    pagination_class = None
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[SavedSearch]:
        if not self.request.user.is_authenticated:  # the schema generator asks anonymously
            return SavedSearch.objects.none()
        return SavedSearch.objects.filter(owner=self.request.user)

    def get_permissions(self) -> list[Any]:
        return [permissions.IsAuthenticated()]

    def perform_create(self, serializer: SavedSearchSerializer) -> None:
        serializer.instance = services.save_search(owner=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: SavedSearchSerializer) -> None:
        services.update_saved_search(serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance: SavedSearch) -> None:
        services.delete_saved_search(instance)
