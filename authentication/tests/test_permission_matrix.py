"""Who may do what, written as a table and asserted cell by cell.

Project P (internal) holds:
    p1          public file at the project root
    A/          folder, inherit (→ internal)
      a1        inherit (→ internal), uploaded by the editor
      a2        restricted override
    R/          folder, restricted
      r2        public override
      S/        folder, inherit (→ restricted)
        r1      inherit (→ restricted)
Project Q (restricted) holds q1 (inherit → restricted).

Roles and grants: viewer, editor (user members of P); group "wetlab" is viewer of P
(group_member belongs to it); grantee holds a view grant on folder R; group "collab"
(group_grantee) holds an edit grant on file a2; outsider owns an unrelated project; staff is
is_staff without roles; superuser is a superuser.

Cell letters: V = sees it (list, search, count, detail, download), E = edits metadata,
X = deletes it, M = shares it (creates grants). "-" = none of these.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from authentication.models import AccessGrant
from file_upload.models import File
from file_upload.tests.factories import GroupFactory, ProjectFactory, UserFactory, make_file, make_folder, principals

FILES = ["p1", "a1", "a2", "r1", "r2", "q1"]

MATRIX = {
    #                 p1      a1      a2      r1      r2      q1
    "anonymous":     ["V",    "-",    "-",    "-",    "V",    "-"],
    "outsider":      ["V",    "V",    "-",    "-",    "V",    "-"],
    "staff":         ["V",    "V",    "-",    "-",    "V",    "-"],
    "viewer":        ["V",    "V",    "V",    "V",    "V",    "-"],
    "group_member":  ["V",    "V",    "V",    "V",    "V",    "-"],
    "editor":        ["VE",   "VEX",  "VE",   "VE",   "VE",   "-"],
    "owner":         ["VEXM", "VEXM", "VEXM", "VEXM", "VEXM", "VEXM"],
    "grantee":       ["V",    "V",    "-",    "V",    "V",    "-"],
    "group_grantee": ["V",    "V",    "VE",   "-",    "V",    "-"],
    "superuser":     ["VEXM", "VEXM", "VEXM", "VEXM", "VEXM", "VEXM"],
}  # fmt: skip

FOLDERS = ["A", "R", "S"]
PROJECTS = ["P", "Q"]
FOLDER_MATRIX = {
    #                 A    R    S    P    Q
    "anonymous":     "-    -    -    V    -",
    "outsider":      "V    -    -    V    -",
    "staff":         "V    -    -    V    -",
    "viewer":        "V    V    V    V    -",
    "group_member":  "V    V    V    V    -",
    "editor":        "V    V    V    V    -",
    "owner":         "V    V    V    V    V",
    "grantee":       "V    V    V    V    -",
    "group_grantee": "V    -    -    V    -",
    "superuser":     "V    V    V    V    V",
}  # fmt: skip


@pytest.fixture
def world(db):
    users = principals(name for name in MATRIX if name != "anonymous")
    owner = users["owner"]
    wetlab = GroupFactory(name="wetlab", users=[users["group_member"]])
    collab = GroupFactory(name="collab", users=[users["group_grantee"]])
    roles = {users["viewer"]: "viewer", users["editor"]: "editor"}
    p = ProjectFactory(name="P", owner=owner, access_level="internal", members=roles, groups={wetlab: "viewer"})
    q = ProjectFactory(name="Q", owner=owner, access_level="restricted")
    ProjectFactory(name="Z", owner=users["outsider"], access_level="restricted")
    a = make_folder(p, "A")
    r = make_folder(p, "R", access_level="restricted")
    s = make_folder(p, "S", parent=r)
    files = {
        "p1": make_file(p, "p1.txt", access_level="public"),
        "a1": make_file(p, "a1.txt", folder=a, owner=users["editor"]),
        "a2": make_file(p, "a2.txt", folder=a, access_level="restricted"),
        "r1": make_file(p, "r1.txt", folder=s),
        "r2": make_file(p, "r2.txt", folder=r, access_level="public"),
        "q1": make_file(q, "q1.txt"),
    }
    AccessGrant.objects.create(subject_user=users["grantee"], object_type="folder", project=p, folder=r)
    AccessGrant.objects.create(subject_group=collab, object_type="file", project=p, file=files["a2"], permission="edit")
    target = UserFactory(username="share-target", password="pw-123456!")
    return {
        "users": users,
        "files": files,
        "folders": {"A": a, "R": r, "S": s},
        "projects": {"P": p, "Q": q},
        "target": target,
    }


def client_as(world, name: str) -> APIClient:
    client = APIClient()
    if name != "anonymous":
        client.force_authenticate(world["users"][name])
    return client


def expected_status(letters: str, op: str, anonymous: bool, success: int) -> int:
    if op in letters:
        return success
    if anonymous:
        return 401
    return 403 if "V" in letters else 404


def test_effective_levels_cascade_as_designed(world):
    levels = {key: f.effective_access_level for key, f in world["files"].items()}
    assert levels == {
        "p1": "public",
        "a1": "internal",
        "a2": "restricted",
        "r1": "restricted",
        "r2": "public",
        "q1": "restricted",
    }
    assert world["folders"]["S"].effective_access_level == "restricted"


@pytest.mark.parametrize("user", list(MATRIX))
def test_file_matrix(world, user):
    client = client_as(world, user)
    anonymous = user == "anonymous"
    listed = {f["name"] for f in client.get("/api/files/?page_size=500").json()["results"]}
    for key, letters in zip(FILES, MATRIX[user], strict=True):
        file = world["files"][key]
        sees = "V" in letters
        where = f"{user} × {key}"
        assert (file.name in listed) == sees, f"list: {where}"
        search = client.get(f"/api/files/?q={key}.txt").json()
        assert ([r["name"] for r in search["results"]] == [file.name]) == sees, f"search: {where}"
        assert search["count"] == (1 if sees else 0), f"count: {where}"
        assert client.get(f"/api/files/{file.id}/").status_code == (200 if sees else 404), f"detail: {where}"
        download = client.get(f"/api/files/{file.id}/download/")
        assert download.status_code == (200 if sees else 404), f"download: {where}"

        edit = client.patch(f"/api/files/{file.id}/", {"description": f"edited by {user}"}, format="json")
        assert edit.status_code == expected_status(letters, "E", anonymous, 200), f"edit: {where}"
        file.refresh_from_db()
        assert (file.description == f"edited by {user}") == ("E" in letters), f"edit effect: {where}"

        delete = client.delete(f"/api/files/{file.id}/")
        assert delete.status_code == expected_status(letters, "X", anonymous, 204), f"delete: {where}"
        file.refresh_from_db()
        assert (file.deleted_at is not None) == ("X" in letters), f"delete effect: {where}"
        File.objects.filter(id=file.id).update(deleted_at=None)

        share = client.post(
            "/api/grants/",
            {"subject_type": "user", "subject": "share-target", "object_type": "file", "object": file.id},
            format="json",
        )
        assert share.status_code == expected_status(letters, "M", anonymous, 201), f"share: {where}"
        created = AccessGrant.objects.filter(subject_user=world["target"], file=file)
        assert created.exists() == ("M" in letters), f"share effect: {where}"
        created.delete()


@pytest.mark.parametrize("user", list(FOLDER_MATRIX))
def test_folder_and_project_matrix(world, user):
    client = client_as(world, user)
    cells = FOLDER_MATRIX[user].split()
    listed_folders = {f["name"] for f in client.get("/api/folders/?page_size=500").json()["results"]}
    listed_projects = {p["name"] for p in client.get("/api/projects/").json()["results"]}
    for key, cell in zip(FOLDERS + PROJECTS, cells, strict=True):
        sees = cell == "V"
        if key in FOLDERS:
            obj, listed, url = world["folders"][key], listed_folders, f"/api/folders/{world['folders'][key].id}/"
        else:
            obj, listed, url = world["projects"][key], listed_projects, f"/api/projects/{world['projects'][key].id}/"
        assert (obj.name in listed) == sees, f"list: {user} × {key}"
        assert client.get(url).status_code == (200 if sees else 404), f"detail: {user} × {key}"


def test_revoking_a_grant_takes_effect_on_the_next_request(world):
    client = client_as(world, "grantee")
    r1 = world["files"]["r1"]
    assert client.get(f"/api/files/{r1.id}/").status_code == 200
    AccessGrant.objects.filter(subject_user=world["users"]["grantee"]).delete()
    assert client.get(f"/api/files/{r1.id}/").status_code == 404
    assert client.get(f"/api/files/{r1.id}/download/").status_code == 404


def test_upload_targets_follow_the_same_rules(world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    def upload(user, folder):
        data = {"file": SimpleUploadedFile("new.txt", b"x"), "project": folder.project_id, "folder": folder.id}
        return client_as(world, user).post("/api/files/", data, format="multipart").status_code

    r = world["folders"]["R"]
    assert upload("outsider", r) == 404  # P is visible to them, R is not
    assert upload("viewer", r) == 403
    assert upload("editor", r) == 201
    AccessGrant.objects.create(
        subject_user=world["users"]["grantee"],
        object_type="folder",
        project=r.project,
        folder=world["folders"]["S"],
        permission="edit",
    )
    assert upload("grantee", world["folders"]["S"]) == 201


@pytest.mark.parametrize("backend", ["tantivy", "sql"])
@pytest.mark.parametrize("user", list(MATRIX))
def test_search_matrix_on_both_backends(world, user, backend, settings):
    """The matrix's V column, as search sees it, answered by the index and by SQL alone (and by
    the one named: no silent fallback)."""
    settings.BIOFM_SEARCH_BACKEND = backend
    client = client_as(world, user)
    response = client.get("/api/files/?page_size=500&facets=access_level")
    assert response["X-Search-Backend"] == backend
    body = response.json()
    seen = {key for key, letters in zip(FILES, MATRIX[user], strict=True) if "V" in letters}
    names = {world["files"][key].name for key in seen}
    assert {f["name"] for f in body["results"]} == names and body["count"] == len(names)
    levels = [world["files"][key].effective_access_level for key in seen]
    assert {item["value"]: item["count"] for item in body["facets"]["access_level"]} == {
        level: levels.count(level) for level in set(levels)
    }
    for key in FILES:
        found = client.get(f"/api/files/?q={key}.txt")
        assert found["X-Search-Backend"] == backend
        assert [r["name"] for r in found.json()["results"]] == ([world["files"][key].name] if key in seen else [])
