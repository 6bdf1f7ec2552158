"""DSAR export: the expected records, and nothing about other users; the download report CSV."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django.test import Client

from authentication import audit, services
from authentication.dsar import write_dsar_archive
from authentication.models import AuditEvent
from file_upload.tests.factories import ProjectFactory, make_file

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]


@pytest.fixture
def world(make_user):
    alice = make_user("alice", email="alice@lab.example", first_name="Alice")
    bob = make_user("bob", email="bob@lab.example", first_name="Roberto")
    root = make_user("root", is_staff=True, is_superuser=True)
    services.update_profile(alice, actor=alice, full_name="Alice Example", phone="111")
    services.update_profile(bob, actor=bob, full_name="Roberto Secret", phone="+1 555 0100 ext Roberto")
    project = ProjectFactory(name="Atlas", owner=alice, members={bob: "editor"})
    mine = make_file(project, "mine.fastq", owner=alice)
    File = type(mine)
    File.objects.filter(pk=mine.pk).update(notes="subject 7 details", donor_id="MRN-7")
    theirs = make_file(project, "theirs.fastq", owner=bob)
    audit.record(alice, "file.download", mine, size=17, via="api")
    audit.record(bob, "file.download", mine, size=17, via="api")
    audit.record(bob, "file.download", theirs, size=17, via="api", ranges=[[0, 9]])
    services.create_grant(actor=alice, subject=bob, target=mine, permission="view")
    audit.record(root, "admin.change", alice, change="Changed email.")
    audit.record(None, "auth.login_failed", username="alice")
    audit.record(None, "auth.login_failed", username="bob")
    return {"alice": alice, "bob": bob, "root": root, "project": project, "mine": mine, "theirs": theirs}


def export(user, **kwargs) -> dict[str, str]:
    buffer = io.BytesIO()
    write_dsar_archive(user, buffer, **kwargs)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        return {name: archive.read(name).decode("utf-8", "replace") for name in archive.namelist()}


class TestDsar:
    def test_contains_the_persons_records(self, world):
        parts = export(world["alice"])
        expected = {"README.txt", "account.json", "profile.json", "files.json", "downloads.json", "audit_events.json"}
        assert expected <= set(parts)
        account = json.loads(parts["account.json"])
        assert account["username"] == "alice" and account["email"] == "alice@lab.example"
        assert json.loads(parts["profile.json"])["full_name"] == "Alice Example"
        files = json.loads(parts["files.json"])
        assert [f["name"] for f in files] == ["mine.fastq"]
        assert files[0]["sha256"] == world["mine"].sha256 and "notes" not in files[0] and "donor_id" not in files[0]
        downloads = json.loads(parts["downloads.json"])
        assert [(d["action"], d["object_id"]) for d in downloads] == [("file.download", str(world["mine"].id))]
        events = json.loads(parts["audit_events.json"])
        actions = [e["action"] for e in events]
        assert {"file.upload", "file.download", "grant.create", "admin.change", "auth.login_failed"} <= set(actions)
        about = next(e for e in events if e["action"] == "admin.change")
        assert about["actor"] == "(another user)" and about["ip"] is None and about["details"] == {}
        assert actions.count("auth.login_failed") == 1
        assert AuditEvent.objects.filter(action="dsar.export", object_id=str(world["alice"].id)).exists()

    def test_nothing_about_other_users(self, world):
        text = "\n".join(export(world["alice"]).values())
        for leak in ("bob", "Roberto", "bob@lab.example", "root", "theirs.fastq", "555 0100", "MRN-7", "subject 7"):
            assert leak not in text, leak

    def test_include_bytes_adds_the_files(self, world):
        parts = export(world["alice"], include_bytes=True)
        assert parts[f"files/{world['mine'].id}__mine.fastq"].startswith("@r1")
        assert not any("theirs" in name for name in parts)

    def test_command_writes_the_zip(self, world, tmp_path):
        target = tmp_path / "out.zip"
        call_command("dsar_export", "alice", "--output", str(target))
        with zipfile.ZipFile(target) as archive:
            assert "account.json" in archive.namelist()

    def test_admin_action_downloads_one_users_zip(self, world):
        client = Client()
        client.force_login(world["root"])
        response = client.post(
            "/admin/authentication/user/",
            {"action": "export_personal_data", "_selected_action": [world["alice"].id]},
        )
        assert response.status_code == 200 and response["Content-Type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            assert json.loads(archive.read("account.json"))["username"] == "alice"


class TestDownloadReport:
    def test_managers_get_csv_of_the_projects_downloads(self, world, client_for):
        response = client_for(world["alice"]).get(f"/api/projects/{world['project'].id}/download-report/")
        assert response.status_code == 200 and response["Content-Type"] == "text/csv"
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        downloads = [(r["user"], r["file_name"], r["bytes"]) for r in rows if r["event"] == "download"]
        assert downloads == [("alice", "mine.fastq", "17"), ("bob", "mine.fastq", "17"), ("bob", "theirs.fastq", "10")]
        assert AuditEvent.objects.filter(action="project.download_report").exists()

    def test_editors_are_refused_and_outsiders_cannot_see_restricted_projects(self, world, client_for, make_user):
        assert client_for(world["bob"]).get(f"/api/projects/{world['project'].id}/download-report/").status_code == 403
        from file_upload import services as workspace

        workspace.update_project(world["project"], actor=world["alice"], access_level="restricted")
        carol = make_user("carol")
        assert client_for(carol).get(f"/api/projects/{world['project'].id}/download-report/").status_code == 404

    def test_date_bounds_are_validated(self, world, client_for):
        client = client_for(world["alice"])
        url = f"/api/projects/{world['project'].id}/download-report/"
        assert client.get(url, {"since": "not-a-date"}).status_code == 400
        response = client.get(url, {"since": "2999-01-01"})
        assert b"".join(response.streaming_content).decode().count("\n") == 1  # the header only
