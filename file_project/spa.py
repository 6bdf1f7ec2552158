"""Serves the built SPA's ``index.html`` for every client-side route (history mode)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe


@require_safe
@ensure_csrf_cookie
def spa_index(request: HttpRequest, path: str = "") -> HttpResponse:
    index = settings.SPA_DIST_DIR / "index.html"
    if not index.is_file():
        return HttpResponse(
            "The web interface is not built: run `npm --prefix frontend ci && npm --prefix "
            "frontend run build`, or ./scripts/start_services.sh.\n",
            status=503,
            content_type="text/plain",
        )
    response = HttpResponse(index.read_bytes(), content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response
