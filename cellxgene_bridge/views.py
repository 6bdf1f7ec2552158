"""The cellxgene API (publish, status, recent publications, open, stop) and the per-dataset proxy.

``/cellxgene/<publication id>/…`` forwards to that dataset's viewer with the prefix stripped
(cellxgene 1.3 has no URL-prefix option; its page loads relative assets and calls
``<page URL>api/``, so it works under any path ending in ``/``) and streams the answer back. On
every request the caller must be allowed to view the file now, else 404 (as for a publication
that does not exist). A stopped viewer, or one whose process is found dead, is started again
and the request answered 503 ``viewer_starting`` with ``Retry-After``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import requests
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access.policy import can_publish, can_stop_viewer
from file_project.parsers import StrictBooleanField, StrictCharField, StrictIntegerSerializerField, parse_int
from file_upload.models import File

from . import pool, services
from .models import PublicationStatus

# Headers passed from the browser to the viewer; cookies and credentials stay here.
FORWARD_REQUEST_HEADERS = (
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Content-Type",
    "If-None-Match",
    "If-Modified-Since",
    "Range",
    "User-Agent",
)
# Hop-by-hop headers, and what the viewer may say about framing or cookies, stay behind.
DROP_RESPONSE_HEADERS = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "x-frame-options",
    "content-security-policy",
    "set-cookie",
    "server",
    "date",
}
CHUNK = 64 * 1024
# cellxgene 1.3.0's bundle loads its logo from "../static/assets/…", relative to the page: right
# at "/", outside the prefix under "/cellxgene/". That one reference is rewritten on the way.
BODY_REWRITES = [
    (re.compile(r"^static/main-[0-9a-f]+\.js$"), b'"../static/assets/', b'"static/assets/'),
]


class PublishRequestSerializer(serializers.Serializer):
    file = StrictIntegerSerializerField(min_value=1, max_value=2**63 - 1)


class PublishResponseSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=PublicationStatus.choices)
    dataset = StrictCharField()
    url = StrictCharField()
    publication = StrictIntegerSerializerField()
    file = StrictIntegerSerializerField()


class PublishView(APIView):
    """Publish an ``.h5ad`` the caller may view (202, at once): the file's live publication, the
    stopped one reopened, or a new one queued."""

    permission_classes = [permissions.IsAuthenticated]
    throttle_scope = "heavy"

    @extend_schema(request=PublishRequestSerializer, responses={202: PublishResponseSerializer})
    def post(self, request: Request) -> Response:
        params = PublishRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        file = get_object_or_404(File.objects.restrict(request.user, "view"), pk=params.validated_data["file"])
        if not can_publish(request.user, file):
            raise Http404
        publication = services.request_publication(request.user, file)
        return Response(
            {
                "status": publication.status,
                "dataset": publication.dataset,
                "url": services.proxy_url(publication.pk),
                "publication": publication.pk,
                "file": file.pk,
            },
            status=status.HTTP_202_ACCEPTED,
        )


class PublicationSerializer(serializers.Serializer):
    id = StrictIntegerSerializerField()
    file = StrictIntegerSerializerField(allow_null=True)
    dataset = StrictCharField()
    status = serializers.ChoiceField(choices=PublicationStatus.choices)
    url = StrictCharField()
    embedding = StrictCharField(allow_null=True)
    error = StrictCharField(allow_null=True)
    log_tail = StrictCharField(allow_null=True)
    restarts = StrictIntegerSerializerField()
    created_at = serializers.DateTimeField()
    ready_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)


class StatusSerializer(serializers.Serializer):
    running = StrictBooleanField()
    ready = StrictBooleanField()
    dataset = StrictCharField(allow_null=True)
    file = StrictIntegerSerializerField(allow_null=True)
    url = StrictCharField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    error = StrictCharField(allow_null=True)
    publication = PublicationSerializer(allow_null=True)


class StatusView(APIView):
    """The latest publication of ``?file=<id>`` (a file the caller may see), or without it the
    caller's own latest publication, and whether its viewer runs."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=StatusSerializer)
    def get(self, request: Request) -> Response:
        file_id = request.query_params.get("file")
        return Response(services.status_for(request.user, file_id=parse_int("file", file_id) if file_id else None))


class PublicationListSerializer(serializers.Serializer):
    results = PublicationSerializer(many=True)


class PublicationListView(APIView):
    """The caller's recent publications (one per file, newest first): the top bar's menu."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=PublicationListSerializer)
    def get(self, request: Request) -> Response:
        return Response({"results": services.recent_publications(request.user)})


def _publication_or_404(request: Request, pk: int):
    publication = services.visible_publication(request.user, pk)
    if publication is None:
        raise Http404
    return publication


class OpenView(APIView):
    """Start a stopped dataset's viewer again (202; the status then follows its steps)."""

    permission_classes = [permissions.IsAuthenticated]
    throttle_scope = "heavy"

    @extend_schema(request=None, responses={202: PublicationSerializer})
    def post(self, request: Request, pk: int) -> Response:
        publication = _publication_or_404(request, pk)
        services.reopen(publication, request.user, reason="opened")
        publication.refresh_from_db()
        return Response(services.publication_data(publication), status=status.HTTP_202_ACCEPTED)


class StopResponseSerializer(serializers.Serializer):
    stopped = StrictBooleanField()


class StopView(APIView):
    """Stop a dataset's viewer: its publisher, staff, or whoever manages the file (else 403)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=StopResponseSerializer)
    def post(self, request: Request, pk: int) -> Response:
        publication = _publication_or_404(request, pk)
        if not can_stop_viewer(request.user, publication.file, publication.requested_by_id):
            raise exceptions.PermissionDenied("Only whoever published it, staff or the file's managers may stop it.")
        viewer = pool.viewer_for(publication.pk)
        stopped = viewer is not None and pool.stop(viewer, actor=request.user, reason="stopped", remove_copy=True)
        return Response({"stopped": bool(stopped)})


def redirect_to_slash(request: HttpRequest, publication_id: int) -> HttpResponse:
    """``/cellxgene/<id>`` → ``/cellxgene/<id>/``: without the slash the viewer's API prefix breaks."""
    query = request.META.get("QUERY_STRING", "")
    return HttpResponsePermanentRedirect(f"/cellxgene/{publication_id}/" + (f"?{query}" if query else ""))


def _user(request: HttpRequest):
    """The session's user, or the owner of an ``Authorization: Token`` header (scripts)."""
    if request.user.is_authenticated:
        return request.user
    try:
        found = TokenAuthentication().authenticate(Request(request))
    except exceptions.AuthenticationFailed:
        return request.user
    return found[0] if found else request.user


def _same_origin(request: HttpRequest) -> bool:
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return not origin
    return urlsplit(origin).netloc == request.get_host()


def _viewer_down(detail: str, code: str = "viewer_unavailable", status_code: int = 502) -> JsonResponse:
    response = JsonResponse({"detail": detail, "code": code}, status=status_code)
    if code == "viewer_starting":
        response["Retry-After"] = "2"
    return response


STARTING = "The viewer of this dataset is starting; try again in a few seconds."


@csrf_exempt  # the viewer's own scripts post without our CSRF token; Origin is checked instead
def proxy(request: HttpRequest, publication_id: str, path: str = "") -> HttpResponse:
    user = _user(request)
    target = services.viewer_for_request(user, int(publication_id))
    if target is None:
        raise Http404("No dataset you may see is published there.")
    if target.starting:
        return _viewer_down(STARTING, "viewer_starting", 503)
    if target.viewer is None:
        return _viewer_down(target.error)
    viewer = target.viewer
    if request.method not in ("GET", "HEAD", "OPTIONS") and not _same_origin(request):
        return JsonResponse({"detail": "Cross-origin request refused.", "code": "forbidden"}, status=403)
    prefix = f"/cellxgene/{publication_id}"
    url = f"{pool.viewer_base(viewer)}/{path}"
    if request.META.get("QUERY_STRING"):
        url += "?" + request.META["QUERY_STRING"]
    headers = {name: request.headers[name] for name in FORWARD_REQUEST_HEADERS if name in request.headers}
    # cellxgene 1.3.0's binary (FlatBuffers) answers are a bytearray that Werkzeug's server only
    # sends when Flask-Compress has turned it into bytes: without gzip the body comes back empty.
    # So gzip is always asked for, and decoded here for a client that does not accept it.
    decode = "gzip" not in headers.get("Accept-Encoding", "")
    if decode:
        headers["Accept-Encoding"] = "gzip"
    rewrite = next(((old, new) for pattern, old, new in BODY_REWRITES if pattern.match(path)), None)
    if rewrite:
        decode = True
    headers["X-Forwarded-Prefix"] = prefix
    body = request.body if request.method not in ("GET", "HEAD") else None
    try:
        upstream = requests.request(
            request.method or "GET",
            url,
            headers=headers,
            data=body,
            stream=True,
            allow_redirects=False,
            timeout=(5, 300),
        )
    except requests.RequestException:
        if services.viewer_unreachable(target, user):
            return _viewer_down(STARTING, "viewer_starting", 503)
        return _viewer_down("The cellxgene viewer is not answering; it may be restarting. Try again shortly.")
    if request.method == "HEAD":
        response: HttpResponse = HttpResponse(status=upstream.status_code)
        upstream.close()
    elif rewrite and upstream.status_code == 200:
        with upstream:
            content = upstream.content.replace(*rewrite)
        response = HttpResponse(content, status=200)
    else:
        response = StreamingHttpResponse(_stream(upstream, decode), status=upstream.status_code)
    for name, value in upstream.headers.items():
        if name.lower() in DROP_RESPONSE_HEADERS:
            continue
        if decode and name.lower() in ("content-encoding", "content-length"):
            continue
        if name.lower() == "location" and value.startswith("/"):
            value = prefix + value
        response[name] = value
    # Framing: only by our own pages (the SPA embeds the viewer in an iframe).
    response["X-Frame-Options"] = "SAMEORIGIN"
    response["Content-Security-Policy"] = "frame-ancestors 'self'"
    response["Cache-Control"] = upstream.headers.get("Cache-Control", "no-cache")
    response["Vary"] = "Cookie, Authorization" + (
        f", {upstream.headers['Vary']}" if upstream.headers.get("Vary") else ""
    )
    return response


def _stream(upstream: requests.Response, decode: bool) -> Iterator[bytes]:
    try:
        # As sent (a gzip body stays gzip, matching the Content-Encoding passed on), unless the
        # client did not ask for gzip.
        yield from upstream.raw.stream(CHUNK, decode_content=decode)
    finally:
        upstream.close()
