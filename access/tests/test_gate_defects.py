"""One test per leak the adversarial review found (issue "One automatic gate"): each failed
before the policy module and passes with it."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from authentication.models import AccessGrant
from file_upload.models import File, Folder, Upload
from file_upload.tests.factories import GroupFactory, ProjectFactory, ProjectGroupFactory, make_file, make_folder

pytestmark = pytest.mark.django_db


@pytest.fixture
def lab(make_user):
    """A restricted project with an editor, a restricted folder ``secret`` holding an inheriting
    folder ``inner`` with a file, and a public folder ``open`` next to it."""
    owner, editor = make_user("owner"), make_user("editor")
    project = ProjectFactory(name="Patients", owner=owner, access_level="restricted", members={editor: "editor"})
    secret = make_folder(project, "secret", access_level="restricted")
    inner = make_folder(project, "inner", parent=secret)
    file = make_file(project, "donor.vcf", folder=inner)
    public = make_folder(project, "open", access_level="public")
    return {"owner": owner, "editor": editor, "project": project, "secret": secret, "inner": inner,
            "file": file, "open": public}  # fmt: skip


def as_user(user):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


class TestMovingCannotLoosen:
    def test_editor_cannot_move_an_inheriting_folder_under_a_public_one(self, lab):
        response = as_user(lab["editor"]).patch(f"/api/folders/{lab['inner'].id}/", {"parent": lab["open"].id})
        assert response.status_code == 403
        lab["inner"].refresh_from_db()
        assert lab["inner"].parent_id == lab["secret"].id
        assert as_user(None).get(f"/api/files/{lab['file'].id}/download/").status_code == 404

    def test_editor_cannot_move_it_to_the_root_of_a_more_open_project(self, lab):
        lab["project"].access_level = "internal"
        lab["project"].save()
        response = as_user(lab["editor"]).patch(f"/api/folders/{lab['inner'].id}/", {"parent": None}, format="json")
        assert response.status_code == 403
        lab["inner"].refresh_from_db()
        assert (lab["inner"].parent_id, lab["inner"].effective_access_level) == (lab["secret"].id, "restricted")

    def test_an_edit_grant_alone_cannot_move_to_the_root(self, lab, make_user):
        lab["project"].access_level = "public"
        lab["project"].save()
        grantee = make_user("grantee")
        AccessGrant.objects.create(
            subject_user=grantee, object_type="folder", project=lab["project"], folder=lab["secret"], permission="edit"
        )
        response = as_user(grantee).patch(f"/api/folders/{lab['inner'].id}/", {"parent": None}, format="json")
        assert response.status_code == 403
        assert as_user(None).get(f"/api/files/{lab['file'].id}/download/").status_code == 404

    def test_moving_under_a_folder_with_a_grant_needs_manage(self, lab, make_user):
        colleague = make_user("colleague")
        other = make_folder(lab["project"], "shared", access_level="restricted")
        AccessGrant.objects.create(
            subject_user=colleague, object_type="folder", project=lab["project"], folder=other, permission="view"
        )
        response = as_user(lab["editor"]).patch(f"/api/folders/{lab['inner'].id}/", {"parent": other.id})
        assert response.status_code == 403
        assert as_user(colleague).get(f"/api/files/{lab['file'].id}/").status_code == 404

    def test_a_move_that_loosens_nothing_is_allowed_to_editors_and_managers_move_anything(self, lab):
        quiet = make_folder(lab["project"], "quiet", parent=lab["secret"])
        response = as_user(lab["editor"]).patch(f"/api/folders/{lab['inner'].id}/", {"parent": quiet.id})
        assert response.status_code == 200, response.json()
        response = as_user(lab["owner"]).patch(f"/api/folders/{lab['inner'].id}/", {"parent": lab["open"].id})
        assert response.status_code == 200
        assert as_user(None).get(f"/api/files/{lab['file'].id}/download/").status_code == 200

    def test_an_index_that_moves_with_its_data_file_cannot_be_opened_by_an_editor(self, lab):
        """The data file keeps its own level, but its uploaded index inherits: moving the pair
        under a public folder would open the index, so the move needs manage rights."""
        data = make_file(lab["project"], "calls.bam", b"BAM\x01", folder=lab["inner"], access_level="restricted")
        index = make_file(lab["project"], "calls.bam.bai", b"BAI\x01", folder=lab["inner"])
        assert File.objects.get(id=index.id).index_of_id == data.id
        response = as_user(lab["editor"]).post(f"/api/files/{data.id}/move/", {"folder": lab["open"].id})
        assert response.status_code == 403
        index.refresh_from_db()
        assert (index.folder_id, index.effective_access_level) == (lab["inner"].id, "restricted")
        assert as_user(None).get(f"/api/files/{index.id}/download/").status_code == 404
        response = as_user(lab["owner"]).post(f"/api/files/{data.id}/move/", {"folder": lab["open"].id})
        assert response.status_code == 200
        index.refresh_from_db()
        assert (index.folder_id, index.effective_access_level) == (lab["open"].id, "public")

    def test_editor_cannot_move_an_inheriting_file_under_a_public_folder(self, lab):
        response = as_user(lab["editor"]).post(f"/api/files/{lab['file'].id}/move/", {"folder": lab["open"].id})
        assert response.status_code == 403
        lab["file"].refresh_from_db()
        assert (lab["file"].folder_id, lab["file"].effective_access_level) == (lab["inner"].id, "restricted")
        assert as_user(None).get(f"/api/files/{lab['file'].id}/download/").status_code == 404


class TestLevelsAtCreation:
    def test_editor_creates_folders_with_inherit_only(self, lab):
        editor = as_user(lab["editor"])
        response = editor.post(
            "/api/folders/", {"project": lab["project"].id, "name": "leak", "access_level": "public"}
        )
        assert response.status_code == 403
        assert not Folder.objects.filter(name="leak").exists()
        ok = editor.post("/api/folders/", {"project": lab["project"].id, "name": "fine", "access_level": "inherit"})
        assert ok.status_code == 201
        owner = as_user(lab["owner"]).post(
            "/api/folders/", {"project": lab["project"].id, "name": "pub", "access_level": "public"}
        )
        assert owner.status_code == 201

    def test_editor_cannot_upload_a_public_file(self, lab):
        from django.core.files.uploadedfile import SimpleUploadedFile

        data = {"file": SimpleUploadedFile("x.txt", b"x"), "project": lab["project"].id, "access_level": "public"}
        response = as_user(lab["editor"]).post("/api/files/", data, format="multipart")
        assert response.status_code == 403
        assert not File.objects.filter(name="x.txt").exists()

    def test_editor_cannot_start_a_public_tus_upload(self, lab):
        import base64

        pairs = {"filename": "y.txt", "project": str(lab["project"].id), "access_level": "public"}
        metadata = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())
        response = as_user(lab["editor"]).post(
            "/api/uploads/", HTTP_TUS_RESUMABLE="1.0.0", HTTP_UPLOAD_LENGTH="1", HTTP_UPLOAD_METADATA=metadata
        )
        assert response.status_code == 403
        assert not Upload.objects.exists()


class TestProjectSeenFromOutside:
    def test_anonymous_sees_name_and_link_only(self, lab):
        make_file(lab["project"], "public.txt", folder=lab["open"])
        client = as_user(None)
        body = client.get(f"/api/projects/{lab['project'].id}/").json()
        assert body["name"] == "Patients" and body["id"] == lab["project"].id
        assert body["owner"] is None and body["description"] is None and body["access_level"] is None
        assert body["seen_from_outside"] is True
        assert "owner" not in str(body.values())
        assert client.get(f"/api/projects/{lab['project'].id}/members/").status_code == 404
        assert client.get(f"/api/projects/{lab['project'].id}/access/").status_code == 404

    def test_file_access_explainer_hides_the_projects_rules(self, lab):
        public = make_file(lab["project"], "public.txt", folder=lab["open"])
        body = as_user(None).get(f"/api/files/{public.id}/access/").json()
        text = str(body)
        assert "editor" not in text and "owner" not in text.replace("'kind': 'owner'", "")
        assert [rule["kind"] for rule in body["rules"]] == ["level"]
        project_node = body["chain"][-1]
        assert project_node["name"] == "Patients" and project_node["access_level"] is None

    def test_counts_are_of_what_the_caller_sees(self, lab, make_user):
        make_file(lab["project"], "public.txt", content=b"12345", folder=lab["open"])
        row = as_user(make_user("stranger")).get("/api/projects/").json()["results"][0]
        assert (row["file_count"], row["total_size"]) == (1, 5)
        own = as_user(lab["owner"]).get("/api/projects/").json()["results"][0]
        assert own["file_count"] == 2

    def test_ncbi_import_status_hidden_with_the_project(self, lab, make_user):
        from ncbi_bridge.models import NcbiImport

        make_file(lab["project"], "public.txt", folder=lab["open"])
        NcbiImport.objects.create(accession="GSE1", kind="geo", project=lab["project"], status="done")
        response = as_user(make_user("stranger")).get("/api/files/ncbi/import/GSE1/status/")
        assert response.status_code == 404
        assert as_user(lab["owner"]).get("/api/files/ncbi/import/GSE1/status/").status_code == 200


class TestTaskResults:
    def _task(self, lab, reader, hidden_file):
        from ml_interface.models import MLTask

        mine = make_file(lab["project"], "mine.txt", owner=reader)
        similar = [{"score": 0.9, "file": {"id": hidden_file.id, "name": hidden_file.name}}]
        return MLTask.objects.create(
            task_type="embedding", file=mine, submitter=reader, status="done", result={"similar": similar}
        )

    def test_revoked_group_member_no_longer_reads_the_name(self, lab, make_user):
        member = make_user("member")
        group = GroupFactory(name="wetlab")
        group.user_set.add(member)
        ProjectGroupFactory(project=lab["project"], group=group, role="editor")
        task = self._task(lab, member, lab["file"])
        group.user_set.remove(member)
        body = as_user(member).get(f"/api/ml/tasks/{task.id}/").json()
        assert "donor.vcf" not in str(body)
        assert body["result"]["similar"] == []

    def test_staff_without_superuser_do_not_read_others_results(self, lab, make_user):
        staff = make_user("operator", is_staff=True)
        task = self._task(lab, lab["editor"], lab["file"])
        assert as_user(staff).get(f"/api/ml/tasks/{task.id}/").status_code == 404
        assert "donor.vcf" not in str(as_user(staff).get("/api/ml/tasks/").json())


class TestNoOracles:
    def test_explainer_user_check_does_not_tell_usernames_apart_for_anonymous(self, lab, make_user):
        public = make_file(lab["project"], "public.txt", folder=lab["open"])
        client = as_user(None)
        known = client.get(f"/api/files/{public.id}/access/?user=editor")
        unknown = client.get(f"/api/files/{public.id}/access/?user=nobody-such")
        assert known.status_code == unknown.status_code == 403
        assert known.json() == unknown.json()
        # Nor to a signed-in user who sees the project only from outside: whether "editor" has
        # access is the project's business.
        outsider = as_user(make_user("outsider"))
        known = outsider.get(f"/api/files/{public.id}/access/?user=editor")
        unknown = outsider.get(f"/api/files/{public.id}/access/?user=nobody-such")
        assert known.status_code == unknown.status_code == 403
        assert outsider.get(f"/api/files/{public.id}/access/?user=outsider").status_code == 200

    def test_a_nul_in_the_checked_username_is_a_400(self, lab):
        response = as_user(lab["owner"]).get(f"/api/projects/{lab['project'].id}/access/?user=a%00b")
        assert response.status_code == 400
        assert "user" in response.json()["errors"]

    def _same(self, hidden, missing, hidden_id, missing_id):
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json()["detail"].replace(str(hidden_id), "#") == missing.json()["detail"].replace(
            str(missing_id), "#"
        )

    def test_folder_creation_in_a_hidden_project_answers_like_a_missing_one(self, lab, make_user):
        other = ProjectFactory(name="Other", owner=lab["owner"], access_level="restricted")
        client = as_user(make_user("stranger"))
        hidden = client.post("/api/folders/", {"project": other.id, "name": "x"})
        missing = client.post("/api/folders/", {"project": 987654, "name": "x"})
        self._same(hidden, missing, other.id, 987654)

    def test_move_into_a_hidden_folder_answers_like_a_missing_one(self, lab, make_user):
        own = ProjectFactory(name="Mine", owner=lab["editor"], access_level="restricted")
        folder = make_folder(own, "a")
        client = as_user(lab["editor"])
        other = ProjectFactory(name="Other", owner=lab["owner"], access_level="restricted")
        hidden_folder = make_folder(other, "h")
        hidden = client.patch(f"/api/folders/{folder.id}/", {"parent": hidden_folder.id})
        missing = client.patch(f"/api/folders/{folder.id}/", {"parent": 987654})
        self._same(hidden, missing, hidden_folder.id, 987654)

    def test_upload_into_a_hidden_folder_of_another_project(self, lab, make_user):
        from django.core.files.uploadedfile import SimpleUploadedFile

        own = ProjectFactory(name="Mine", owner=lab["editor"], access_level="restricted")
        other = ProjectFactory(name="Other", owner=lab["owner"], access_level="restricted")
        hidden_folder = make_folder(other, "h")
        client = as_user(lab["editor"])

        def post(folder_id):
            data = {"file": SimpleUploadedFile("x.txt", b"x"), "project": own.id, "folder": folder_id}
            return client.post("/api/files/", data, format="multipart")

        self._same(post(hidden_folder.id), post(987654), hidden_folder.id, 987654)


@pytest.mark.parametrize("value", ["-1.6820007537840638e+252", "99999999999999999999999", "1.5", "abc"])
def test_project_id_filters_over_restricted_rows_reject_what_no_column_holds(api, value):
    """The trash and grant lists filter ``project`` by id over rows already restricted (so a
    hidden project's id answers like a missing one); an id no column can hold is a 400."""
    for url in ("/api/trash/", "/api/grants/"):
        assert api.get(url, {"project": value}).status_code == 400, (url, value)
