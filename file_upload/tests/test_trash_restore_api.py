"""Restoring from the trash: a deleted folder comes back as a whole, files go back to their old
folder when it exists, and folder moves onto a taken name ask what to do."""

from __future__ import annotations

import pytest

from file_upload.models import File, Folder, NodeAccessLevel
from file_upload.tests.factories import ProjectFactory, make_file, make_folder

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(alice):
    return ProjectFactory(name="Atlas", owner=alice)


def place(file: File) -> str | None:
    file.refresh_from_db()
    return None if file.deleted_at else (file.folder.name_path if file.folder else "/")


class TestRestoreFolder:
    def test_a_deleted_folder_is_one_trash_item_restored_as_a_whole(self, api, project):
        raw = make_folder(project, "raw")
        run = make_folder(project, "run1", parent=raw, access_level=NodeAccessLevel.RESTRICTED)
        a = make_file(project, "a.fastq", folder=raw)
        b = make_file(project, "b.fastq", folder=run)
        assert api.delete(f"/api/folders/{raw.id}/").status_code == 204
        assert not Folder.objects.filter(project=project).exists()

        rows = api.get(f"/api/trash/?deleted_folder={raw.id}").json()["results"]
        assert sorted(r["name"] for r in rows) == ["a.fastq", "b.fastq"]
        assert {r["folder_path"] for r in rows} == {"/raw", "/raw/run1"}
        assert all(r["deleted_folder"] == {"id": raw.id, "path": "/raw", "files": 2} for r in rows)

        response = api.post(f"/api/files/{a.id}/restore/", {"whole_folder": True}, format="json")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["restored_count"] == 2 and body["to_top_level"] == []
        assert body["message"] == "Restored 2 files."
        assert (place(a), place(b)) == ("/raw", "/raw/run1")
        restored_run = Folder.objects.get(project=project, name_path="/raw/run1")
        assert restored_run.access_level == NodeAccessLevel.RESTRICTED
        b.refresh_from_db()
        assert b.effective_access_level == NodeAccessLevel.RESTRICTED
        assert api.get("/api/trash/").json()["results"] == []

    def test_a_deleted_subfolder_comes_back_under_its_parent(self, api, project):
        raw = make_folder(project, "raw")
        run = make_folder(project, "run1", parent=raw)
        a = make_file(project, "a.fastq", folder=run)
        assert api.delete(f"/api/folders/{run.id}/").status_code == 204
        assert api.post(f"/api/files/{a.id}/restore/", {"whole_folder": True}, format="json").status_code == 200
        assert place(a) == "/raw/run1"

    def test_one_file_of_a_deleted_folder_goes_to_the_top_level_and_says_so(self, api, project):
        raw = make_folder(project, "raw")
        a = make_file(project, "a.fastq", folder=raw)
        make_file(project, "b.fastq", folder=raw)
        assert api.delete(f"/api/folders/{raw.id}/").status_code == 204
        body = api.post(f"/api/files/{a.id}/restore/").json()
        assert body["restored_count"] == 1 and body["to_top_level"] == ["a.fastq"]
        assert "top level" in body["message"]
        assert place(a) == "/"
        left = api.get("/api/trash/").json()["results"]
        assert [(r["name"], r["deleted_folder"]["files"]) for r in left] == [("b.fastq", 1)]

    def test_a_name_taken_meanwhile_restores_nothing(self, api, project):
        raw = make_folder(project, "raw")
        a = make_file(project, "a.fastq", folder=raw)
        b = make_file(project, "b.fastq", folder=raw)
        assert api.delete(f"/api/folders/{raw.id}/").status_code == 204
        again = make_folder(project, "raw")
        make_file(project, "b.fastq", folder=again)
        response = api.post(f"/api/files/{a.id}/restore/", {"whole_folder": True}, format="json")
        assert response.status_code == 409
        assert place(a) is None and place(b) is None

    def test_the_trash_counts_the_deleted_folders_of_a_page_at_once(self, api, project):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        def listing() -> tuple[int, dict[str, int]]:
            with CaptureQueriesContext(connection) as captured:
                rows = api.get("/api/trash/").json()["results"]
            return len(captured), {r["deleted_folder"]["path"]: r["deleted_folder"]["files"] for r in rows}

        def delete_folder_of(n: int, name: str) -> None:
            folder = make_folder(project, name)
            for k in range(n):
                make_file(project, f"{name}-{k}.fastq", folder=folder)
            assert api.delete(f"/api/folders/{folder.id}/").status_code == 204

        delete_folder_of(2, "one")
        queries, counts = listing()
        assert counts == {"/one": 2}
        delete_folder_of(3, "two")
        delete_folder_of(1, "three")
        more_queries, counts = listing()
        assert counts == {"/one": 2, "/two": 3, "/three": 1}
        assert more_queries == queries

    def test_whole_folder_must_be_a_boolean(self, api, project):
        a = make_file(project, "a.fastq")
        assert api.delete(f"/api/files/{a.id}/").status_code == 204
        response = api.post(f"/api/files/{a.id}/restore/", {"whole_folder": "maybe"}, format="json")
        assert response.status_code == 400
        assert place(a) is None


class TestRestoreToOriginalFolder:
    def test_a_file_goes_back_to_its_folder(self, api, project):
        raw = make_folder(project, "raw")
        a = make_file(project, "a.fastq", folder=raw)
        assert api.delete(f"/api/files/{a.id}/").status_code == 204
        body = api.post(f"/api/files/{a.id}/restore/").json()
        assert body["folder"] == raw.id and body["to_top_level"] == []
        assert place(a) == "/raw"

    def test_a_file_trashed_before_its_folder_went_returns_to_a_folder_of_that_path(self, api, project):
        raw = make_folder(project, "raw")
        a = make_file(project, "a.fastq", folder=raw)
        assert api.delete(f"/api/files/{a.id}/").status_code == 204
        assert api.delete(f"/api/folders/{raw.id}/").status_code == 204
        row = api.get("/api/trash/").json()["results"][0]
        assert row["folder_path"] == "/raw" and row["deleted_folder"] is None
        make_folder(project, "raw")
        assert api.post(f"/api/files/{a.id}/restore/").json()["to_top_level"] == []
        assert place(a) == "/raw"


class TestRestoreNeverOpensAccess:
    """A restore brings data back no more open than it was: restricted files of a public
    project stay restricted wherever their folder is re-created or they land."""

    @pytest.fixture
    def public(self, alice):
        return ProjectFactory(name="Open atlas", owner=alice, access_level="public")

    @staticmethod
    def hidden_from_visitors(anon, file: File) -> bool:
        file.refresh_from_db()
        answers = {anon.get(f"/api/files/{file.id}/{tail}").status_code for tail in ("", "download/")}
        return file.effective_access_level == NodeAccessLevel.RESTRICTED and answers == {404}

    def test_a_folder_recreated_at_the_top_keeps_its_former_level(self, api, anon, public):
        secret = make_folder(public, "secret", access_level=NodeAccessLevel.RESTRICTED)
        sub = make_folder(public, "sub", parent=secret)  # inherits restricted
        a = make_file(public, "a.fastq", folder=sub)
        assert api.delete(f"/api/folders/{sub.id}/").status_code == 204
        assert api.delete(f"/api/folders/{secret.id}/").status_code == 204  # its old parent is gone too

        assert api.post(f"/api/files/{a.id}/restore/", {"whole_folder": True}, format="json").status_code == 200
        assert place(a) == "/sub"
        recreated = Folder.objects.get(project=public, name_path="/sub")
        assert recreated.effective_access_level == NodeAccessLevel.RESTRICTED
        assert anon.get(f"/api/folders/{recreated.id}/").status_code == 404
        assert self.hidden_from_visitors(anon, a)

    def test_a_file_restored_to_the_top_level_keeps_its_former_level(self, api, anon, public):
        secret = make_folder(public, "secret", access_level=NodeAccessLevel.RESTRICTED)
        a = make_file(public, "a.fastq", folder=secret)
        assert api.delete(f"/api/files/{a.id}/").status_code == 204
        assert api.delete(f"/api/folders/{secret.id}/").status_code == 204

        body = api.post(f"/api/files/{a.id}/restore/").json()
        assert body["to_top_level"] == ["a.fastq"] and "keeps the access level it had before" in body["message"]
        assert self.hidden_from_visitors(anon, a) and a.access_level == NodeAccessLevel.RESTRICTED

    def test_a_more_open_folder_of_the_old_path_does_not_open_the_file(self, api, anon, public):
        data = make_folder(public, "data", access_level=NodeAccessLevel.RESTRICTED)
        a = make_file(public, "a.fastq", folder=data)
        assert api.delete(f"/api/folders/{data.id}/").status_code == 204
        again = make_folder(public, "data")  # inherits public

        assert api.post(f"/api/files/{a.id}/restore/").status_code == 200
        assert self.hidden_from_visitors(anon, a) and a.folder_id == again.id

    def test_a_place_as_open_as_before_changes_no_level(self, api, public):
        data = make_folder(public, "data")
        a = make_file(public, "a.fastq", folder=data)
        assert api.delete(f"/api/folders/{data.id}/").status_code == 204
        body = api.post(f"/api/files/{a.id}/restore/", {"whole_folder": True}, format="json").json()
        assert "access level" not in body["message"]
        a.refresh_from_db()
        assert (a.access_level, a.effective_access_level) == ("inherit", "public")
        assert Folder.objects.get(project=public, name_path="/data").access_level == NodeAccessLevel.INHERIT


class TestFolderMoveConflicts:
    def test_a_taken_name_is_refused_kept_beside_but_never_replaced(self, api, project):
        raw = make_folder(project, "raw")
        archive = make_folder(project, "archive")
        make_folder(project, "raw", parent=archive)
        moving = make_file(project, "a.fastq", folder=raw)

        refused = api.patch(f"/api/folders/{raw.id}/", {"parent": archive.id}, format="json")
        assert refused.status_code == 409 and refused.json()["code"] == "name_conflict"
        replace = api.patch(f"/api/folders/{raw.id}/", {"parent": archive.id, "on_conflict": "replace"}, format="json")
        assert replace.status_code == 400 and "on_conflict" in replace.json()["errors"]
        raw.refresh_from_db()
        assert raw.parent_id is None and raw.name_path == "/raw"

        kept = api.patch(f"/api/folders/{raw.id}/", {"parent": archive.id, "on_conflict": "keep_both"}, format="json")
        assert kept.status_code == 200, kept.content
        assert kept.json()["path"] == "/archive/raw (2)"
        assert "on_conflict" not in kept.json()
        assert place(moving) == "/archive/raw (2)"
        assert sorted(Folder.objects.filter(parent=archive).values_list("name", flat=True)) == ["raw", "raw (2)"]
