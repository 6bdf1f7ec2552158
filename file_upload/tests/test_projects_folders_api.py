from __future__ import annotations

import pytest

from file_upload.models import File, Folder, Project, ProjectMember
from file_upload.tests.factories import ProjectFactory, ProjectMemberFactory, make_file, make_folder

pytestmark = pytest.mark.django_db


class TestProjectsApi:
    def test_create_list_and_read(self, api, alice):
        response = api.post(
            "/api/projects/", {"name": "Liver atlas", "description": "scRNA", "access_level": "restricted"}
        )
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["owner"] == "alice"
        assert body["my_role"] == "owner"
        assert body["access_level"] == "restricted"
        listing = api.get("/api/projects/").json()
        assert listing["count"] == 1
        assert listing["results"][0]["name"] == "Liver atlas"
        assert listing["results"][0]["file_count"] == 0
        assert api.get(f"/api/projects/{body['id']}/").json()["name"] == "Liver atlas"

    def test_counts_and_size_exclude_trash(self, api, alice):
        project = ProjectFactory(name="P", owner=alice)
        make_file(project, "a.txt", b"12345")
        gone = make_file(project, "b.txt", b"123")
        api.delete(f"/api/files/{gone.id}/")
        row = api.get("/api/projects/").json()["results"][0]
        assert (row["file_count"], row["total_size"]) == (1, 5)

    def test_unknown_level_and_blank_name_are_field_errors(self, api):
        response = api.post("/api/projects/", {"name": "", "access_level": "secret"})
        assert response.status_code == 400
        errors = response.json()["errors"]
        assert set(errors) == {"name", "access_level"}
        assert Project.objects.count() == 0

    def test_duplicate_name_is_409(self, api, alice):
        ProjectFactory(name="Dup", owner=alice)
        response = api.post("/api/projects/", {"name": "Dup"})
        assert response.status_code == 409
        assert response.json()["code"] == "name_conflict"
        assert Project.objects.count() == 1

    def test_anonymous_cannot_create(self, anon):
        response = anon.post("/api/projects/", {"name": "x"})
        assert response.status_code == 401
        assert Project.objects.count() == 0

    def test_restricted_project_of_someone_else_is_404(self, api, bob):
        project = ProjectFactory(name="Secret", owner=bob, access_level="restricted")
        assert api.get(f"/api/projects/{project.id}/").status_code == 404
        assert api.get("/api/projects/").json()["count"] == 0

    def test_viewer_may_read_but_not_change(self, api, alice, bob):
        project = ProjectFactory(name="Shared", owner=bob, access_level="restricted", members={alice: "viewer"})
        assert api.get(f"/api/projects/{project.id}/").json()["my_role"] == "viewer"
        response = api.patch(f"/api/projects/{project.id}/", {"name": "Mine now"})
        assert response.status_code == 403
        project.refresh_from_db()
        assert project.name == "Shared"

    def test_delete_refuses_non_empty_project(self, api, alice):
        project = ProjectFactory(name="Full", owner=alice)
        make_file(project)
        assert api.delete(f"/api/projects/{project.id}/").status_code == 409
        assert Project.objects.filter(id=project.id).exists()
        empty = ProjectFactory(name="Empty", owner=alice)
        assert api.delete(f"/api/projects/{empty.id}/").status_code == 204

    def test_level_change_cascades_to_inheriting_files(self, api, alice):
        project = ProjectFactory(name="P", owner=alice, access_level="internal")
        inherit = make_file(project, "a.txt")
        own = make_file(project, "b.txt", access_level="restricted")
        assert api.patch(f"/api/projects/{project.id}/", {"access_level": "public"}).status_code == 200
        inherit.refresh_from_db()
        own.refresh_from_db()
        assert inherit.effective_access_level == "public"
        assert own.effective_access_level == "restricted"

    def test_the_list_costs_the_same_queries_for_3_projects_or_12(self, client_for, bob, make_user):
        """Each listed project's role, permissions and whether it is seen in full come from the
        caller's reach, read once per request; and they are the ones a lone project's page gives."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from file_upload.tests.factories import GroupFactory, ProjectGroupFactory

        carol = make_user("carol")
        group = GroupFactory(name="wetlab", users=[bob])
        client = client_for(bob)

        def listing(n: int) -> tuple[int, list[dict]]:
            for k in range(n):
                level = ["public", "internal", "restricted", "restricted"][k % 4]
                made = ProjectFactory(name=f"P{n}-{k}", owner=carol, access_level=level)
                if k % 3 == 0:
                    ProjectMemberFactory(project=made, user=bob, role=["viewer", "editor"][k % 2])
                elif k % 3 == 1:
                    ProjectGroupFactory(project=made, group=group, role="editor")
                make_file(made, "x.fq", owner=carol, access_level="public")
            client.get("/api/projects/?page_size=100")  # the search index catches up with the new files
            with CaptureQueriesContext(connection) as captured:
                body = client.get("/api/projects/?page_size=100").json()
            return len(captured), body["results"]

        few, _ = listing(3)
        many, listed = listing(12)
        assert few == many
        assert len(listed) == 15
        for item in listed:
            alone = client.get(f"/api/projects/{item['id']}/").json()
            assert {k: item[k] for k in ("my_role", "my_permissions", "seen_from_outside")} == {
                k: alone[k] for k in ("my_role", "my_permissions", "seen_from_outside")
            }
        assert {item["my_role"] for item in listed} == {"viewer", "editor", None}
        assert {item["seen_from_outside"] for item in listed} == {True, False}


class TestFoldersApi:
    @pytest.fixture
    def project(self, alice):
        return ProjectFactory(name="P", owner=alice)

    def test_tree_with_paths_and_breadcrumb(self, api, project):
        raw = api.post("/api/folders/", {"project": project.id, "parent": None, "name": "raw"}).json()
        run = api.post("/api/folders/", {"project": project.id, "parent": raw["id"], "name": "run1"}).json()
        assert run["path"] == "/raw/run1"
        detail = api.get(f"/api/folders/{run['id']}/").json()
        assert detail["ancestors"] == [{"id": raw["id"], "name": "raw"}]
        top = api.get(f"/api/folders/?project={project.id}&parent=null").json()
        assert [f["name"] for f in top["results"]] == ["raw"]
        children = api.get(f"/api/folders/?project={project.id}&parent={raw['id']}").json()
        assert [f["name"] for f in children["results"]] == ["run1"]

    @pytest.mark.parametrize("name", ["../etc", "a/b", "..", "a\\b", "x" * 256, " padded", "nul\x00byte"])
    def test_bad_names_are_rejected(self, api, project, name):
        response = api.post("/api/folders/", {"project": project.id, "name": name})
        assert response.status_code == 400, name
        assert "name" in response.json()["errors"]
        assert Folder.objects.count() == 0

    def test_duplicate_sibling_is_409(self, api, project):
        make_folder(project, "raw")
        response = api.post("/api/folders/", {"project": project.id, "name": "raw"})
        assert response.status_code == 409
        assert Folder.objects.count() == 1

    def test_parent_from_another_project_is_rejected(self, api, alice, project):
        other = ProjectFactory(name="Other", owner=alice)
        foreign = make_folder(other, "x")
        response = api.post("/api/folders/", {"project": project.id, "parent": foreign.id, "name": "y"})
        assert response.status_code == 400
        assert "parent" in response.json()["errors"]

    def test_missing_project_is_400(self, api):
        response = api.post("/api/folders/", {"name": "raw"})
        assert response.status_code == 400
        assert "project" in response.json()["errors"]

    def test_rename_and_move_keep_subtree_paths(self, api, project):
        a = make_folder(project, "a")
        b = make_folder(project, "b", parent=a)
        c = make_folder(project, "c", parent=b)
        assert api.patch(f"/api/folders/{a.id}/", {"name": "alpha"}).status_code == 200
        c.refresh_from_db()
        assert c.name_path == "/alpha/b/c"
        z = make_folder(project, "z")
        assert api.patch(f"/api/folders/{b.id}/", {"parent": z.id}).status_code == 200
        c.refresh_from_db()
        assert c.name_path == "/z/b/c"
        assert c.tree_path == f"/{z.id}/{b.id}/{c.id}/"

    def test_cannot_move_into_own_subtree(self, api, project):
        a = make_folder(project, "a")
        b = make_folder(project, "b", parent=a)
        response = api.patch(f"/api/folders/{a.id}/", {"parent": b.id})
        assert response.status_code == 400
        a.refresh_from_db()
        assert a.parent_id is None

    def test_folder_level_cascades_to_files(self, api, project):
        folder = make_folder(project, "a")
        sub = make_folder(project, "b", parent=folder)
        file = make_file(project, folder=sub)
        assert file.effective_access_level == "internal"
        assert api.patch(f"/api/folders/{folder.id}/", {"access_level": "restricted"}).status_code == 200
        file.refresh_from_db()
        assert file.effective_access_level == "restricted"

    def test_delete_takes_the_folder_and_its_content_to_the_trash(self, api, project):
        folder = make_folder(project, "a")
        sub = make_folder(project, "b", parent=folder)
        top = make_file(project, "top.fastq", folder=folder)
        deep = make_file(project, "deep.fastq", folder=sub)
        kept = make_file(project, "kept.fastq")
        assert api.delete(f"/api/folders/{folder.id}/").status_code == 204
        assert not Folder.objects.filter(id__in=[folder.id, sub.id]).exists()
        trash = {item["id"] for item in api.get("/api/trash/").json()["results"]}
        assert trash == {top.id, deep.id}
        assert File.objects.alive().filter(project=project).get().id == kept.id
        # Restored files come back to the project's top level (their folders are gone).
        assert api.post(f"/api/files/{deep.id}/restore/").status_code == 200
        assert File.objects.alive().get(id=deep.id).folder_id is None
        empty = make_folder(project, "c")
        assert api.delete(f"/api/folders/{empty.id}/").status_code == 204

    def test_delete_refused_when_something_inside_is_not_the_callers(self, client_for, alice, bob, project):
        ProjectMemberFactory(project=project, user=bob, role="editor")
        folder = make_folder(project, "a")
        make_file(project, "alices.fastq", folder=folder, owner=alice)
        response = client_for(bob).delete(f"/api/folders/{folder.id}/")
        assert response.status_code == 403
        assert Folder.objects.filter(id=folder.id).exists()
        assert File.objects.alive().filter(folder=folder).count() == 1

    @pytest.mark.parametrize("with_grant", [False, True])
    def test_the_delete_check_does_not_query_per_file(self, alice, bob, project, with_grant):
        """Whether every object of a folder may be deleted is asked in a number of queries that
        does not grow with the files (and the answer is the policy's ``can``)."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from access import policy
        from authentication.models import AccessGrant

        ProjectMemberFactory(project=project, user=bob, role="owner")
        if with_grant:  # ranks then come from grants as well as the role
            elsewhere = make_folder(project, "elsewhere")
            AccessGrant.objects.create(
                subject_user=bob, object_type="folder", project=project, folder=elsewhere, permission="view"
            )

        def queries(n: int) -> int:
            top = make_folder(project, f"top{n}")
            subs = [make_folder(project, f"sub{k}", parent=top) for k in range(2)]
            for k in range(n):
                make_file(project, f"f{k}.fastq", folder=subs[k % 2], owner=alice)
            with CaptureQueriesContext(connection) as captured:
                assert policy.refused_in_tree(bob, top) is None
            return len(captured)

        assert queries(3) == queries(30)
        viewer = ProjectMember.objects.get(user=bob)
        viewer.role = "editor"
        viewer.save()
        top = Folder.objects.get(project=project, name="top3")
        assert policy.refused_in_tree(bob, top) == top  # an editor may not delete folders
        assert policy.can(bob, "delete", top) is False

    def test_files_arriving_leaving_and_moving_change_the_projects_updated(self, api, project):
        from datetime import timedelta

        from django.utils import timezone

        def age_project():
            past = timezone.now() - timedelta(days=3)
            Project.objects.filter(id=project.id).update(updated_at=past)
            return past

        past = age_project()
        file = make_file(project, "new.fastq")
        assert Project.objects.get(id=project.id).updated_at > past
        past = age_project()
        assert api.patch(f"/api/files/{file.id}/", {"description": "only words"}).status_code == 200
        assert Project.objects.get(id=project.id).updated_at == past  # metadata is not content
        folder = make_folder(project, "x")
        past = age_project()
        assert api.post(f"/api/files/{file.id}/move/", {"folder": folder.id}).status_code == 200
        assert Project.objects.get(id=project.id).updated_at > past
        past = age_project()
        assert api.delete(f"/api/files/{file.id}/").status_code == 204
        assert Project.objects.get(id=project.id).updated_at > past

    def test_viewer_cannot_create_folders(self, client_for, bob, project):
        ProjectMemberFactory(project=project, user=bob, role="viewer")
        response = client_for(bob).post("/api/folders/", {"project": project.id, "name": "x"})
        assert response.status_code == 403
        assert Folder.objects.count() == 0
