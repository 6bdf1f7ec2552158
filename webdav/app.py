"""The WsgiDAV application, built once per process, and its mounting under ``/dav/`` as a
Django view (so requests pass Django's middleware: the audit context, metrics, headers)."""

from __future__ import annotations

import functools
import itertools
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from wsgidav.dir_browser import WsgiDavDirBrowser
from wsgidav.error_printer import ErrorPrinter
from wsgidav.request_resolver import RequestResolver
from wsgidav.wsgidav_app import WsgiDAVApp

from file_download.responses import serve_file

from . import auth
from .provider import WorkspaceProvider
from .state import DbLockStorage, DbPropertyManager

MOUNT = "/dav"


@functools.cache
def provider() -> WorkspaceProvider:
    return WorkspaceProvider()


@functools.cache
def application() -> WsgiDAVApp:
    return WsgiDAVApp(
        {
            "mount_path": MOUNT,
            "provider_mapping": {"/": provider()},
            "lock_storage": DbLockStorage(),
            "property_manager": DbPropertyManager(),
            # Authentication happens before WsgiDAV (``auth.py``), so its authenticator is left out.
            "middleware_stack": [ErrorPrinter, WsgiDavDirBrowser, RequestResolver],
            "dir_browser": {
                "enable": True,
                "response_trailer": "",
                "show_user": True,
                "davmount": True,
                "ms_sharepoint_support": False,
                "libre_office_support": False,
            },
            "block_size": 1024 * 1024,
            # Django has already decoded PATH_INFO to text (WSGIRequest sets META["PATH_INFO"]).
            "hotfixes": {"re_encode_path_info": False},
            "suppress_version_info": True,
            "verbose": 1,
            "logging": {"enable": True},
        }
    )


def _refuse(outcome: auth.Outcome) -> HttpResponse:
    response = HttpResponse(outcome.detail + "\n", status=outcome.status, content_type="text/plain; charset=utf-8")
    if outcome.status == 401:
        response["WWW-Authenticate"] = f'Basic realm="{auth.REALM}", charset="UTF-8"'
    if outcome.retry_after:
        response["Retry-After"] = str(outcome.retry_after)
    return response


@csrf_exempt
def dav_view(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    outcome = auth.authenticate(request)
    if outcome.user is None:
        return _refuse(outcome)
    user = outcome.user
    request.user = user
    if request.method in ("GET", "HEAD"):
        # A file's bytes: the download service (Range, If-Range, ETag = SHA-256, the audit).
        file = provider().resolve_file(request.path_info[len(MOUNT) :] or "/", user)
        if file is not None:
            return serve_file(request, file, actor=user, via="webdav")
    environ = dict(request.environ)
    environ["PATH_INFO"] = environ.get("PATH_INFO", "")[len(MOUNT) :] or "/"
    environ["SCRIPT_NAME"] = MOUNT
    if environ.get("CONTENT_LENGTH"):
        environ["wsgi.input"] = request  # reads stop at Content-Length; chunked bodies stay on the server's stream
    environ.update(
        {
            "biofm.user": user,
            "wsgidav.auth.user_name": user.get_username(),
            "wsgidav.auth.realm": auth.REALM,
            "wsgidav.auth.roles": None,
            "wsgidav.auth.permissions": None,
        }
    )
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started["status"], started["headers"] = status, headers
        return lambda data: None

    result = application()(environ, start_response)
    chunks = iter(result)
    # The request is handled while the first chunk is produced: inside this view, so inside the
    # middleware that gives services the request's audit context.
    first = list(itertools.islice(chunks, 1))
    code, _, reason = started["status"].partition(" ")
    response = StreamingHttpResponse(itertools.chain(first, chunks), status=int(code), reason=reason or None)
    for name, value in started["headers"]:
        if name.lower() != "connection":
            response[name] = value
    if hasattr(result, "close"):
        response._resource_closers.append(result.close)
    return response
