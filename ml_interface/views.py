"""The analysis gateway API: trigger, task list/detail, task types, similar files. Thin: files and
tasks are looked up through their restricting managers (invisible → 404), the work is in
``services``."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access.policy import Action
from access.viewsets import RestrictedViewSetMixin
from file_project.errors import Conflict
from file_project.parsers import INT_MAX, parse_int
from file_project.schema import ErrorSerializer
from file_upload.models import File

from . import services
from .filters import MLTaskFilterSet
from .handlers.embedding import NotEmbedded
from .models import MLTask
from .serializers import (
    MLTaskSerializer,
    SimilarFilesSerializer,
    TaskTypeSerializer,
    TriggerResponseSerializer,
    TriggerSerializer,
)


class QueueUnavailableError(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The task queue is not reachable; try again in a minute."
    default_code = "queue_unavailable"


NO_FILE = "This file doesn't exist or you can't see it."


class TriggerView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=TriggerSerializer, responses={202: TriggerResponseSerializer})
    def post(self, request: Request) -> Response:
        serializer = TriggerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        file = File.objects.restrict(request.user, Action.VIEW).filter(pk=data["file_id"]).first()
        if file is None:
            raise exceptions.NotFound(NO_FILE)
        try:
            task = services.trigger_analysis(
                user=request.user, task_type=data["task_type"], file=file, params=data.get("params")
            )
        except services.QueueUnavailable as exc:
            raise QueueUnavailableError() from exc
        return Response({"task_id": task.id, "status": "queued"}, status=status.HTTP_202_ACCEPTED)


class MLTaskViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Own tasks on files one still sees (superusers: all), newest first; poll a task's detail
    for its status and result (which names only files the reader sees now)."""

    serializer_class = MLTaskSerializer
    permission_classes = [IsAuthenticated]
    filterset_class = MLTaskFilterSet
    ordering_fields = ["created_at", "finished_at"]

    queryset = MLTask.objects.select_related("file", "submitter")


class TaskTypesView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=TaskTypeSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(services.task_types())


class SimilarFilesView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("limit", int)],
        responses={200: SimilarFilesSerializer, 409: ErrorSerializer},  # 409: the file has no embedding yet
    )
    def get(self, request: Request, pk: int) -> Response:
        file = File.objects.restrict(request.user, Action.VIEW).filter(pk=pk).first()
        if file is None:
            raise exceptions.NotFound(NO_FILE)
        limit = max(1, min(parse_int("limit", request.query_params.get("limit", 20), minimum=-INT_MAX), 200))
        try:
            return Response(services.similar_files(request.user, file, limit))
        except NotEmbedded as exc:
            raise Conflict(str(exc), code="not_embedded") from exc
