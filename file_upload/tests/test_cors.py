"""CORS for the API and tus (django-cors-headers, ``BIOFM_CORS_ORIGINS``): a listed origin gets
its preflight answered with the tus request headers allowed and the tus response headers
exposed; any other origin, and every origin by default, gets no ``Access-Control-Allow-Origin``.
No credentials cross origins."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from authentication.services import issue_token

pytestmark = pytest.mark.django_db
LAB = "https://dashboard.lab.example"


def preflight(path: str, origin: str, method: str = "POST", headers: str = "tus-resumable,upload-length"):
    return APIClient().options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers,
    )


def test_no_origin_is_allowed_by_default():
    response = preflight("/api/uploads/", LAB)
    assert "Access-Control-Allow-Origin" not in response


def test_a_listed_origin_may_upload_with_tus(settings, alice):
    settings.CORS_ALLOWED_ORIGINS = [LAB]
    tus_headers = "authorization,tus-resumable,upload-length,upload-metadata,upload-offset,upload-concat,content-type"
    response = preflight("/api/uploads/", LAB, headers=tus_headers)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == LAB
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert set(tus_headers.split(",")) <= allowed
    assert "PATCH" in response["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response

    token = issue_token(alice)
    answer = APIClient().options("/api/uploads/", HTTP_ORIGIN=LAB)  # tus discovery
    assert answer["Access-Control-Allow-Origin"] == LAB
    exposed = {h.strip().lower() for h in answer["Access-Control-Expose-Headers"].split(",")}
    assert {"location", "upload-offset", "upload-length", "tus-resumable", "tus-version", "tus-extension"} <= exposed
    files = APIClient().get("/api/files/", HTTP_ORIGIN=LAB, HTTP_AUTHORIZATION=f"Token {token}")
    assert files.status_code == 200 and files["Access-Control-Allow-Origin"] == LAB


def test_an_unlisted_origin_gets_no_cors_headers(settings):
    settings.CORS_ALLOWED_ORIGINS = [LAB]
    response = preflight("/api/uploads/", "https://evil.example")
    assert "Access-Control-Allow-Origin" not in response
