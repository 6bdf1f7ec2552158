"""The one place that knows how DRF wraps Django's request.

Django's own functions (``login``, ``logout``, ``authenticate``) and the download service, which
answers with Django responses (ranges, conditional requests, X-Accel-Redirect), take Django's
``HttpRequest``; a DRF view has a ``rest_framework.request.Request`` around it. DRF offers no
public accessor, so ``django_request`` reads its attribute here, and nowhere else."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def django_request(request: Any) -> HttpRequest:
    """The ``HttpRequest`` under a DRF ``Request`` (or ``request`` itself when it is one)."""
    inner = getattr(request, "_request", request)
    if not isinstance(inner, HttpRequest):
        raise TypeError(f"not a request: {type(request).__name__}")
    return inner
