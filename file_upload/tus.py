"""The tus 1.0.0 protocol at ``/api/uploads/``: headers and status codes only; the work is in
``file_upload.uploads``.

Extensions: creation, creation-with-upload, creation-defer-length, termination, checksum
(sha1, md5, sha256), expiration and concatenation (``file_upload.concat``). Every response but
OPTIONS carries ``Tus-Resumable``; errors are JSON like the rest of the API.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from django.conf import settings
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access.policy import Action, read_scope
from access.viewsets import require_upload
from file_project.errors import PayloadTooLarge
from file_project.http import django_request
from file_project.parsers import StrictModelSerializer

from . import concat, rawbody, services, uploads
from .models import Folder, Project, Upload
from .serializers import UploadMetadataSerializer
from .views import require_replaceable

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,creation-defer-length,termination,checksum,expiration,concatenation"
OCTET = "application/offset+octet-stream"
CONCAT_PARAMETER = OpenApiParameter(
    "Upload-Concat",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="tus concatenation: `partial` for a piece of a file, or `final;<upload URL> <upload URL> …` "
    "to join the caller's finished partial uploads into the file (then no `Upload-Length`).",
)


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = f"Unsupported Tus-Resumable version; this server speaks {TUS_VERSION}."
    default_code = "tus_version"


def _header(name: str, description: str, *, required: bool = False, response: Any = False, **kw: Any) -> Any:
    return OpenApiParameter(
        name, OpenApiTypes.STR, OpenApiParameter.HEADER, required=required, description=description,
        response=response, **kw,
    )  # fmt: skip


# The protocol's headers, declared for the schema (tus 1.0.0).
TUS_RESUMABLE = _header("Tus-Resumable", "The protocol version", required=True, enum=[TUS_VERSION])
TUS_RESUMABLE_ANSWER = _header("Tus-Resumable", "The protocol version", response=True)
UPLOAD_OFFSET_ANSWER = _header("Upload-Offset", "Bytes received so far", response=[200, 201, 204])
UPLOAD_CHECKSUM = _header(
    "Upload-Checksum",
    "<algorithm> <base64 digest> of this request's body (sha1, md5, sha256)",
    pattern="^(|(sha1|md5|sha256) ([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)$",
)
TUS_ERRORS: dict[int, Any] = {
    404: OpenApiResponse(description="No such upload (or another user's)"),
    410: OpenApiResponse(description="The upload was terminated, expired or failed"),
    412: OpenApiResponse(description="Tus-Resumable is missing or not 1.0.0"),
}


def _int_header(request: Request, name: str, *, required: bool = False) -> int | None:
    raw = request.headers.get(name)
    if raw is None or raw == "":
        if required:
            raise exceptions.ValidationError({name: ["This header is required."]})
        return None
    if not (raw.isascii() and raw.isdigit()):  # "²".isdigit() is True, and int() refuses it
        raise exceptions.ValidationError({name: ["Expected a non-negative integer."]})
    return int(raw)


def _http_date(value: datetime) -> str:
    return format_datetime(value.astimezone(UTC), usegmt=True)


class TusView(APIView):
    """Shared protocol checks and headers."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes: list = []
    schema_extra_methods = ("OPTIONS",)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not hasattr(self, request.method.lower()) or request.method.lower() not in self.http_method_names:
            return  # an unknown method (TRACE …) is a 405, whatever its headers
        if request.method not in ("OPTIONS", "GET") and request.headers.get("Tus-Resumable") != TUS_VERSION:
            raise PreconditionFailed()

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        # Clients behind proxies that only pass GET/POST tunnel the method (tus spec).
        override = request.headers.get("X-HTTP-Method-Override")
        if override and request.method == "POST":
            request.method = override.upper()
        return super().dispatch(request, *args, **kwargs)

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method != "OPTIONS":
            response["Tus-Resumable"] = TUS_VERSION
        if response.status_code == 412:
            response["Tus-Version"] = TUS_VERSION
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        operation_id="uploads_options",
        summary="The server's tus capabilities",
        request=None,
        responses={204: None},
        parameters=[
            _header("Tus-Version", "Protocol versions spoken", response=[204]),
            _header("Tus-Extension", "Extensions supported", response=[204]),
            _header("Tus-Max-Size", "Largest upload in bytes", response=[204]),
            _header("Tus-Checksum-Algorithm", "Checksum algorithms of Upload-Checksum", response=[204]),
        ],
    )
    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = Response(status=status.HTTP_204_NO_CONTENT)
        response["Tus-Version"] = TUS_VERSION
        response["Tus-Extension"] = TUS_EXTENSIONS
        response["Tus-Max-Size"] = str(settings.BIOFM_MAX_UPLOAD_BYTES)
        response["Tus-Checksum-Algorithm"] = ",".join(uploads.CHECKSUM_ALGORITHMS)
        return response

    def get_permissions(self) -> list[Any]:
        if self.request.method == "OPTIONS":
            return [permissions.AllowAny()]
        return super().get_permissions()

    @staticmethod
    def upload_headers(response: Response, upload: Upload) -> Response:
        response["Upload-Offset"] = str(upload.offset)
        if upload.state == "active":
            response["Upload-Expires"] = _http_date(upload.expires_at)
        return response

    @staticmethod
    def body_length(request: Request) -> int | None:
        raw = request.META.get("CONTENT_LENGTH") or ""
        if raw.isascii() and raw.isdigit():
            return int(raw)
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return None
        return 0

    @staticmethod
    def body_stream(request: Request, length: int | None) -> Any:
        # Chunked bodies have no Content-Length, which Django's stream would read as empty.
        if length is None:
            return request.META["wsgi.input"]
        # Under gunicorn, straight from the socket (see rawbody); Django's stream otherwise.
        inner = django_request(request)
        return rawbody.socket_body(inner, length) or inner


class UploadCollectionView(TusView):
    """``POST /api/uploads/`` creates an upload (optionally with its first bytes)."""

    throttle_scopes = {"POST": "upload"}

    @extend_schema(
        summary="Create an upload (tus creation, optionally with its first bytes; concatenation)",
        request={OCTET: OpenApiTypes.BINARY},
        responses={
            201: OpenApiResponse(description="Created; `Location` names the upload."),
            413: OpenApiResponse(description="Upload-Length beyond Tus-Max-Size"),
            **TUS_ERRORS,
            404: OpenApiResponse(description="A partial upload named in `Upload-Concat` is not the caller's."),
            410: OpenApiResponse(description="A partial upload named in `Upload-Concat` expired or was cancelled."),
            423: OpenApiResponse(description="A partial upload named in `Upload-Concat` is busy; retry."),
        },
        parameters=[
            TUS_RESUMABLE,
            CONCAT_PARAMETER,
            _header("Upload-Length", "Size of the whole upload in bytes", pattern="^[0-9]{1,19}$"),
            _header("Upload-Defer-Length", "1: the size is sent with a later PATCH", enum=["1"]),
            _header(
                "Upload-Metadata",
                "Comma-separated “key base64(value)” pairs: filename, project (id), folder (id), tags, the "
                "metadata fields, checksum (sha256:<hex>), on_conflict",
                required=True,
            ),
            UPLOAD_CHECKSUM,
            TUS_RESUMABLE_ANSWER,
            _header("Location", "URL of the new upload", response=[201]),
            UPLOAD_OFFSET_ANSWER,
            _header("Upload-Expires", "When an unfinished upload expires", response=[201]),
        ],
    )
    def post(self, request: Request) -> Response:
        if "Upload-Concat" in request.headers:
            return self._concatenation(request)
        length = self._declared_length(request)
        raw_metadata = request.headers.get("Upload-Metadata", "")
        metadata = uploads.parse_metadata(raw_metadata)
        with read_scope():  # checks that only read: the user's reach is worked out once for them
            project, folder = self._target(request, metadata)
            filename = metadata.get("filename") or metadata.get("name") or ""
            on_conflict = services.parse_on_conflict(metadata.get("on_conflict"))
            require_replaceable(request.user, project, folder, filename, on_conflict)
            metadata = UploadMetadataSerializer.canonical(metadata, project, folder, request)  # 400 before any byte
        upload = uploads.create_upload(
            owner=request.user,
            length=length,
            raw_metadata=raw_metadata,
            project=project,
            folder=folder,
            metadata=metadata,
        )
        upload = self._first_bytes(request, upload)
        response = Response(status=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(f"/api/uploads/{upload.id}/")
        return self.upload_headers(response, upload)

    def _first_bytes(self, request: Request, upload: Upload) -> Upload:
        """creation-with-upload: the POST's body, if any, is the upload's first bytes."""
        body_length = self.body_length(request)
        if request.content_type != OCTET or body_length == 0 or upload.state != "active":
            return upload
        return uploads.append_chunk(
            upload_id=upload.id,
            owner=request.user,
            offset=0,
            body=self.body_stream(request, body_length),
            content_length=body_length,
            checksum=self._checksum(request),
        )

    @staticmethod
    def _declared_length(request: Request) -> int | None:
        """``Upload-Length`` or ``Upload-Defer-Length: 1`` (None), exactly one of them."""
        length = _int_header(request, "Upload-Length")
        defer = request.headers.get("Upload-Defer-Length")
        if defer is not None and defer != "1":
            raise exceptions.ValidationError({"Upload-Defer-Length": ["The only allowed value is 1."]})
        if (length is None) == (defer is None):
            raise exceptions.ValidationError({"Upload-Length": ["Send Upload-Length, or Upload-Defer-Length: 1."]})
        if length is not None and length > settings.BIOFM_MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(f"Uploads are limited to {settings.BIOFM_MAX_UPLOAD_BYTES} bytes (Tus-Max-Size).")
        return length

    def _concatenation(self, request: Request) -> Response:
        """tus concatenation: a partial upload (bytes only), or the final one that joins them."""
        kind, part_ids = concat.parse_header(request.headers.get("Upload-Concat"))
        raw_metadata = request.headers.get("Upload-Metadata", "")
        metadata = uploads.parse_metadata(raw_metadata)
        if kind == "partial":
            length = self._declared_length(request)
            upload = concat.create_partial(owner=request.user, length=length, raw_metadata=raw_metadata)
            upload = self._first_bytes(request, upload)
        else:
            if "Upload-Length" in request.headers or "Upload-Defer-Length" in request.headers:
                raise exceptions.ValidationError(
                    {"Upload-Length": ["A final upload's length is the sum of its parts: send no Upload-Length."]}
                )
            project, folder = self._target(request, metadata)
            filename = metadata.get("filename") or metadata.get("name") or ""
            require_replaceable(
                request.user, project, folder, filename, services.parse_on_conflict(metadata.get("on_conflict"))
            )
            metadata = UploadMetadataSerializer.canonical(metadata, project, folder, request)
            upload = concat.create_final(
                owner=request.user,
                part_ids=part_ids,
                raw_metadata=raw_metadata,
                project=project,
                folder=folder,
                metadata=metadata,
            )
            if upload.state == "failed":
                raise exceptions.ValidationError({"Upload-Concat": [f"The file was not stored: {upload.error}"]})
        response = Response(status=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(f"/api/uploads/{upload.id}/")
        return self.upload_headers(response, upload)

    @staticmethod
    def _checksum(request: Request) -> uploads.ChunkChecksum | None:
        header = request.headers.get("Upload-Checksum")
        return uploads.ChunkChecksum.parse(header) if header else None

    @staticmethod
    def _target(request: Request, metadata: dict[str, str]) -> tuple[Project, Folder | None]:
        """The project/folder named in the metadata, if the user may upload there (404/403)."""
        project_id, folder_id = metadata.get("project", ""), metadata.get("folder", "")
        if not (project_id.isascii() and project_id.isdigit()):
            raise exceptions.ValidationError({"project": ["Upload-Metadata needs “project” (a project id)."]})
        if folder_id and not (folder_id.isascii() and folder_id.isdigit()):
            raise exceptions.ValidationError({"folder": ["“folder” must be a folder id."]})
        project = Project.objects.restrict(request.user, Action.NAVIGATE).filter(id=int(project_id)).first()
        folders = Folder.objects.restrict(request.user, Action.VIEW)
        folder = folders.filter(id=int(folder_id)).first() if folder_id else None
        if project is None or (folder_id and folder is None):
            raise Http404("No such project or folder.")
        require_upload(request.user, project, folder, metadata.get("access_level"))
        return project, folder


class UploadResourceView(TusView):
    """``HEAD`` (offset), ``PATCH`` (append), ``DELETE`` (terminate) on one upload."""

    schema_extra_methods = ("HEAD",)

    def _owned(self, request: Request, upload_id: uuid.UUID) -> Upload:
        upload = Upload.objects.filter(id=upload_id, owner=request.user).first()
        if upload is None:
            raise exceptions.NotFound("No such upload.")
        if upload.state in ("terminated", "expired", "failed") or uploads.is_expired(upload):
            raise uploads.UploadGone()
        return upload

    @extend_schema(
        operation_id="uploads_head",
        summary="The upload's offset (tus)",
        responses={200: None, **TUS_ERRORS},
        parameters=[
            TUS_RESUMABLE,
            TUS_RESUMABLE_ANSWER,
            UPLOAD_OFFSET_ANSWER,
            _header("Upload-Length", "Size of the whole upload (absent while deferred)", response=[200]),
            _header("Upload-Defer-Length", "1 while the size is not known yet", response=[200]),
            _header("Upload-Metadata", "The metadata given at creation", response=[200]),
        ],
    )
    def head(self, request: Request, upload_id: uuid.UUID) -> Response:
        upload = self._owned(request, upload_id)
        response = Response(status=status.HTTP_200_OK)
        if upload.length is None:
            response["Upload-Defer-Length"] = "1"
        else:
            response["Upload-Length"] = str(upload.length)
        if upload.raw_metadata:
            response["Upload-Metadata"] = upload.raw_metadata
        joined = concat.header_value(upload, lambda part: request.build_absolute_uri(f"/api/uploads/{part}/"))
        if joined is not None:
            response["Upload-Concat"] = joined
        if upload.concat == "final" and upload.state != "completed":
            return response  # no offset until the parts are joined (tus concatenation)
        return self.upload_headers(response, upload)

    @extend_schema(
        summary="Append bytes at Upload-Offset (tus)",
        request={OCTET: OpenApiTypes.BINARY},
        responses={
            204: None,
            409: OpenApiResponse(description="Upload-Offset is not the upload's offset"),
            413: OpenApiResponse(description="The body goes past Upload-Length or Tus-Max-Size"),
            415: OpenApiResponse(description="The body is not application/offset+octet-stream"),
            423: OpenApiResponse(description="Another request is writing to this upload; retry"),
            460: OpenApiResponse(description="Upload-Checksum does not match the body"),
            403: OpenApiResponse(description="A final upload (tus concatenation) takes no PATCH."),
            **TUS_ERRORS,
        },
        parameters=[
            TUS_RESUMABLE,
            _header("Upload-Offset", "Where these bytes start", required=True, pattern="^[0-9]{1,19}$"),
            _header("Upload-Length", "The whole size, once, for a deferred-length upload", pattern="^[0-9]{1,19}$"),
            UPLOAD_CHECKSUM,
            TUS_RESUMABLE_ANSWER,
            UPLOAD_OFFSET_ANSWER,
            _header("Upload-Expires", "When the unfinished upload expires", response=[204]),
        ],
    )
    def patch(self, request: Request, upload_id: uuid.UUID) -> Response:
        if concat.is_final(upload_id, request.user):
            raise exceptions.PermissionDenied("A final upload is made of its partial uploads; it takes no PATCH.")
        if request.content_type != OCTET:
            raise exceptions.UnsupportedMediaType(request.content_type, f"PATCH bodies must be {OCTET}.")
        offset = _int_header(request, "Upload-Offset", required=True)
        checksum = UploadCollectionView._checksum(request)
        length = self.body_length(request)
        upload = uploads.append_chunk(
            upload_id=upload_id,
            owner=request.user,
            offset=offset,  # type: ignore[arg-type]
            body=self.body_stream(request, length),
            content_length=length,
            checksum=checksum,
            declared_length=_int_header(request, "Upload-Length"),
        )
        return self.upload_headers(Response(status=status.HTTP_204_NO_CONTENT), upload)

    @extend_schema(
        summary="Terminate the upload (tus termination)",
        responses={204: None, **TUS_ERRORS},
        parameters=[TUS_RESUMABLE, TUS_RESUMABLE_ANSWER],
    )
    def delete(self, request: Request, upload_id: uuid.UUID) -> Response:
        uploads.terminate_upload(upload_id, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_serializer(component_name="UploadStatus")
class UploadStatusSerializer(StrictModelSerializer):
    sha256 = serializers.SerializerMethodField(help_text="SHA-256 of the stored file, once completed.")
    md5 = serializers.SerializerMethodField(
        help_text="MD5 of the stored file: computed in the background after completion, empty until then."
    )
    final_checksums = serializers.SerializerMethodField(
        help_text="The checksums of the stored file that are known (sha256 at completion, md5 a little later)."
    )

    class Meta:
        model = Upload
        fields = [
            "id",
            "filename",
            "offset",
            "length",
            "state",
            "file",
            "sha256",
            "md5",
            "final_checksums",
            "error",
            "expires_at",
            "received_at",
            "project",
            "folder",
        ]
        read_only_fields = fields

    def get_sha256(self, upload: Upload) -> str:
        return upload.file.sha256 if upload.file_id and upload.file else ""

    def get_md5(self, upload: Upload) -> str:
        return upload.file.md5 if upload.file_id and upload.file else ""

    def get_final_checksums(self, upload: Upload) -> list[str]:
        return upload.file.final_checksums if upload.file_id and upload.file else []


class UploadStatusView(APIView):
    """``GET /api/uploads/<id>/status/``: JSON progress; after the last byte ``verifying`` while
    the server hashes and stores the file, then ``completed`` with the File id and its SHA-256 and
    MD5, or ``failed`` with the reason (e.g. the ``checksum`` given at creation did not match)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=UploadStatusSerializer)
    def get(self, request: Request, upload_id: uuid.UUID) -> Response:
        return Response(UploadStatusSerializer(uploads.upload_status(upload_id, request.user)).data)
