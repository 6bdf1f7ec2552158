"""Transport and browser hardening: CSP, framing, nosniff, and the BIOFM_HTTPS production switch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def test_api_and_spa_answers_carry_the_headers(client: Client):
    for path in ("/api/metadata/fields/", "/healthz", "/login"):
        response = client.get(path)
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'self'" in csp and "frame-src 'self'" in csp and "object-src 'none'" in csp
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "SAMEORIGIN"
        assert response["Referrer-Policy"] == "same-origin"
        assert "camera=()" in response["Permissions-Policy"]


def test_cellxgene_proxy_keeps_only_the_framing_rule(client: Client):
    response = client.get("/cellxgene/")
    assert response["Content-Security-Policy"] == "frame-ancestors 'self'"
    assert response["X-Frame-Options"] == "SAMEORIGIN"


def test_swagger_ui_runs_without_inline_script(client: Client):
    html = client.get("/api/docs/").content.decode()
    assert "<script>" not in html.replace(" ", "")


@override_settings(BIOFM_CSP_REPORT_ONLY=True)
def test_report_only_mode(client: Client):
    response = client.get("/api/metadata/fields/")
    assert "Content-Security-Policy-Report-Only" in response
    assert "Content-Security-Policy" not in response


def _settings_with(env: dict[str, str], tmp_path: Path) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps({k: "
        "getattr(s, k, None) for k in ['SECURE_SSL_REDIRECT','SESSION_COOKIE_SECURE','CSRF_COOKIE_SECURE',"
        "'SECURE_HSTS_SECONDS','SECURE_PROXY_SSL_HEADER','SECURE_CONTENT_TYPE_NOSNIFF','X_FRAME_OPTIONS',"
        "'SECURE_REDIRECT_EXEMPT']}))"
    )
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "file_project.settings", "BIOFM_DATA_DIR": str(tmp_path), **env}
    command = [sys.executable, "-c", code]
    out = subprocess.run(command, cwd=ROOT, env=full_env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_https_switch_turns_on_secure_cookies_hsts_and_redirect(tmp_path):
    on = _settings_with({"BIOFM_HTTPS": "1", "BIOFM_FIELD_KEY": ""}, tmp_path)
    assert on["SECURE_SSL_REDIRECT"] and on["SESSION_COOKIE_SECURE"] and on["CSRF_COOKIE_SECURE"]
    assert on["SECURE_HSTS_SECONDS"] >= 31536000
    assert on["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    off = _settings_with({"BIOFM_HTTPS": "0", "BIOFM_FIELD_KEY": ""}, tmp_path)
    assert not off["SECURE_SSL_REDIRECT"] and not off["SESSION_COOKIE_SECURE"]
    assert off["SECURE_CONTENT_TYPE_NOSNIFF"] and off["X_FRAME_OPTIONS"] == "SAMEORIGIN"


@override_settings(
    SECURE_SSL_REDIRECT=True,
    SECURE_HSTS_SECONDS=31536000,
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    SECURE_REDIRECT_EXEMPT=[r"^healthz$"],
)
def test_behind_the_proxy_http_redirects_and_https_gets_hsts(client: Client):
    plain = client.get("/api/metadata/fields/")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    assert client.get("/healthz").status_code in (200, 503)  # probes are never redirected
    secure = client.get("/api/metadata/fields/", HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")
