"""Downloads: ``GET/HEAD /api/files/<id>/download/`` for callers who may see the file,
``POST /api/files/<id>/download-url/`` for a signed link, and ``/api/signed/<token>/<name>``
for whoever holds that link (curl, wget, igv.js) — Range everywhere."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.html import escape
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from authentication import audit
from authentication.models import User
from file_project import metrics
from file_project.http import django_request
from file_project.parsers import StrictCharField, StrictIntegerSerializerField
from file_upload.models import File

from . import genome, responses, services, zips


class FileDownloadView(APIView):
    permission_classes = [permissions.AllowAny]  # public files download anonymously

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int) -> HttpResponse:
        file = get_object_or_404(File.objects.restrict(request.user, "download"), pk=pk)
        return responses.serve_file(django_request(request), file, actor=request.user)

    def head(self, request: Request, pk: int) -> HttpResponse:
        return self.get(request, pk)


class DownloadUrlRequestSerializer(serializers.Serializer):
    expires_in = StrictIntegerSerializerField(
        min_value=60,
        max_value=settings.BIOFM_SIGNED_URL_MAX_SECONDS,
        required=False,
        default=min(24 * 3600, settings.BIOFM_SIGNED_URL_MAX_SECONDS),
        help_text="Seconds the link stays valid.",
    )

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

    @extend_schema(request=DownloadUrlRequestSerializer, responses={201: DownloadUrlSerializer})
    def post(self, request: Request, pk: int) -> Response:
        file = get_object_or_404(File.objects.restrict(request.user, "download"), pk=pk)
        params = DownloadUrlRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        token, expires_at = services.sign_download(file, request.user, params.validated_data["expires_in"])
        url = request.build_absolute_uri(f"/api/signed/{token}/{_url_name(file.name)}")
        return Response({"url": url, "expires_at": expires_at}, status=status.HTTP_201_CREATED)


class GenomeTrackSerializer(serializers.Serializer):
    name = StrictCharField()
    type = serializers.ChoiceField(choices=["alignment", "variant"])
    format = serializers.ChoiceField(choices=sorted(genome.GENOME_VIEW_FORMATS))
    url = serializers.URLField(help_text="A signed link to the file, valid for an hour.")
    index_url = serializers.URLField(allow_null=True, help_text="The signed link to its index, if it has one.")


class GenomeReferenceSerializer(serializers.Serializer):
    name = StrictCharField()
    file = StrictIntegerSerializerField(help_text="The FASTA file's id.")
    fasta_url = serializers.URLField()
    index_url = serializers.URLField(help_text="Its .fai.")


class ContigSerializer(serializers.Serializer):
    name = StrictCharField()
    length = StrictIntegerSerializerField()


class GenomeViewSerializer(serializers.Serializer):
    track = GenomeTrackSerializer()
    reference = GenomeReferenceSerializer(allow_null=True)
    reference_genome = StrictCharField(allow_blank=True)
    contigs = ContigSerializer(many=True, help_text="The contigs of the file's header.")
    locus = StrictCharField(allow_blank=True, help_text="Where to start.")
    note = StrictCharField(allow_blank=True, help_text="What the view cannot show, in words.")
    expires_at = serializers.DateTimeField()


class GenomeViewView(APIView):
    """``GET /api/files/<id>/genome-view/``: what igv.js needs to show a BAM, CRAM or VCF file
    (``file_download.genome``); 400 for any other kind of file."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: GenomeViewSerializer, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        file = get_object_or_404(File.objects.restrict(request.user, "download"), pk=pk)
        if genome.view_format(file) is None:
            raise ValidationError({"file": ["The Genome view shows BAM, CRAM and VCF files."]}, code="not_genomic")
        base_url = request.build_absolute_uri("/").rstrip("/")
        return Response(GenomeViewSerializer(genome.genome_view(file, request.user, base_url)).data)


class ChromSizesView(APIView):
    """``GET /api/files/<id>/genome-view/chrom-sizes/``: the contigs of the file's header as a
    chrom.sizes text (name, tab, length), for igv.js when no reference genome is at hand."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR, 404: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> HttpResponse:
        file = get_object_or_404(File.objects.restrict(request.user, "download"), pk=pk)
        sizes = genome.chrom_sizes(file) if genome.view_format(file) else []
        body = "".join(f"{name}\t{length}\n" for name, length in sizes)
        return HttpResponse(body, content_type="text/plain; charset=utf-8")


def _url_name(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


class SignedDownloadView(APIView):
    """Bytes for a signed link. The name in the path is cosmetic (tools derive file names and
    index URLs from it), except that a name ending in an index extension (``.bai``, ``.csi``,
    ``.tbi``, ``.crai``) asks for the file's index: served if the file has one of that kind, 404
    otherwise, never the data file's bytes. Any origin may read a signed link (it carries its own
    authority; no cookies are involved), so the preflight for ``Range``, ``If-Range`` and
    ``If-None-Match`` is answered for everyone."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (206, "application/octet-stream"): OpenApiTypes.BINARY,
            304: None,
            403: OpenApiTypes.OBJECT,
            404: OpenApiTypes.OBJECT,
            412: None,
            416: None,
        }
    )
    def get(self, request: Request, token: str, name: str) -> HttpResponse:
        file_id, signer_id = services.unsign_download(token)
        signer = User.objects.filter(id=signer_id, is_active=True).first()
        file = File.objects.restrict(signer, "download").filter(pk=file_id).first() if signer else None
        if file is None:
            raise Http404("The file is gone, or the link's signer can no longer see it.")
        extension = services.requested_index(file, name)
        if extension is not None:
            return responses.serve_index(django_request(request), file, extension, reader=signer)
        return responses.serve_file(django_request(request), file, actor=signer, via="signed_url", signer=signer)

    def head(self, request: Request, token: str, name: str) -> HttpResponse:
        return self.get(request, token, name)

    @extend_schema(exclude=True)
    def options(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        """The CORS preflight, for any origin and without credentials."""
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response["Access-Control-Allow-Headers"] = SIGNED_ALLOWED_HEADERS
        response["Access-Control-Max-Age"] = "86400"
        response["Allow"] = "GET, HEAD, OPTIONS"
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code >= 400 and _wants_page(request):
            response = _error_page(response)
        # igv.js and other browser readers fetch signed links cross-origin.
        response["Access-Control-Allow-Origin"] = "*"
        response["Access-Control-Expose-Headers"] = SIGNED_EXPOSED_HEADERS
        return response


def _wants_page(request: Request) -> bool:
    """A person who opened the link in a browser (which asks for HTML first); tools get JSON."""
    accept = request.META.get("HTTP_ACCEPT", "")
    return "text/html" in accept.split(",", 1)[0]


def _error_page(response: Any) -> HttpResponse:
    """A refused signed link as a page a person can read: what happened and what to do."""
    data = getattr(response, "data", None)
    detail = data.get("detail") if isinstance(data, dict) else None
    reason = str(detail) if detail else "This download link doesn't work."
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Download link not usable · BioFileManager</title></head><body>"
        "<h1>This download link can't be used</h1>"
        f"<p>{escape(reason)}</p>"
        "<p>Ask the person who shared it for a new link, or "
        '<a href="/">open BioFileManager</a> to find the file yourself.</p>'
        "</body></html>"
    )
    page = HttpResponse(body, status=response.status_code, content_type="text/html; charset=utf-8")
    return page


def _ids(raw: str, name: str) -> list[int]:
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not all(part.isascii() and part.isdigit() and len(part) <= 18 for part in parts):
        raise ValidationError({name: ["Expected comma-separated ids."]})
    if len(parts) > 10_000:
        raise ValidationError({name: ["At most 10,000 ids."]})
    return [int(part) for part in parts]


class ZipDownloadView(APIView):
    """``GET /api/zip/?files=1,2&folders=3``: one streamed zip of the files and folders the
    caller may download (see ``zips``). Anonymous callers get the public ones."""

    permission_classes = [permissions.AllowAny]
    throttle_scope = "heavy"

    @extend_schema(
        parameters=[
            OpenApiParameter("files", str, description="Comma-separated file ids"),
            OpenApiParameter("folders", str, description="Comma-separated folder ids (their whole subtree)"),
        ],
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        file_ids = _ids(request.query_params.get("files", ""), "files")
        folder_ids = _ids(request.query_params.get("folders", ""), "folders")
        if not file_ids and not folder_ids:
            raise ValidationError({"files": ["Choose at least one file or folder."]})
        members = zips.zip_members(request.user, file_ids, folder_ids)
        if not members:
            raise Http404("None of these files or folders exist, or you can't see them.")
        audit.record(
            request.user,
            "files.zip",
            None,
            files=file_ids[:1000],
            folders=folder_ids[:1000],
            members=len(members),
            size=sum(member.size for member in members),
        )
        metrics.count_download("zip", sum(member.size for member in members))
        response = StreamingHttpResponse(zips.stream_archive(members), content_type="application/zip")
        response["Content-Disposition"] = content_disposition_header(
            True, zips.archive_name(request.user, file_ids, folder_ids)
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "no-store"
        return response


SIGNED_ALLOWED_HEADERS = "Range, If-Range, If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since"
SIGNED_EXPOSED_HEADERS = "Content-Range, Content-Length, Content-Disposition, Accept-Ranges, ETag, Last-Modified"
