"""One client address for the audit trail, the lockout, throttling and the download report: the
peer, unless it is a trusted proxy; then the right-most untrusted ``X-Forwarded-For`` hop."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from authentication import lockout
from authentication.models import AuditEvent
from file_download.reports import download_report_rows
from file_project.client_address import client_address
from file_upload.tests.factories import ProjectFactory, make_file

pytestmark = pytest.mark.django_db
PROXY = "10.0.0.9"


def token_request(client, password, **extra):
    return client.post("/api/auth/token/", {"username": "alice", "password": password}, format="json", **extra)


def address(remote: str, forwarded: str | None = None) -> str:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_address(RequestFactory().get("/", REMOTE_ADDR=remote, **extra))


class TestRule:
    def test_no_trusted_proxy_means_the_peer(self, settings):
        settings.BIOFM_HTTPS = True
        assert address(PROXY, "6.6.6.6") == PROXY

    def test_trusted_proxy_gives_the_rightmost_untrusted_hop(self, settings):
        settings.BIOFM_TRUSTED_PROXIES = ["10.0.0.0/8", "::1"]
        assert address(PROXY, "6.6.6.6, 198.51.100.7") == "198.51.100.7"
        assert address(PROXY, "6.6.6.6, 198.51.100.7, 10.1.1.1") == "198.51.100.7"  # two proxies
        assert address("::1", "2001:db8::5") == "2001:db8::5"
        assert address("192.0.2.1", "6.6.6.6") == "192.0.2.1"  # not from a trusted proxy
        assert address(PROXY) == PROXY  # a trusted proxy's own request
        assert address(PROXY, "10.2.2.2, 10.3.3.3") == "10.2.2.2"  # all trusted: the farthest known
        assert address(PROXY, "6.6.6.6, not-an-ip, 10.3.3.3") == "10.3.3.3"  # garbage stops the walk

    def test_a_wrong_setting_stops_the_start(self, tmp_path):
        import os
        import subprocess
        import sys

        env = {**os.environ, "BIOFM_TRUSTED_PROXIES": "10.0.0.0/8,not-a-network", "BIOFM_DATA_DIR": str(tmp_path)}
        done = subprocess.run(
            [sys.executable, "-c", "import django; django.setup()"],
            env={**env, "DJANGO_SETTINGS_MODULE": "file_project.settings"},
            capture_output=True,
            text=True,
        )
        assert done.returncode != 0 and "not-a-network" in done.stderr


class TestOneAddressEverywhere:
    def test_spoofed_forwarded_for_is_not_logged_from_an_untrusted_peer(self, alice, settings):
        settings.BIOFM_HTTPS = True  # a TLS deployment that did not name its proxy
        project = ProjectFactory(name="P", owner=alice)
        file = make_file(project)
        client = APIClient(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"6.6.6.6, {PROXY}")
        client.force_authenticate(alice)
        assert client.get(f"/api/files/{file.id}/download/", secure=True).status_code == 200
        event = AuditEvent.objects.get(action="file.download")
        assert event.ip == PROXY
        report = list(download_report_rows(project.id))
        assert report[1][report[0].index("ip")] == PROXY

    def test_audit_and_lockout_agree_behind_a_trusted_proxy(self, alice, settings):
        settings.BIOFM_TRUSTED_PROXIES = [PROXY]
        settings.BIOFM_LOGIN_LOCKOUT_THRESHOLD = 2
        client = APIClient(REMOTE_ADDR=PROXY)
        for spoof in ("1.1.1.1", "2.2.2.2"):  # the client's word changes; the proxy's entry does not
            token_request(client, "wrong", HTTP_X_FORWARDED_FOR=f"{spoof}, 198.51.100.7")
        failed = AuditEvent.objects.filter(action="auth.login_failed")
        assert set(failed.values_list("ip", flat=True)) == {"198.51.100.7"}
        assert AuditEvent.objects.get(action="auth.lockout").ip == "198.51.100.7"
        assert lockout.seconds_locked("alice", "198.51.100.7") > 0
        locked = token_request(client, "s3cret-pass!", HTTP_X_FORWARDED_FOR="3.3.3.3, 198.51.100.7")
        assert locked.status_code == 429
        other = token_request(client, "s3cret-pass!", HTTP_X_FORWARDED_FOR="198.51.100.8")
        assert other.status_code == 200

    def test_throttling_counts_the_same_address(self, alice, settings, throttle_rates):
        throttle_rates(auth="2/min")
        client = APIClient(REMOTE_ADDR=PROXY)
        for spoof in ("1.1.1.1", "2.2.2.2"):
            assert token_request(client, "s3cret-pass!", HTTP_X_FORWARDED_FOR=spoof).status_code == 200
        assert token_request(client, "s3cret-pass!", HTTP_X_FORWARDED_FOR="3.3.3.3").status_code == 429
        settings.BIOFM_TRUSTED_PROXIES = [PROXY]
        assert token_request(client, "s3cret-pass!", HTTP_X_FORWARDED_FOR="4.4.4.4").status_code == 200
