"""Encryption at rest: unreadable raw values, key rotation, old keys until retired."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag
from django.core.management import call_command
from django.db import connection

from authentication import crypto, rotation, services
from authentication.models import AuditEvent, UserProfile
from file_upload.models import File
from file_upload.tests.factories import ProjectFactory, make_file

pytestmark = pytest.mark.django_db

K1, K2 = crypto.generate_key(), crypto.generate_key()


def kid(key: str) -> str:
    return crypto._fingerprint(crypto._decode(key))


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


@pytest.fixture
def keys(settings):
    settings.BIOFM_FIELD_KEYS = [K1]
    settings.BIOFM_FIELD_KEY_SOURCE = "env"
    return settings


@pytest.fixture
def sensitive_file(keys, alice):
    project = ProjectFactory(name="Clinic", owner=alice)
    file = make_file(project)
    File.objects.filter(pk=file.pk).update(notes="Patient consented 2024-02-01", donor_id="MRN-0042")
    return file


class TestAtRest:
    def test_raw_columns_hold_no_plaintext(self, sensitive_file, alice):
        services.update_profile(alice, actor=alice, full_name="Alice Example", phone="+44 1234", affiliation="Lab")
        for column, secret in (("notes", "Patient consented"), ("donor_id", "MRN-0042")):
            stored = raw("file_upload_file", column, sensitive_file.pk)
            assert stored.startswith(f"enc1:{kid(K1)}:") and secret not in stored
        profile = UserProfile.objects.get(user=alice)
        for column in ("full_name", "phone", "affiliation"):
            stored = raw("biofm_user_profile", column, profile.pk)
            assert stored.startswith("enc1:") and "Alice" not in stored and "1234" not in stored
        file = File.objects.get(pk=sensitive_file.pk)
        assert (file.notes, file.donor_id) == ("Patient consented 2024-02-01", "MRN-0042")
        assert UserProfile.objects.get(user=alice).full_name == "Alice Example"

    def test_same_plaintext_encrypts_differently_and_is_bound_to_its_column(self, sensitive_file):
        a = crypto.encrypt("x", "file_upload.file.notes")
        assert a != crypto.encrypt("x", "file_upload.file.notes")
        with pytest.raises(InvalidTag):
            crypto.decrypt(a, "file_upload.file.donor_id")

    def test_profile_audit_names_fields_not_values(self, keys, alice, api):
        response = api.patch("/api/auth/profile/", {"full_name": "Alice Example", "phone": "555"}, format="json")
        assert response.status_code == 200 and response.json()["full_name"] == "Alice Example"
        event = AuditEvent.objects.get(action="user.profile_update")
        assert event.details == {"fields": ["full_name", "phone"]}
        assert api.get("/api/auth/profile/").json()["phone"] == "555"


class TestRotation:
    def test_rotation_reencrypts_and_old_key_decrypts_until_retired(self, sensitive_file, keys, alice):
        services.update_profile(alice, actor=alice, full_name="Alice Example")
        assert rotation.key_usage() == {kid(K1): 3}
        keys.BIOFM_FIELD_KEYS = [K2, K1]  # new key first, old one kept for decryption
        assert File.objects.get(pk=sensitive_file.pk).donor_id == "MRN-0042"
        done = rotation.reencrypt_all()
        assert done["file_upload.file.notes"] == 1 and done["authentication.userprofile.full_name"] == 1
        assert rotation.key_usage() == {kid(K2): 3}
        assert raw("file_upload_file", "donor_id", sensitive_file.pk).startswith(f"enc1:{kid(K2)}:")
        assert AuditEvent.objects.filter(action="crypto.rotate").count() == 1
        keys.BIOFM_FIELD_KEYS = [K2]  # K1 retired
        assert File.objects.get(pk=sensitive_file.pk).notes == "Patient consented 2024-02-01"
        keys.BIOFM_FIELD_KEYS = [K1]  # a value under a key no longer configured is an error
        with pytest.raises(crypto.FieldKeyMissing):
            File.objects.get(pk=sensitive_file.pk)

    def test_command_with_key_file_new_and_retire(self, sensitive_file, keys, tmp_path, capsys):
        key_file = tmp_path / "field_keys"
        key_file.write_text(K1 + "\n")
        keys.BIOFM_FIELD_KEY_SOURCE = str(key_file)
        call_command("rotate_field_key", "--new")
        out = capsys.readouterr().out
        new_id = crypto.current_key_id()
        assert new_id != kid(K1) and "Re-encrypted 1 value(s) in file_upload.file.notes" in out
        assert key_file.read_text().count("\n") == 2
        call_command("rotate_field_key", "--retire", kid(K1))
        assert key_file.read_text().count("\n") == 1
        assert File.objects.get(pk=sensitive_file.pk).donor_id == "MRN-0042"

    def test_retiring_a_key_in_use_is_refused(self, sensitive_file, keys, tmp_path):
        key_file = tmp_path / "field_keys"
        keys.BIOFM_FIELD_KEYS = [K2, K1]
        key_file.write_text(K2 + "\n" + K1 + "\n")
        keys.BIOFM_FIELD_KEY_SOURCE = str(key_file)
        from django.core.management.base import CommandError

        with pytest.raises(CommandError):
            call_command("rotate_field_key", "--retire", kid(K1))

    def test_plaintext_left_from_before_encryption_is_encrypted_by_rotation(self, sensitive_file, keys):
        with connection.cursor() as cursor:
            cursor.execute("UPDATE file_upload_file SET notes = %s WHERE id = %s", ["legacy", sensitive_file.pk])
        assert File.objects.get(pk=sensitive_file.pk).notes == "legacy"
        rotation.reencrypt_all()
        assert raw("file_upload_file", "notes", sensitive_file.pk).startswith("enc1:")


class TestFileApi:
    def test_sensitive_fields_only_on_detail_for_editors_and_never_in_audit(self, sensitive_file, api, client_for, bob):
        response = api.patch(f"/api/files/{sensitive_file.pk}/", {"donor_id": "MRN-0099"}, format="json")
        assert response.status_code == 200 and response.json()["donor_id"] == "MRN-0099"
        assert api.get(f"/api/files/{sensitive_file.pk}/").json()["notes"] == "Patient consented 2024-02-01"
        assert api.get("/api/files/").json()["results"][0]["donor_id"] is None
        other = client_for(bob).get(f"/api/files/{sensitive_file.pk}/").json()  # internal: bob sees the file
        assert other["name"] and other["donor_id"] is None and other["notes"] is None
        event = AuditEvent.objects.filter(action="file.update").latest("id")
        assert "MRN" not in str(event.details)

    @pytest.mark.parametrize("backend", ["tantivy", "sql"])
    def test_a_listing_decrypts_nothing(self, sensitive_file, api, settings, monkeypatch, backend):
        """The file list never shows the encrypted fields, so it neither loads nor decrypts them
        (the detail view still does, for editors)."""
        settings.BIOFM_SEARCH_BACKEND = backend
        decrypted = []
        decrypt = crypto.decrypt
        monkeypatch.setattr(crypto, "decrypt", lambda *args: decrypted.append(args[1]) or decrypt(*args))
        listing = api.get("/api/files/", {"q": sensitive_file.name[:4], "facets": "organism"})
        assert listing.status_code == 200 and listing["X-Search-Backend"] == backend
        row = next(item for item in listing.json()["results"] if item["id"] == sensitive_file.pk)
        assert row["notes"] is None and row["donor_id"] is None and decrypted == []
        detail = api.get(f"/api/files/{sensitive_file.pk}/").json()
        assert detail["donor_id"] == "MRN-0042"
        assert sorted(decrypted) == ["file_upload.file.donor_id", "file_upload.file.notes"]
