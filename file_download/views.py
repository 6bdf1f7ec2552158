"""Downloads: ``GET/HEAD /api/files/<id>/download/`` for callers who may see the file,
``POST /api/files/<id>/download-url/`` for a signed link, and ``/api/signed/<token>/<name>``
for whoever holds that link (curl, wget, igv.js) — Range everywhere."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from authentication.models import User
from file_upload.models import File

from . import services


class FileDownloadView(APIView):
    permission_classes = [permissions.AllowAny]  # public files download anonymously

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int) -> HttpResponse:
        file = get_object_or_404(File.objects.restrict(request.user, "download"), pk=pk)
        return services.serve_file(request._request, file, actor=request.user)

    def head(self, request: Request, pk: int) -> HttpResponse:
        return self.get(request, pk)


class DownloadUrlRequestSerializer(serializers.Serializer):
    expires_in = serializers.IntegerField(min_value=60, required=False, default=24 * 3600)

    def validate_expires_in(self, value: int) -> int:
        if value > settings.BIOFM_SIGNED_URL_MAX_SECONDS:
            raise serializers.ValidationError(f"At most {settings.BIOFM_SIGNED_URL_MAX_SECONDS} seconds.")
        return value


class DownloadUrlSerializer(serializers.Serializer):
    url = serializers.URLField()
    expires_at = serializers.DateTimeField()


class DownloadUrlView(APIView):
    """A link that downloads the file without a session until it expires. It acts for the
    signer: if they lose access to the file, the link stops working too."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=DownloadUrlRequestSerializer, responses=DownloadUrlSerializer)
    def post(self, request: Request, pk: int) -> Response:
        file = get_object_or_404(File.objects.restrict(request.user, "download"), pk=pk)
        params = DownloadUrlRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        token, expires_at = services.sign_download(file, request.user, params.validated_data["expires_in"])
        url = request.build_absolute_uri(f"/api/signed/{token}/{_url_name(file.name)}")
        return Response({"url": url, "expires_at": expires_at}, status=status.HTTP_201_CREATED)


def _url_name(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


class SignedDownloadView(APIView):
    """Bytes for a signed link. The name in the path is cosmetic (tools derive file names and
    index URLs from it); ``<name>.bai`` serves the BAM index when one was built."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, token: str, name: str) -> HttpResponse:
        file_id, signer_id = services.unsign_download(token)
        signer = User.objects.filter(id=signer_id, is_active=True).first()
        file = File.objects.restrict(signer, "download").filter(pk=file_id).first() if signer else None
        if file is None:
            raise Http404("The file is gone, or the link's signer can no longer see it.")
        if name.endswith(".bai") and name[: -len(".bai")] == file.name:
            return self._index(file)
        return services.serve_file(request._request, file, actor=signer, via="signed_url", signer=signer)

    def head(self, request: Request, token: str, name: str) -> HttpResponse:
        return self.get(request, token, name)

    @staticmethod
    def _index(file: File) -> HttpResponse:
        path = services.index_path(file)
        if path is None:
            raise Http404("This file has no index.")
        return FileResponse(open(path, "rb"), content_type="application/octet-stream")

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        # igv.js and other browser readers fetch signed links cross-origin.
        response["Access-Control-Allow-Origin"] = "*"
        response["Access-Control-Expose-Headers"] = "Content-Range, Content-Length, Accept-Ranges, ETag"
        return response
