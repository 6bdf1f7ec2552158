"""Storage quotas per project (and per user) on every upload path."""

from __future__ import annotations

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from file_upload.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(alice):
    return ProjectFactory(name="Atlas", owner=alice, quota_bytes=10)


def multipart(client, project, content, name):
    return client.post(
        "/api/files/", {"file": SimpleUploadedFile(name, content), "project": project.id}, format="multipart"
    )


def test_multipart_upload_respects_the_project_quota(api, project):
    assert multipart(api, project, b"12345678", "a.txt").status_code == 201
    response = multipart(api, project, b"123", "b.txt")
    assert response.status_code == 413 and response.json()["code"] == "quota_exceeded"


def test_multipart_upload_respects_the_user_quota(api, alice, settings):
    settings.BIOFM_USER_QUOTA_BYTES = 5
    free = ProjectFactory(name="Free", owner=alice)
    assert multipart(api, free, b"123456", "a.txt").status_code == 413


def test_tus_creation_respects_the_project_quota(api, project):
    b64 = lambda text: base64.b64encode(text.encode()).decode()  # noqa: E731
    metadata = f"filename {b64('x.bin')},project {b64(str(project.id))}"
    response = api.post(
        "/api/uploads/", HTTP_TUS_RESUMABLE="1.0.0", HTTP_UPLOAD_LENGTH="11", HTTP_UPLOAD_METADATA=metadata
    )
    assert response.status_code == 413
    ok = api.post("/api/uploads/", HTTP_TUS_RESUMABLE="1.0.0", HTTP_UPLOAD_LENGTH="10", HTTP_UPLOAD_METADATA=metadata)
    assert ok.status_code == 201


def test_only_staff_set_quotas(api, project, client_for, make_user):
    assert api.patch(f"/api/projects/{project.id}/", {"quota_bytes": 10**12}, format="json").status_code == 403
    assert api.patch(f"/api/projects/{project.id}/", {"retention_days": 7}, format="json").status_code == 200
    staff = client_for(make_user("ops", is_staff=True, is_superuser=True))
    response = staff.patch(f"/api/projects/{project.id}/", {"quota_bytes": 1000}, format="json")
    assert response.status_code == 200 and response.json()["quota_bytes"] == 1000


def test_a_final_upload_counts_its_parts_once(alice, project):
    """While a final upload (tus concatenation) joins its parts, the owner's quota counts the
    bytes once (as the parts, which the join removes with the File's creation) and the
    project's counts the final (the parts belong to no project)."""
    from django.utils import timezone

    from file_upload.models import Upload, UploadConcat, UploadState
    from file_upload.uploads.quota import in_use

    later = timezone.now() + timezone.timedelta(days=1)
    parts = [
        Upload.objects.create(
            owner=alice, length=4, offset=4, concat=UploadConcat.PARTIAL, state=UploadState.ACTIVE, expires_at=later
        )
        for _ in range(2)
    ]
    Upload.objects.create(
        owner=alice,
        expires_at=later,
        project=project,
        length=8,
        concat=UploadConcat.FINAL,
        parts=[str(part.id) for part in parts],
        state=UploadState.VERIFYING,
    )
    assert in_use(owner=alice) == 8
    assert in_use(project=project) == 8
