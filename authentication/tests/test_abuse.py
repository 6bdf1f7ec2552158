"""Abuse resistance: throttling, login lockout with backoff, name sanitising, no leaked tracebacks."""

from __future__ import annotations

import unicodedata

import pytest
from django.test import Client
from rest_framework.test import APIClient

from authentication import lockout
from authentication.models import AuditEvent
from file_upload.tests.factories import ProjectFactory, make_file

pytestmark = pytest.mark.django_db


def token_request(client, password, username="alice", **extra):
    return client.post("/api/auth/token/", {"username": username, "password": password}, format="json", **extra)


class TestThrottling:
    def test_token_endpoint_is_throttled_with_retry_after(self, alice, throttle_rates):
        throttle_rates(auth="3/min")
        client = APIClient()
        for _ in range(3):
            assert token_request(client, "s3cret-pass!").status_code == 200
        response = token_request(client, "s3cret-pass!")
        assert response.status_code == 429
        assert response.json()["code"] == "throttled"
        assert int(response["Retry-After"]) > 0

    def test_upload_scope_applies_to_create_not_to_listing(self, api, alice, throttle_rates):
        throttle_rates(upload="1/min")
        project = ProjectFactory(name="Atlas", owner=alice)
        from django.core.files.uploadedfile import SimpleUploadedFile

        def upload(name):
            data = {"file": SimpleUploadedFile(name, b"ACGT"), "project": project.id}
            return api.post("/api/files/", data, format="multipart")

        assert upload("a.txt").status_code == 201
        assert upload("b.txt").status_code == 429
        for _ in range(3):
            assert api.get("/api/files/").status_code == 200

    def test_admin_login_is_throttled_with_the_api_counters(self, make_user, throttle_rates):
        throttle_rates(auth="3/min")
        make_user("root", is_staff=True, is_superuser=True)
        assert token_request(APIClient(), "wrong", username="root").status_code == 400
        client = Client()
        assert client.get("/admin/login/").status_code == 200  # showing the form is not counted
        for _ in range(2):
            assert client.post("/admin/login/", {"username": "root", "password": "wrong"}).status_code == 200
        refused = client.post("/admin/login/?next=/admin/", {"username": "root", "password": "s3cret-pass!"})
        assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
        assert "_auth_user_id" not in client.session
        assert token_request(APIClient(), "s3cret-pass!", username="root").status_code == 429

    def test_scopes_are_off_by_default_in_tests(self, alice):
        client = APIClient()
        for _ in range(30):
            assert token_request(client, "s3cret-pass!").status_code == 200


class TestLockout:
    def test_lockout_after_threshold_with_backoff_and_audit(self, alice, settings):
        settings.BIOFM_LOGIN_LOCKOUT_THRESHOLD = 3
        settings.BIOFM_LOGIN_LOCKOUT_BASE_SECONDS = 60
        client = APIClient()
        for _ in range(2):
            assert token_request(client, "wrong").status_code == 400
        third = token_request(client, "wrong")
        assert third.status_code == 429
        assert third.json()["code"] == "locked_out"
        assert 55 <= int(third["Retry-After"]) <= 61
        # The right password is refused too while locked, without being checked.
        locked = token_request(client, "s3cret-pass!")
        assert locked.status_code == 429
        event = AuditEvent.objects.get(action="auth.lockout")
        assert event.details["failures"] == 3 and event.details["seconds"] == 60
        assert event.actor_username == "alice"

    def test_backoff_doubles(self, settings):
        settings.BIOFM_LOGIN_LOCKOUT_THRESHOLD = 2
        settings.BIOFM_LOGIN_LOCKOUT_BASE_SECONDS = 10
        settings.BIOFM_LOGIN_LOCKOUT_MAX_SECONDS = 30
        assert lockout.register_failure("eve", "10.0.0.1") == 0
        assert lockout.register_failure("eve", "10.0.0.1") == 10
        lockout.cache.set(lockout._key("eve", "10.0.0.1"), {**lockout._state("eve", "10.0.0.1"), "locked_until": 0.0})
        assert lockout.register_failure("eve", "10.0.0.1") == 20
        lockout.cache.set(lockout._key("eve", "10.0.0.1"), {**lockout._state("eve", "10.0.0.1"), "locked_until": 0.0})
        assert lockout.register_failure("eve", "10.0.0.1") == 30  # capped

    def test_lock_is_per_username_and_address(self, alice, bob, settings):
        settings.BIOFM_LOGIN_LOCKOUT_THRESHOLD = 2
        client = APIClient()
        token_request(client, "wrong")
        token_request(client, "wrong")
        assert token_request(client, "s3cret-pass!").status_code == 429
        assert token_request(client, "s3cret-pass!", username="bob").status_code == 200
        other_address = token_request(client, "s3cret-pass!", REMOTE_ADDR="10.1.2.3")
        assert other_address.status_code == 200

    def test_success_clears_failures(self, alice, settings):
        settings.BIOFM_LOGIN_LOCKOUT_THRESHOLD = 3
        client = APIClient()
        token_request(client, "wrong")
        token_request(client, "wrong")
        assert token_request(client, "s3cret-pass!").status_code == 200
        token_request(client, "wrong")
        token_request(client, "wrong")
        assert token_request(client, "s3cret-pass!").status_code == 200

    def test_admin_login_form_is_locked_too(self, make_user, settings):
        settings.BIOFM_LOGIN_LOCKOUT_THRESHOLD = 2
        make_user("root", is_staff=True, is_superuser=True)
        client = Client()
        for _ in range(2):
            client.post("/admin/login/", {"username": "root", "password": "wrong"})
        response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": "s3cret-pass!"})
        assert response.status_code == 429  # as on the API: refused before the password is checked
        assert 55 <= int(response["Retry-After"]) <= 61
        assert "_auth_user_id" not in client.session
        other = Client(REMOTE_ADDR="10.9.9.9")  # the lock is per username and address
        assert (
            other.post("/admin/login/?next=/admin/", {"username": "root", "password": "s3cret-pass!"}).status_code
            == 302
        )

    def test_forwarded_for_is_ignored_without_a_proxy(self, alice, settings):
        settings.BIOFM_LOGIN_LOCKOUT_THRESHOLD = 2
        client = APIClient()
        token_request(client, "wrong", HTTP_X_FORWARDED_FOR="1.1.1.1")
        token_request(client, "wrong", HTTP_X_FORWARDED_FOR="2.2.2.2")
        assert token_request(client, "s3cret-pass!", HTTP_X_FORWARDED_FOR="3.3.3.3").status_code == 429


class TestNames:
    @pytest.mark.parametrize(
        "name",
        ["../etc/passwd", "a/b", "a\\b", "..", "bad\x00name", "bell\x07", "line\nbreak", "rtl\u202egpj.exe", " pad"],
    )
    def test_dangerous_names_are_refused(self, api, alice, name):
        project = ProjectFactory(name="Atlas", owner=alice)
        file = make_file(project)
        response = api.patch(f"/api/files/{file.id}/", {"name": name}, format="json")
        assert response.status_code == 400, name
        assert response.json()["code"] in {"invalid_name", "invalid", "blank", "null_characters_not_allowed"}

    def test_names_are_stored_nfc(self, api, alice):
        project = ProjectFactory(name="Atlas", owner=alice)
        decomposed = unicodedata.normalize("NFD", "café.fastq")
        file = make_file(project, decomposed)
        assert file.name == "café.fastq" and unicodedata.is_normalized("NFC", file.name)
        response = api.post("/api/folders/", {"project": project.id, "name": unicodedata.normalize("NFD", "Zürich")})
        assert response.json()["name"] == unicodedata.normalize("NFC", "Zürich")
        # The composed spelling of the same name is the same name: 409, not a look-alike twin.
        from file_project.errors import Conflict

        with pytest.raises(Conflict):
            make_file(project, "café.fastq")


class TestServerErrors:
    def test_unexpected_error_is_json_without_traceback(self, api, alice, monkeypatch, settings):
        settings.DEBUG = True  # even in debug mode nothing leaks under /api/
        from file_upload import views

        def boom(self, *args, **kwargs):
            raise RuntimeError("secret internals /srv/biofm/settings.py")

        monkeypatch.setattr(views.ProjectViewSet, "list", boom)
        api.raise_request_exception = False
        response = api.get("/api/projects/")
        assert response.status_code == 500
        body = response.json()
        assert body["code"] == "server_error" and body["ref"]
        assert "secret" not in response.content.decode() and "Traceback" not in response.content.decode()
