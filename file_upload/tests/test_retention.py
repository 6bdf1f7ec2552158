"""Trash, restore and purge: bytes and derived copies gone, the audit trail shows it."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from authentication.models import AuditEvent
from file_project.errors import Conflict
from file_upload import retention, services, storage
from file_upload.models import File
from file_upload.tests.factories import ProjectFactory, ProjectMemberFactory, make_file, store_beside, stored_keys

pytestmark = pytest.mark.django_db

CONTENT = b"@r1\nACGT\n+\nIIII\n"


@pytest.fixture
def project(alice):
    return ProjectFactory(name="Atlas", owner=alice)


@pytest.fixture
def cellxgene_dir(settings, tmp_path):
    settings.CELLXGENE_DATA_DIR = tmp_path / "cellxgene_data"
    settings.CELLXGENE_DATA_DIR.mkdir()
    return settings.CELLXGENE_DATA_DIR


def trashed(project, name="reads.fastq", days_ago=0, **kwargs):
    file = make_file(project, name, CONTENT, **kwargs)
    services.soft_delete_file(file, actor=file.owner)
    if days_ago:
        File.objects.filter(pk=file.pk).update(deleted_at=timezone.now() - timedelta(days=days_ago))
    file.refresh_from_db()
    return file


class TestTrashApi:
    def test_owner_lists_and_restores(self, api, project):
        file = trashed(project)
        body = api.get("/api/trash/").json()
        assert [row["id"] for row in body["results"]] == [file.id]
        assert body["results"][0]["purge_after"]
        assert api.get(f"/api/files/{file.id}/").status_code == 404
        response = api.post(f"/api/files/{file.id}/restore/")
        assert response.status_code == 200, response.json()
        assert api.get(f"/api/files/{file.id}/").status_code == 200
        assert AuditEvent.objects.filter(action="file.restore", object_id=str(file.id)).exists()
        assert api.get("/api/trash/").json()["count"] == 0

    def test_others_get_404(self, client_for, bob, project):
        file = trashed(project)
        other = client_for(bob)
        assert other.get("/api/trash/").json()["count"] == 0
        assert other.post(f"/api/files/{file.id}/restore/").status_code == 404
        assert other.post(f"/api/trash/{file.id}/purge/").status_code == 404
        File.objects.get(pk=file.pk)

    def test_project_manager_sees_members_files_but_uploader_cannot_purge(self, client_for, alice, bob, project):
        ProjectMemberFactory(project=project, user=bob, role="editor")
        file = trashed(project, owner=bob)
        assert client_for(alice).get("/api/trash/").json()["count"] == 1
        assert client_for(bob).post(f"/api/trash/{file.id}/purge/").status_code == 403
        assert client_for(alice).post(f"/api/trash/{file.id}/purge/").status_code == 204
        assert not File.objects.filter(pk=file.pk).exists()

    def test_restore_into_a_taken_name_is_409(self, api, project):
        file = trashed(project)
        make_file(project, "reads.fastq", CONTENT)
        response = api.post(f"/api/files/{file.id}/restore/")
        assert response.status_code == 409
        assert response.json()["code"] == "name_conflict"

    def test_anonymous_is_refused(self, anon, project):
        assert anon.get("/api/trash/").status_code == 401


class TestPurge:
    def test_purge_removes_bytes_index_cellxgene_copies_and_audits(self, project, cellxgene_dir):
        file = trashed(project, "cells.h5ad", days_ago=40)
        blob = storage.path_for(file.storage_key)
        index = blob.with_name(blob.name + ".bai")
        index.write_bytes(b"BAI\x01")
        half_built = blob.with_name(blob.name + ".bai.0a1b2c3d.tmp")  # a worker died mid-build
        half_built.write_bytes(b"BAI")
        linked = cellxgene_dir / f"{file.id}__cells.h5ad"
        os.link(blob, linked)
        other = cellxgene_dir / f"{file.id + 1000}__else.h5ad"
        other.write_bytes(b"keep")
        ml_dir = Path(settings.FILES_DIR).parent / "ml"  # h5ad_vis cell embeddings
        ml_dir.mkdir(exist_ok=True)
        cells = ml_dir / f"cells-{file.id}-{file.sha256[:16]}.npz"
        cells.write_bytes(b"PK")
        others_cells = ml_dir / f"cells-{file.id + 1000}-0123.npz"
        others_cells.write_bytes(b"PK")

        results = retention.purge_expired()

        assert [r.file_id for r in results] == [file.id]
        assert not blob.exists() and not index.exists() and not linked.exists() and not cells.exists()
        assert not half_built.exists()
        assert other.exists() and others_cells.exists()
        assert not File.objects.filter(pk=file.pk).exists()
        event = AuditEvent.objects.get(action="file.purge", object_id=str(file.id))
        assert event.details["sha256"] == hashlib.sha256(CONTENT).hexdigest()
        assert event.details["name"] == "cells.h5ad"
        assert len(event.details["removed"]) == 5
        assert event.actor_username == "system"

    def test_window_follows_project_then_default(self, project, alice, settings):
        settings.BIOFM_TRASH_RETENTION_DAYS = 30
        recent = trashed(project, "recent.fastq", days_ago=10)
        old = trashed(project, "old.fastq", days_ago=31)
        short = ProjectFactory(name="Short", owner=alice, retention_days=5)
        short_file = trashed(short, "short.fastq", days_ago=6)
        live = make_file(project, "live.fastq", CONTENT)
        due = {f.id for f in retention.expired_files()}
        assert due == {old.id, short_file.id}
        assert recent.id not in due and live.id not in due

    def test_overwrite_passes_destroy_content_before_unlink(self, project, settings, monkeypatch):
        settings.BIOFM_PURGE_OVERWRITE_PASSES = 2
        file = trashed(project, days_ago=40)
        seen: list[bytes] = []
        real_unlink = type(storage.path_for(file.storage_key)).unlink

        def spy(path, missing_ok=False):
            if path.exists():
                seen.append(path.read_bytes())
            return real_unlink(path, missing_ok=missing_ok)

        monkeypatch.setattr(type(storage.path_for(file.storage_key)), "unlink", spy)
        retention.purge_expired()
        assert seen and all(len(data) == len(CONTENT) and data != CONTENT for data in seen)
        assert AuditEvent.objects.get(action="file.purge").details["overwrite_passes"] == 2

    @pytest.mark.usefixtures("storage_backend")
    def test_live_files_are_never_purged(self, project):
        file = make_file(project)
        with pytest.raises(Conflict):
            retention.purge_file(file)
        assert storage.exists(file.storage_key)

    @pytest.mark.usefixtures("storage_backend")
    def test_command_dry_run_then_purge(self, project, capsys):
        file = trashed(project, days_ago=40)
        call_command("purge", "--dry-run")
        assert "Would purge 1 file(s)" in capsys.readouterr().out
        assert storage.exists(file.storage_key)
        call_command("purge")
        assert "Purged 1 file(s)" in capsys.readouterr().out
        assert not storage.exists(file.storage_key)

    @pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)
    def test_purge_in_the_object_store_deletes_the_object_and_its_index(self, project, cellxgene_dir, storage_backend):
        file = trashed(project, "cells.h5ad", days_ago=40)
        keep = make_file(project, "kept.fastq", CONTENT)
        store_beside(file, ".bai", b"BAI\x01")
        copy = cellxgene_dir / f"{file.id}__cells.h5ad"  # the viewer's local copy
        copy.write_bytes(CONTENT)
        assert stored_keys() == sorted([file.storage_key, file.storage_key + ".bai", keep.storage_key])

        (result,) = retention.purge_expired()

        assert stored_keys() == [keep.storage_key] and not copy.exists()
        assert sorted(result.removed) == sorted(
            [f"files/{file.storage_key}", f"files/{file.storage_key}.bai", f"cellxgene/{copy.name}"]
        )
        assert AuditEvent.objects.get(action="file.purge").details["removed"] == result.removed

    def test_command_purges_one_file_now(self, project):
        file = trashed(project)
        call_command("purge", "--file", str(file.id))
        assert not File.objects.filter(pk=file.pk).exists()
        assert AuditEvent.objects.get(action="file.purge").details["reason"] == "manual"
