"""``GET /api/files/<id>/download/``: the bytes of a file the caller may see."""

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.views import APIView

from authentication.permissions import visible_files

from . import services


class FileDownloadView(APIView):
    permission_classes = [permissions.AllowAny]  # public files download anonymously

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int) -> FileResponse:
        file = get_object_or_404(visible_files(request.user), pk=pk)
        return services.open_for_download(file, actor=request.user)
