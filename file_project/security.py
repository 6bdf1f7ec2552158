"""Security headers on every response: Content-Security-Policy and Permissions-Policy.

The policy fits the SPA as Vite builds it (module scripts from our origin, no inline script),
Element Plus and ECharts (inline ``style`` attributes and injected ``<style>``: hence
``style-src 'unsafe-inline'``; ECharts draws on canvas, exports as ``data:``/``blob:`` images)
and the cellxgene viewer embedded from our own origin (``frame-src 'self'``); nobody else may
frame us (``frame-ancestors 'self'``, with ``X-Frame-Options: SAMEORIGIN`` for old browsers).
Responses proxied from the cellxgene viewer keep only the framing rule: its bundled UI is not
ours to rewrite. ``BIOFM_CSP`` replaces the policy; ``BIOFM_CSP_REPORT_ONLY`` sends it as
report-only while trying a change. HSTS, secure cookies and the HTTPS redirect are Django's
(``BIOFM_HTTPS`` in settings).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

DEFAULT_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "frame-src 'self'",
        "frame-ancestors 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ]
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        header = "Content-Security-Policy-Report-Only" if settings.BIOFM_CSP_REPORT_ONLY else "Content-Security-Policy"
        if request.path.startswith("/cellxgene/"):
            response.headers.setdefault(header, "frame-ancestors 'self'")
        else:
            response.headers.setdefault(header, settings.BIOFM_CSP or DEFAULT_CSP)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
