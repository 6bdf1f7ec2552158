"""The NCBI import API: preview a pasted link, start an import, follow its progress.

Thin views: targets are found through the restricting managers (404 for one the user cannot
see, exactly like a missing one), the policy says who may upload (403), and
``ncbi_bridge.services`` does the work.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access.policy import Action
from access.viewsets import require_upload
from file_project.errors import Conflict
from file_project.parsers import parse_int
from file_project.schema import ID_OR_EMPTY, ErrorSerializer
from file_upload.models import Folder, Project

from . import services
from .clients import NcbiError, NcbiNotFound
from .links import UnsupportedLink
from .serializers import NcbiImportRequestSerializer, NcbiImportSerializer, NcbiPreviewSerializer


def unsupported(exc: UnsupportedLink) -> Response:
    return Response(
        {"detail": str(exc), "code": "unsupported_link", "patterns": list(exc.patterns)},
        status=status.HTTP_400_BAD_REQUEST,
    )


def http_status_for(exc: Exception) -> int:
    if isinstance(exc, NcbiNotFound):
        return status.HTTP_404_NOT_FOUND
    if isinstance(exc, Conflict):
        return status.HTTP_409_CONFLICT
    return status.HTTP_502_BAD_GATEWAY


class NcbiPreviewView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("q", str, required=True, description="An NCBI link or accession")],
        responses={200: NcbiPreviewSerializer, 409: ErrorSerializer, 502: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        text = request.query_params.get("q", "")
        try:
            return Response(services.preview_link(text))
        except UnsupportedLink as exc:
            return unsupported(exc)
        except NcbiError as exc:
            return Response({"detail": str(exc), "code": exc.code}, status=http_status_for(exc))


class NcbiImportView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "heavy"

    @extend_schema(
        request=NcbiImportRequestSerializer,
        responses={
            200: NcbiImportSerializer,
            201: NcbiImportSerializer,
            202: NcbiImportSerializer,
            502: NcbiImportSerializer,  # a failed import: the row with "detail" and "code"
        },
    )
    def post(self, request: Request) -> Response:
        serializer = NcbiImportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data.get("parent_folder") is not None:
            folders = Folder.objects.restrict(request.user, Action.VIEW).select_related("project")
            folder = folders.filter(pk=data["parent_folder"]).first()
            if folder is None:
                raise exceptions.NotFound("This folder doesn't exist or you can't see it.")
            project = folder.project
        else:
            folder, project = (
                None,
                Project.objects.restrict(request.user, Action.NAVIGATE).filter(pk=data["project"]).first(),
            )
            if project is None:
                raise exceptions.NotFound("This project doesn't exist or you can't see it.")
        require_upload(request.user, project, folder)
        try:
            result = services.start_import(
                user=request.user, text=serializer.validated_data["url"], project=project, folder=folder
            )
        except UnsupportedLink as exc:
            return unsupported(exc)
        data = NcbiImportSerializer(result.ncbi_import).data
        if result.ncbi_import.status == "failed":
            error = result.error
            code = getattr(error, "code", "failed")
            return Response(
                {**data, "detail": result.ncbi_import.error, "code": code},
                status=http_status_for(error) if error is not None else status.HTTP_502_BAD_GATEWAY,
            )
        if not result.created:
            return Response(data, status=status.HTTP_200_OK)
        if result.ncbi_import.status == "done":
            return Response(data, status=status.HTTP_201_CREATED)
        return Response(data, status=status.HTTP_202_ACCEPTED)


class NcbiImportStatusView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str, required=False),
            OpenApiParameter("project", ID_OR_EMPTY, required=False),
            OpenApiParameter(
                "folder",
                str,
                required=False,
                pattern="^(|null|[0-9]{1,18})$",
                description="A folder id, or null (or empty) for a project root",
            ),
        ],
        responses={200: NcbiImportSerializer},
    )
    def get(self, request: Request, accession: str) -> Response:
        params = request.query_params
        folder: int | None | str = ""
        if "folder" in params:
            raw = params["folder"]
            folder = None if raw in ("", "null") else _as_int(raw, "folder")
        project = _as_int(params["project"], "project") if params.get("project") else None
        kind = params.get("kind") or None
        row = services.find_import(request.user, accession, kind=kind, project=project, folder=folder)
        if row is None:
            raise exceptions.NotFound("No import of this accession that you can see.")
        return Response(NcbiImportSerializer(row).data)


def _as_int(value: str, name: str) -> int:
    return parse_int(name, value)
