"""Health, schema, docs, the SPA fallback, JSON errors under /api/, and Django admin. The health
checks run on both storage backends."""

from __future__ import annotations

import pytest
from django.test import Client

from file_upload.tests.factories import ProjectFactory, make_file, make_folder

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("storage_backend")
def test_healthz_reports_each_dependency(client: Client):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "storage": "ok", "broker": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_fails_when_storage_is_unwritable(client: Client, settings, tmp_path, storage_backend):
    if storage_backend == "s3":  # the store turns the node away
        from file_upload import storage

        settings.BIOFM_S3_SECRET_ACCESS_KEY = "not-the-secret"
        storage.reset()
    else:
        settings.FILES_DIR = tmp_path / "missing" / "dir"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"].startswith("error")


def test_openapi_schema_lists_the_endpoints(client: Client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for expected in [
        "/api/projects/",
        "/api/folders/",
        "/api/files/",
        "/api/files/{id}/",
        "/api/files/{id}/download/",
        "/api/auth/login/",
        "/api/auth/token/",
        "/api/auth/me/",
    ]:
        assert expected in paths, expected


def test_swagger_ui_is_served_offline(client: Client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    # The assets come from the installed sidecar package, not from a CDN.
    asset = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert "cdn" not in html.lower()


def test_unknown_api_path_is_json_404(client: Client):
    response = client.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_spa_routes_fall_back_to_index(client: Client, settings, tmp_path):
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html><div id=app></div>")
    settings.SPA_DIST_DIR = dist
    for path in ["/", "/projects/3", "/files/12", "/login"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert b"<div id=app>" in response.content
    assert "csrftoken" in client.cookies


def test_spa_not_built_is_explained(client: Client, settings, tmp_path):
    settings.SPA_DIST_DIR = tmp_path / "nothing"
    response = client.get("/projects")
    assert response.status_code == 503
    assert b"npm" in response.content


def test_admin_lists_every_model(client: Client, make_user):
    admin = make_user("root", password="pw-123456!", email="root@example.org", is_staff=True, is_superuser=True)
    project = ProjectFactory(name="P", owner=admin)
    folder = make_folder(project, "raw")
    file = make_file(project, folder=folder, organism="Homo sapiens")
    client.force_login(admin)
    from django.contrib import admin as django_admin

    registered = {model._meta.label_lower for model in django_admin.site._registry}
    for label in [
        "authentication.user",
        "file_upload.project",
        "file_upload.folder",
        "file_upload.file",
        "file_upload.projectmember",
        "file_upload.projectgroup",
        "authtoken.tokenproxy",
        "auth.group",
    ]:
        assert label in registered, label
    for model in django_admin.site._registry:
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url
    page = client.get("/admin/file_upload/file/?q=Homo").content.decode()
    assert file.name in page
    assert client.get(f"/admin/file_upload/file/{file.id}/change/").status_code == 200


def test_admin_changes_keep_levels_and_paths_right(client: Client, make_user):
    admin = make_user("root", password="pw-123456!", email="root@example.org", is_staff=True, is_superuser=True)
    client.force_login(admin)
    project = ProjectFactory(name="P", owner=admin, access_level="internal")
    file = make_file(project)
    form = {
        "name": "P",
        "owner": admin.id,
        "access_level": "restricted",
        "description": "",
        "members-TOTAL_FORMS": 0,
        "members-INITIAL_FORMS": 0,
        "group_roles-TOTAL_FORMS": 0,
        "group_roles-INITIAL_FORMS": 0,
    }
    assert client.post(f"/admin/file_upload/project/{project.id}/change/", form).status_code == 302
    file.refresh_from_db()
    assert file.effective_access_level == "restricted"

    response = client.post(
        "/admin/file_upload/folder/add/", {"project": project.id, "name": "raw", "access_level": "public"}
    )
    assert response.status_code == 302
    folder = project.folders.get(name="raw")
    assert (folder.tree_path, folder.name_path, folder.effective_access_level) == (f"/{folder.id}/", "/raw", "public")
    response = client.post(
        f"/admin/file_upload/folder/{folder.id}/change/",
        {"project": project.id, "name": "reads", "access_level": "inherit"},
    )
    assert response.status_code == 302
    folder.refresh_from_db()
    assert (folder.name_path, folder.effective_access_level) == ("/reads", "restricted")
    assert client.get("/admin/file_upload/file/add/").status_code == 403
