from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from rest_framework.test import APIClient

from authentication import audit
from authentication.models import AuditEvent
from file_upload.tests.factories import ProjectFactory, make_file

pytestmark = pytest.mark.django_db


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


class TestChain:
    def test_events_link_into_a_verifiable_chain(self, alice):
        first = audit.record(alice, "test.one", alice, note="a")
        second = audit.record(None, "test.two", username="ghost")
        assert first.prev_hash == audit.GENESIS_HASH
        assert second.prev_hash == first.hash
        assert second.actor_username == "ghost" and second.actor is None
        assert audit.verify_chain() == {
            "ok": True,
            "checked": 2,
            "first_broken": None,
            "reason": None,
            "head": second.id,
            "checkpoint": None,  # nothing committed, so nothing in the log yet
        }
        assert second.mac == audit.mac_for(second.hash) and len(second.mac) == 64

    def test_plain_update_and_delete_are_refused_by_the_database(self, alice):
        event = audit.record(alice, "test.one")
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(id=event.id).update(action="forged")
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(id=event.id).delete()
        event.refresh_from_db()
        assert event.action == "test.one"

    def test_tampering_behind_the_triggers_is_named_by_audit_verify(self, alice):
        events = [audit.record(alice, f"test.{i}", n=i) for i in range(5)]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ALTER TABLE biofm_audit_event DISABLE TRIGGER biofm_audit_append_only")
            else:
                cursor.execute("DROP TRIGGER biofm_audit_no_update")
            cursor.execute("UPDATE biofm_audit_event SET details = %s WHERE id = %s", ['{"n": 99}', events[2].id])
        result = audit.verify_chain()
        assert (result["ok"], result["checked"], result["first_broken"], result["reason"]) == (
            False,
            2,
            events[2].id,
            "hash",
        )
        with pytest.raises(CommandError, match=f"broken at event {events[2].id}"):
            call_command("audit_verify")

    def test_audit_verify_command_reports_an_intact_chain(self, alice, capsys):
        audit.record(alice, "test.one")
        call_command("audit_verify")
        assert "1 events checked" in capsys.readouterr().out

    def test_events_are_copied_to_a_jsonl_file_after_commit(self, alice, settings, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            event = audit.record(alice, "test.jsonl", value=1)
        lines = (settings.BIOFM_LOG_DIR / "audit.jsonl").read_text().splitlines()
        row = json.loads(lines[-1])
        assert (row["id"], row["action"], row["hash"], row["details"]) == (
            event.id,
            "test.jsonl",
            event.hash,
            {"value": 1},
        )

    def test_request_ip_and_agent_are_recorded(self, alice):
        client = APIClient(REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="curl/8.0")
        client.post("/api/auth/token/", {"username": "alice", "password": "s3cret-pass!"}, format="json")
        event = AuditEvent.objects.get(action="auth.token_created")
        assert (event.ip, event.user_agent, event.actor_username) == ("10.1.2.3", "curl/8.0", "alice")


def define_the_guard_away() -> None:
    """What a database owner can do: replace the trigger function (PostgreSQL) or drop the
    triggers (SQLite). Rolled back with the test's transaction."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE OR REPLACE FUNCTION biofm_audit_append_only() RETURNS trigger AS $$ "
                "BEGIN IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql"
            )
        else:
            cursor.execute("DROP TRIGGER biofm_audit_no_update")
            cursor.execute("DROP TRIGGER biofm_audit_no_delete")


def recompute(events: list[AuditEvent], *, mac: str | None | bool = False) -> None:
    """Re-link and re-hash rows from ``events[0]`` on, as a writer without the key would:
    ``mac=False`` leaves the old MACs, ``None`` blanks them."""
    rows = list(AuditEvent.objects.filter(id__gte=events[0].id).order_by("id"))
    previous = AuditEvent.objects.filter(id__lt=events[0].id).order_by("-id").first()
    prev = previous.hash if previous else audit.GENESIS_HASH
    for row in rows:
        row.prev_hash = prev
        row.hash = audit.canonical_hash(row)
        fields = {"prev_hash": row.prev_hash, "hash": row.hash}
        if mac is not False:
            fields["mac"] = mac
        AuditEvent.objects.filter(id=row.id).update(**fields)
        prev = row.hash


@pytest.fixture
def logged_events(alice, django_capture_on_commit_callbacks):
    """Five committed events: in the table and in the audit log."""
    events = []
    for i in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            events.append(audit.record(alice, f"test.{i}", n=i))
    return events


class TestKeyedChain:
    def test_deleting_the_newest_rows_is_found(self, logged_events, client_for, make_user):
        define_the_guard_away()
        AuditEvent.objects.filter(id__gte=logged_events[3].id).delete()
        result = audit.verify_chain()
        assert result["ok"] is False and result["reason"] == "missing_tail"
        assert (result["first_broken"], result["head"], result["checkpoint"]) == (
            logged_events[4].id,
            logged_events[2].id,
            logged_events[4].id,
        )
        root = make_user("root", is_staff=True, is_superuser=True)
        assert client_for(root).get("/api/audit/verify/").json()["reason"] == "missing_tail"
        with pytest.raises(CommandError, match="newest events were removed"):
            call_command("audit_verify")

    def test_the_intact_chain_matches_the_log(self, logged_events):
        result = audit.verify_chain()
        assert (result["ok"], result["checked"], result["checkpoint"]) == (True, 5, logged_events[4].id)

    def test_recomputing_the_chain_without_the_key_is_found(self, logged_events):
        define_the_guard_away()
        AuditEvent.objects.filter(id=logged_events[2].id).update(details={"n": 99})
        recompute(logged_events[2:])
        result = audit.verify_chain()
        assert (result["ok"], result["first_broken"], result["reason"]) == (False, logged_events[2].id, "mac")

    def test_blanking_the_macs_after_a_change_is_found(self, logged_events):
        define_the_guard_away()
        AuditEvent.objects.filter(id=logged_events[2].id).update(details={"n": 99})
        recompute(logged_events[2:], mac=None)  # pretend they were written before the key
        result = audit.verify_chain()
        assert (result["ok"], result["first_broken"], result["reason"]) == (False, logged_events[2].id, "mac")

    def test_unsealing_the_whole_chain_is_found_by_the_logged_head(self, logged_events):
        define_the_guard_away()
        AuditEvent.objects.filter(id=logged_events[0].id).update(details={"n": 99})
        recompute(logged_events, mac=None)
        result = audit.verify_chain()
        assert (result["ok"], result["first_broken"], result["reason"]) == (False, logged_events[4].id, "missing_tail")

    def test_a_row_sealed_with_another_key_is_found(self, logged_events, settings):
        settings.BIOFM_AUDIT_KEY = "another key"
        result = audit.verify_chain()
        assert (result["ok"], result["first_broken"], result["reason"]) == (False, logged_events[0].id, "mac")

    def test_rows_from_before_the_key_are_verified_by_their_hashes(self, alice):
        """The upgrade: rows written before the MAC existed have ``mac`` null."""
        legacy = [audit.record(alice, f"old.{i}") for i in range(3)]
        define_the_guard_away()
        AuditEvent.objects.filter(id__in=[e.id for e in legacy]).update(mac=None)
        new = audit.record(alice, "new.0")
        assert audit.verify_chain()["ok"] is True
        # A change to an old row cannot be re-sealed: the first sealed row's hash covers it.
        AuditEvent.objects.filter(id=legacy[1].id).update(details={"x": 1})
        result = audit.verify_chain()
        assert (result["ok"], result["first_broken"], result["reason"]) == (False, legacy[1].id, "hash")
        recompute(legacy[1:])
        result = audit.verify_chain()
        assert (result["ok"], result["first_broken"], result["reason"]) == (False, new.id, "mac")

    def test_metrics_report_the_head(self, logged_events):
        from file_project.metrics import _exposition

        assert f"biofm_audit_head_id {float(logged_events[4].id)}" in _exposition().decode()

    def test_the_key_is_kept_outside_the_database(self, settings, tmp_path):
        import os
        import subprocess
        import sys

        env = {**os.environ, "BIOFM_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "file_project.settings"}
        env.pop("BIOFM_AUDIT_KEY", None)
        code = "import django; django.setup(); from django.conf import settings; print(settings.BIOFM_AUDIT_KEY)"
        first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        key_file = tmp_path / "audit_key"
        assert first.stdout.strip() == again.stdout.strip() == key_file.read_text().strip()
        assert len(key_file.read_text().strip()) >= 40 and key_file.stat().st_mode & 0o777 == 0o600
        given = subprocess.run(
            [sys.executable, "-c", code], env={**env, "BIOFM_AUDIT_KEY": "from-a-vault"}, capture_output=True, text=True
        )
        assert given.stdout.strip() == "from-a-vault"


class TestEventsPerEndpoint:
    """Every write endpoint adds exactly the events it should."""

    @pytest.fixture
    def project(self, alice):
        return ProjectFactory(name="P", owner=alice)

    def test_auth_endpoints(self, alice):
        client = APIClient()
        client.post("/api/auth/login/", {"username": "alice", "password": "wrong"}, format="json")
        assert actions() == ["auth.login_failed"]
        assert AuditEvent.objects.get().actor_username == "alice"
        client.post("/api/auth/login/", {"username": "alice", "password": "s3cret-pass!"}, format="json")
        client.post("/api/auth/logout/")
        client.post("/api/auth/token/", {"username": "alice", "password": "s3cret-pass!"}, format="json")
        client.post("/api/auth/token/", {"username": "alice", "password": "s3cret-pass!"}, format="json")
        assert actions() == ["auth.login_failed", "auth.login", "auth.logout", "auth.token_created"]

    def test_project_endpoints(self, api, bob):
        project_id = api.post("/api/projects/", {"name": "P"}).json()["id"]
        assert actions() == ["project.create"]
        api.patch(f"/api/projects/{project_id}/", {"description": "new", "access_level": "restricted"})
        event = AuditEvent.objects.order_by("-id").first()
        assert event.action == "project.update"
        assert event.details == {"changes": {"description": ["", "new"], "access_level": ["internal", "restricted"]}}
        api.patch(f"/api/projects/{project_id}/", {"description": "new"})  # no change, no event
        api.post(f"/api/projects/{project_id}/members/", {"kind": "user", "name": "bob", "role": "viewer"})
        api.post(f"/api/projects/{project_id}/members/", {"kind": "user", "name": "bob", "role": "editor"})
        api.delete(f"/api/projects/{project_id}/members/?kind=user&name=bob")
        api.delete(f"/api/projects/{project_id}/")
        assert actions() == [
            "project.create",
            "project.update",
            "project.member_add",
            "project.member_update",
            "project.member_remove",
            "project.delete",
        ]

    def test_folder_endpoints(self, api, project):
        folder_id = api.post("/api/folders/", {"project": project.id, "name": "raw"}).json()["id"]
        api.patch(f"/api/folders/{folder_id}/", {"name": "reads"})
        api.delete(f"/api/folders/{folder_id}/")
        assert actions() == ["folder.create", "folder.update", "folder.delete"]
        assert AuditEvent.objects.get(action="folder.update").details == {"changes": {"name": ["raw", "reads"]}}

    def test_file_endpoints(self, api, project):
        from django.core.files.uploadedfile import SimpleUploadedFile

        body = {"file": SimpleUploadedFile("a.txt", b"hello"), "project": project.id, "organism": "Homo sapiens"}
        file_id = api.post("/api/files/", body, format="multipart").json()["id"]
        upload = AuditEvent.objects.get(action="file.upload")
        assert upload.details["size"] == 5 and upload.details["metadata"] == {"organism": "Homo sapiens"}
        api.patch(f"/api/files/{file_id}/", {"organism": "Mus musculus", "tags": ["x"]}, format="json")
        api.get(f"/api/files/{file_id}/download/")
        api.get(f"/api/files/{file_id}/")  # reads are not audited; downloads are
        api.delete(f"/api/files/{file_id}/")
        assert actions() == ["file.upload", "file.update", "file.download", "file.delete"]
        update = AuditEvent.objects.get(action="file.update")
        assert update.details == {"changes": {"organism": ["Homo sapiens", "Mus musculus"], "tags": [[], ["x"]]}}
        assert update.object_type == "file" and update.object_id == str(file_id) and update.project_id == project.id

    def test_grant_endpoints(self, api, bob, project):
        grant_id = api.post(
            "/api/grants/", {"subject_type": "user", "subject": "bob", "object_type": "project", "object": project.id}
        ).json()["id"]
        api.patch(f"/api/grants/{grant_id}/", {"permission": "edit"})
        api.delete(f"/api/grants/{grant_id}/")
        assert actions() == ["grant.create", "grant.update", "grant.delete"]
        assert AuditEvent.objects.get(action="grant.update").details["changes"] == {"permission": ["view", "edit"]}

    def test_refused_writes_add_nothing(self, client_for, bob, project):
        make_file(project)
        before = AuditEvent.objects.count()
        client_for(bob).post("/api/folders/", {"project": project.id, "name": "x"})
        client_for(bob).patch(f"/api/projects/{project.id}/", {"name": "y"})
        assert AuditEvent.objects.count() == before

    def test_admin_actions_are_audited(self, client, make_user):
        root = make_user("root", password="pw-123456!", is_staff=True, is_superuser=True)
        client.force_login(root)
        response = client.post(
            "/admin/file_upload/project/add/",
            {
                "name": "From admin",
                "owner": root.id,
                "access_level": "internal",
                "description": "",
                "members-TOTAL_FORMS": 0,
                "members-INITIAL_FORMS": 0,
                "group_roles-TOTAL_FORMS": 0,
                "group_roles-INITIAL_FORMS": 0,
            },
        )
        assert response.status_code == 302, response.content[:2000]
        event = AuditEvent.objects.get(action="admin.add")
        assert (event.actor_username, event.object_type, event.object_repr) == ("root", "project", "From admin")
