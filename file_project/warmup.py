"""Warming a fresh web process up before it accepts requests (gunicorn's ``post_worker_init``
hook, ``gunicorn.conf.py``), so that the first request after a restart or a deploy costs what
any other does instead of ~1 s of first-time work: importing the views, serializers, filter
sets and renderers, building the URL resolver and DRF's settings, the file serializer's field
plan, the search package's query code, and opening the node's search index. Before them it
brings the index's files into the page cache (``engine.preload``, ``BIOFM_SEARCH_PRELOAD``), so
that after a reboot the first searches do not wait on the disk either.

It runs two requests through the real WSGI application, in this process only, as an anonymous
caller and asking for nothing anyone could see (project 0 does not exist): a faceted search
with free text, which takes the index path (or SQL's when the index cannot answer), and the
serializers of a file page fed an unsaved file made up here. No user, no stored row and no
response leaves the process; the database connection the warm-up opened is closed again (the
requests are served by other threads, each with its own).
"""

from __future__ import annotations

import io
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

# Nothing exists in project 0: both backends answer at once, whatever the number of files.
SEARCH_PATH = "/api/files/"
SEARCH_QUERY = "project=0&q=warm-up&page_size=50&facets={facets}"


def _environ(path: str, query: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "HTTP_HOST": "localhost",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_ACCEPT": "application/json",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def _request(app: Callable, path: str, query: str) -> str:
    status: list[str] = []
    body = app(_environ(path, query), lambda code, headers, exc_info=None: status.append(code))
    try:
        for _ in body:
            pass
    finally:
        if hasattr(body, "close"):
            body.close()
    return status[0] if status else "no answer"


def _preload_index() -> None:
    """The node's index into the page cache (``engine.preload``), when searches use it."""
    from django.conf import settings

    if settings.BIOFM_SEARCH_BACKEND != "tantivy" or not settings.BIOFM_SEARCH_PRELOAD:
        return
    from file_upload.search import engine

    started = time.monotonic()
    read, announced = engine.preload()
    log.info(
        "search index preloaded: %.0f MB read, %.0f MB read ahead, %.0f ms",
        read / 2**20,
        announced / 2**20,
        (time.monotonic() - started) * 1000,
    )


def _serialize_a_made_up_page() -> None:
    """The file serializer's plan and every field's rendering, on an unsaved file (no row)."""
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory
    from rest_framework.request import Request

    from file_upload.models import File
    from file_upload.serializers import FileSerializer

    request = Request(RequestFactory().get(SEARCH_PATH))
    request.user = AnonymousUser()
    made_up = File(id=0, name="warm-up.fastq", project_id=0, size=0, access_level="public", tags=["warm-up"])
    made_up.effective_access_level = "public"
    made_up.owner_username = ""
    FileSerializer([made_up], many=True, context={"request": request}).data  # noqa: B018


def warm_up(app: Callable) -> float:
    """Warm this process up (see the module's text); returns the seconds it took. Failures are
    logged, never raised: a worker that could not warm up still serves, only slower at first."""
    from django.conf import settings
    from django.db import connections

    from file_upload.search import declarations

    started = time.monotonic()
    query = SEARCH_QUERY.format(facets=",".join(item["name"] for item in declarations.facet_list()))
    wait = settings.BIOFM_SEARCH_FRESHNESS_WAIT
    settings.BIOFM_SEARCH_FRESHNESS_WAIT = 0  # an index behind the feed: SQL answers, no waiting
    try:
        _preload_index()
    except Exception:  # a search that reads the disk is slower, not wrong
        log.exception("search index preload failed")
    try:
        status = _request(app, SEARCH_PATH, query)
        if not status.startswith("200"):
            log.warning("warm-up search answered %s", status)
        _serialize_a_made_up_page()
    except Exception:  # never keep a worker from serving
        log.exception("warm-up failed")
    finally:
        settings.BIOFM_SEARCH_FRESHNESS_WAIT = wait
        connections.close_all()
    return time.monotonic() - started
