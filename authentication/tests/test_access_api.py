from __future__ import annotations

import pytest

from authentication.models import AccessGrant
from file_upload import services
from file_upload.models import File, Folder, ProjectGroup, ProjectMember
from file_upload.tests.factories import GroupFactory, ProjectFactory, ProjectMemberFactory, make_file, make_folder

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(alice):
    return ProjectFactory(name="Atlas", owner=alice, access_level="internal")


class TestMembers:
    def test_list_add_change_remove(self, api, project, bob):
        GroupFactory(name="wetlab")
        assert api.get(f"/api/projects/{project.id}/members/").json() == [
            {"id": None, "kind": "user", "name": "alice", "role": "owner"}
        ]
        added = api.post(f"/api/projects/{project.id}/members/", {"kind": "user", "name": "bob", "role": "viewer"})
        assert added.status_code == 201
        changed = api.post(f"/api/projects/{project.id}/members/", {"kind": "user", "name": "bob", "role": "editor"})
        assert changed.status_code == 200 and changed.json()["role"] == "editor"
        api.post(f"/api/projects/{project.id}/members/", {"kind": "group", "name": "wetlab", "role": "viewer"})
        names = [(m["kind"], m["name"], m["role"]) for m in api.get(f"/api/projects/{project.id}/members/").json()]
        assert names == [("user", "alice", "owner"), ("user", "bob", "editor"), ("group", "wetlab", "viewer")]
        assert api.delete(f"/api/projects/{project.id}/members/?kind=user&name=bob").status_code == 204
        assert not ProjectMember.objects.filter(project=project).exists()
        assert api.delete(f"/api/projects/{project.id}/members/?kind=user&name=bob").status_code == 404
        assert ProjectGroup.objects.filter(project=project).count() == 1

    def test_bad_input(self, api, project):
        url = f"/api/projects/{project.id}/members/"
        assert "name" in api.post(url, {"kind": "user", "name": "nobody", "role": "viewer"}).json()["errors"]
        assert "role" in api.post(url, {"kind": "user", "name": "alice", "role": "king"}).json()["errors"]
        owner = api.post(url, {"kind": "user", "name": "alice", "role": "viewer"})
        assert owner.status_code == 409 and owner.json()["code"] == "is_owner"

    def test_only_managers_change_members(self, client_for, project, bob, make_user):
        ProjectMemberFactory(project=project, user=bob, role="editor")
        make_user("carol")
        response = client_for(bob).post(
            f"/api/projects/{project.id}/members/", {"kind": "user", "name": "carol", "role": "editor"}
        )
        assert response.status_code == 403
        assert len(client_for(bob).get(f"/api/projects/{project.id}/members/").json()) == 2

    def test_removing_a_member_revokes_access_on_the_next_request(self, api, client_for, project, bob):
        project.access_level = "restricted"
        project.save()
        ProjectMemberFactory(project=project, user=bob, role="viewer")
        file = make_file(project)
        services.refresh_effective_levels(project)
        assert client_for(bob).get(f"/api/files/{file.id}/").status_code == 200
        api.delete(f"/api/projects/{project.id}/members/?kind=user&name=bob")
        assert client_for(bob).get(f"/api/files/{file.id}/").status_code == 404


class TestGrants:
    def test_create_list_update_delete(self, api, project, bob):
        folder = make_folder(project, "raw")
        response = api.post(
            "/api/grants/",
            {
                "subject_type": "user",
                "subject": "bob",
                "object_type": "folder",
                "object": folder.id,
                "permission": "edit",
            },
        )
        assert response.status_code == 201, response.json()
        grant = response.json()
        assert grant | {"id": 0, "created_at": ""} == {
            "id": 0,
            "subject_type": "user",
            "subject": "bob",
            "object_type": "folder",
            "object": folder.id,
            "object_name": "raw",
            "project": project.id,
            "permission": "edit",
            "granted_by": "alice",
            "created_at": "",
        }
        listed = api.get(f"/api/grants/?object_type=folder&object={folder.id}").json()
        assert [g["id"] for g in listed["results"]] == [grant["id"]]
        assert api.patch(f"/api/grants/{grant['id']}/", {"permission": "manage"}).json()["permission"] == "manage"
        assert api.delete(f"/api/grants/{grant['id']}/").status_code == 204
        assert not AccessGrant.objects.exists()

    def test_duplicate_and_unknown_subject(self, api, project, bob):
        body = {"subject_type": "user", "subject": "bob", "object_type": "project", "object": project.id}
        assert api.post("/api/grants/", body).status_code == 201
        duplicate = api.post("/api/grants/", body)
        assert duplicate.status_code == 409 and duplicate.json()["code"] == "grant_exists"
        unknown = api.post("/api/grants/", body | {"subject_type": "group", "subject": "nope"})
        assert unknown.status_code == 400 and "subject" in unknown.json()["errors"]
        bad_type = api.post("/api/grants/", body | {"object_type": "planet"})
        assert bad_type.status_code == 400 and "object_type" in bad_type.json()["errors"]
        assert AccessGrant.objects.count() == 1

    def test_grantees_see_their_grants_but_cannot_change_them(self, client_for, project, bob):
        folder = make_folder(project, "raw", access_level="restricted")
        grant = AccessGrant.objects.create(subject_user=bob, object_type="folder", project=project, folder=folder)
        bob_client = client_for(bob)
        assert [g["id"] for g in bob_client.get("/api/grants/").json()["results"]] == [grant.id]
        assert bob_client.patch(f"/api/grants/{grant.id}/", {"permission": "manage"}).status_code == 403
        assert bob_client.delete(f"/api/grants/{grant.id}/").status_code == 403

    def test_a_manage_grant_lets_a_non_owner_share(self, client_for, project, bob, make_user):
        make_user("carol")
        folder = make_folder(project, "raw")
        AccessGrant.objects.create(
            subject_user=bob, object_type="folder", project=project, folder=folder, permission="manage"
        )
        body = {"subject_type": "user", "subject": "carol", "object_type": "folder", "object": folder.id}
        assert client_for(bob).post("/api/grants/", body).status_code == 201
        other = make_folder(project, "other")
        assert client_for(bob).post("/api/grants/", body | {"object": other.id}).status_code == 403


class TestAccessExplanation:
    def test_file_access_names_the_source_and_every_rule(self, api, project, bob, make_user):
        carol = make_user("carol")
        wetlab = GroupFactory(name="wetlab")
        carol.groups.add(wetlab)
        raw = make_folder(project, "raw", access_level="restricted")
        run = make_folder(project, "run1", parent=raw)
        file = make_file(project, "r.fq", folder=run)
        ProjectMemberFactory(project=project, user=bob, role="viewer")
        AccessGrant.objects.create(subject_group=wetlab, object_type="folder", project=project, folder=raw)
        body = api.get(f"/api/files/{file.id}/access/?user=carol").json()
        assert body["effective_access_level"] == "restricted"
        assert body["source"] == {"type": "folder", "id": raw.id, "name": "raw", "access_level": "restricted"}
        assert [(n["type"], n["name"]) for n in body["chain"]] == [
            ("file", "r.fq"),
            ("folder", "run1"),
            ("folder", "raw"),
            ("project", "Atlas"),
        ]
        kinds = [(r["kind"], r.get("subject")) for r in body["rules"]]
        assert kinds == [("owner", "alice"), ("project_owner", "alice"), ("member", "bob"), ("grant", "wetlab")]
        assert body["check"]["visible"] is True
        assert body["check"]["rank"] == "view"
        assert body["check"]["reasons"] == ["Members of group wetlab can view (granted on folder “raw”)"]

    def test_check_of_someone_who_cannot_see(self, api, project, make_user):
        make_user("mallory")
        folder = make_folder(project, "raw", access_level="restricted")
        body = api.get(f"/api/folders/{folder.id}/access/?user=mallory").json()
        assert body["check"] == {"user": "mallory", "visible": False, "rank": "none", "reasons": []}
        internal = api.get(f"/api/projects/{project.id}/access/?user=mallory").json()
        assert internal["rules"][0]["kind"] == "level"
        assert internal["check"]["visible"] is True
        assert internal["check"]["reasons"] == ["Every signed-in user (internal, set on project “Atlas”)"]

    def test_access_of_an_invisible_object_is_404(self, client_for, project, make_user):
        folder = make_folder(project, "raw", access_level="restricted")
        assert client_for(make_user("mallory")).get(f"/api/folders/{folder.id}/access/").status_code == 404

    def test_unknown_check_user_is_400(self, api, project):
        assert "user" in api.get(f"/api/projects/{project.id}/access/?user=ghost").json()["errors"]


class TestCascade:
    def test_restricted_to_internal_updates_a_1000_file_tree_in_bounded_queries(
        self, api, project, django_assert_max_num_queries
    ):
        top = make_folder(project, "top", access_level="restricted")
        mids = [make_folder(project, f"mid{i}", parent=top) for i in range(4)]
        leaves = [make_folder(project, f"leaf{i}", parent=mids[i % 4]) for i in range(10)]
        rows = [
            File(
                project=project,
                folder=leaves[i % 10] if i % 3 else mids[i % 4],
                name=f"f{i}.txt",
                owner=project.owner,
                storage_key=f"x/{i}",
                effective_access_level="restricted",
            )
            for i in range(1000)
        ]
        rows[7].access_level = "public"  # an override inside the tree keeps its own level
        rows[7].effective_access_level = "public"
        File.objects.bulk_create(rows)
        assert Folder.objects.filter(effective_access_level="restricted").count() == 15
        with django_assert_max_num_queries(40):
            response = api.patch(f"/api/folders/{top.id}/", {"access_level": "internal"})
        assert response.status_code == 200
        assert response.json()["effective_access_level"] == "internal"
        assert File.objects.filter(effective_access_level="internal").count() == 999
        assert File.objects.get(name="f7.txt").effective_access_level == "public"
        assert not Folder.objects.filter(effective_access_level="restricted").exists()

    def test_moving_a_folder_under_a_restricted_one_restricts_its_files(self, api, project):
        secret = make_folder(project, "secret", access_level="restricted")
        loose = make_folder(project, "loose")
        file = make_file(project, folder=loose)
        assert file.effective_access_level == "internal"
        api.patch(f"/api/folders/{loose.id}/", {"parent": secret.id})
        file.refresh_from_db()
        assert file.effective_access_level == "restricted"

    def test_rebuild_command_repairs_levels(self, project):
        from django.core.management import call_command

        file = make_file(project, folder=make_folder(project, "raw", access_level="public"))
        File.objects.filter(id=file.id).update(effective_access_level="restricted")
        call_command("rebuild_access_levels")
        file.refresh_from_db()
        assert file.effective_access_level == "public"


class TestAuditApi:
    def test_staff_see_all_users_see_their_own_and_their_projects(self, api, client_for, project, bob, make_user):
        staff = make_user("auditor", is_staff=True)
        api.patch(f"/api/projects/{project.id}/", {"description": "changed"})
        other = ProjectFactory(name="Bobs", owner=bob)
        client_for(bob).patch(f"/api/projects/{other.id}/", {"description": "bob's change"})
        all_events = client_for(staff).get("/api/audit/").json()
        assert all_events["count"] == 2
        assert [e["actor"] for e in api.get("/api/audit/").json()["results"]] == ["alice"]
        assert [e["actor"] for e in client_for(bob).get("/api/audit/").json()["results"]] == ["bob"]

    def test_filters(self, api, project):
        make_file(project, "a.txt")
        api.patch(f"/api/projects/{project.id}/", {"description": "x"})
        assert [e["action"] for e in api.get("/api/audit/?action=file.").json()["results"]] == ["file.upload"]
        assert api.get("/api/audit/?action=project.update&actor=alice").json()["count"] == 1
        assert api.get("/api/audit/?actor=bob").json()["count"] == 0
        assert api.get(f"/api/audit/?project={project.id}").json()["count"] == 2
        assert api.get("/api/audit/?since=2999-01-01T00:00:00Z").json()["count"] == 0
        assert api.get("/api/audit/?since=yesterday").status_code == 400

    def test_verify_is_for_staff(self, api, client_for, make_user, project):
        make_file(project)
        assert api.get("/api/audit/verify/").status_code == 403
        staff = client_for(make_user("auditor", is_staff=True))
        result = staff.get("/api/audit/verify/").json()
        assert (result["ok"], result["checked"], result["first_broken"]) == (True, 1, None)


def test_user_and_group_directories(api, anon, make_user):
    make_user("bobby", first_name="Robert")
    GroupFactory(name="wetlab")
    assert [u["username"] for u in api.get("/api/users/?q=rob").json()] == ["bobby"]
    assert [g["name"] for g in api.get("/api/groups/?q=wet").json()] == ["wetlab"]
    assert anon.get("/api/users/").status_code == 401
