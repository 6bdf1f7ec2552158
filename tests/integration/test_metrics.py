"""/metrics: staff or scrape token only; request, upload, download, task and cellxgene series."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from cellxgene_bridge.models import Viewer
from file_project import task_metrics
from file_upload.tests.factories import ProjectFactory, make_file

pytestmark = pytest.mark.django_db


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def value(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{series} not in the exposition")


def test_only_staff_or_the_scrape_token(make_user, settings, client_for):
    settings.BIOFM_METRICS_TOKEN = "scrape-secret"
    assert APIClient().get("/metrics").status_code == 401
    assert client_for(make_user("alice")).get("/metrics").status_code == 403
    assert APIClient().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert APIClient().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret").status_code == 200
    staff = Client()
    staff.force_login(make_user("ops", is_staff=True))
    assert staff.get("/metrics").status_code == 200
    settings.BIOFM_METRICS_TOKEN = ""
    assert APIClient().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_series_for_requests_transfers_tasks_and_cellxgene(make_user, client_for, django_capture_on_commit_callbacks):
    ops = make_user("ops", is_staff=True)
    client = client_for(ops)
    series = 'biofm_upload_bytes_total{method="api"}'
    before = scrape(client)
    uploaded_before = value(before, series) if series in before else 0.0
    project = ProjectFactory(name="Atlas", owner=ops)
    with django_capture_on_commit_callbacks(execute=True):
        file = make_file(project, content=b"ACGT" * 10)
    assert client.get(f"/api/files/{file.id}/download/", HTTP_RANGE="bytes=0-9").status_code == 206
    Viewer.objects.create(port=5005, status="ready", data_path="/x.h5ad")
    task_metrics._postrun(task_id="t1", task=type("T", (), {"name": "file_upload.parse_file"})(), state="SUCCESS")
    text = scrape(client)
    assert 'django_http_requests_total_by_method_total{method="GET"}' in text
    assert value(text, series) - uploaded_before == 40
    assert value(text, 'biofm_files{state="live"}') == 1
    assert value(text, 'biofm_stored_bytes{state="live"}') == 40
    assert value(text, "biofm_uploads_verifying") == 0
    assert value(text, 'biofm_cellxgene_viewers{status="ready"}') == 1
    assert value(text, 'biofm_tasks_total{outcome="success",task="file_upload.parse_file"}') >= 1
    assert value(text, 'biofm_download_bytes_total{via="api"}') >= 10


def test_metrics_is_not_the_spa(client):
    assert client.get("/metrics").status_code in (401, 403)
