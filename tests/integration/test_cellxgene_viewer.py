"""Publishing to the real cellxgene 1.3.0 from .venv-cellxgene, with scanpy's pbmc68k_reduced:
as shipped, without embeddings (the TruncatedSVD layout appears), one publication replacing
another, access through the proxy, and failures that leave the running viewer up."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from authentication.models import AuditEvent
from cellxgene_bridge import services
from cellxgene_bridge.models import Publication, Viewer
from cellxgene_bridge.tests import fixtures
from cellxgene_bridge.tests.fixtures import viewer_pids
from file_upload import storage
from file_upload.models import Project
from file_upload.tests.factories import make_file

pytestmark = pytest.mark.django_db

# Fixtures shared with the browser test (a real viewer on free ports, stopped afterwards).
cellxgene_env = fixtures.cellxgene_env
cellxgene_settings = fixtures.cellxgene_settings
h5ad_files = fixtures.h5ad_files


@pytest.fixture
def project(alice):
    return Project.objects.create(name="Single cell", owner=alice, access_level="restricted")


def publish(api, file) -> Publication:
    """POST publish as the user, then do the Celery task's work here."""
    response = api.post("/api/cellxgene/publish/", {"file": file.id}, format="json")
    assert response.status_code == 202, response.content
    publication = Publication.objects.get(pk=response.json()["publication"])
    return services.publish_dataset(publication.pk)


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _json(response):
    import json

    body = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Encoding") == "gzip":
        import gzip

        body = gzip.decompress(body)
    elif response.get("Content-Encoding") == "br":
        import brotli

        body = brotli.decompress(body)
    return json.loads(body)


def get_json(client, path):
    response = client.get(path, HTTP_ACCEPT_ENCODING="identity")
    assert response.status_code == 200, response
    return _json(response)


def test_publish_as_shipped_serves_through_the_proxy(api, alice, project, cellxgene_settings, h5ad_files):
    file = make_file(project, "pbmc68k_reduced.h5ad", h5ad_files["pbmc"])
    response = api.post("/api/cellxgene/publish/", {"file": file.id}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert body == {
        "status": "queued",
        "dataset": "pbmc68k_reduced.h5ad",
        "url": "/cellxgene/",
        "publication": body["publication"],
        "file": file.id,
    }
    publication = services.publish_dataset(body["publication"])
    assert publication.status == "ready", (publication.error, publication.log_tail)
    assert publication.embedding == ""  # X_pca and X_umap are usable as they are
    copy = Path(publication.data_path)
    assert copy.name == f"{file.id}__pbmc68k_reduced.h5ad"
    assert copy.parent == Path(cellxgene_settings.CELLXGENE_DATA_DIR)
    assert os.stat(copy).st_ino == os.stat(storage.path_for(file.storage_key)).st_ino  # a hard link

    status = api.get("/api/cellxgene/status/").json()
    assert status["running"] and status["ready"]
    assert status["dataset"] == "pbmc68k_reduced.h5ad"
    assert status["file"] == file.id and status["url"] == "/cellxgene/" and status["error"] is None
    assert status["publication"]["status"] == "ready"

    client = browser(alice)
    config = get_json(client, "/cellxgene/api/v0.2/config")
    assert config["config"]["displayNames"]["dataset"] == "pbmc68k_reduced.h5ad"
    schema = get_json(client, "/cellxgene/api/v0.2/schema")
    assert {layout["name"] for layout in schema["schema"]["layout"]["obs"]} == {"pca", "umap"}
    assert schema["schema"]["dataframe"]["nObs"] == 700

    page = client.get("/cellxgene/")
    assert page.status_code == 200
    html = b"".join(page.streaming_content)
    assert b"<html" in html.lower() or b"<!doctype" in html.lower()
    assert page["X-Frame-Options"] == "SAMEORIGIN"
    # Its bundle, with the one page-relative asset path rewritten to stay under the prefix.
    import re

    script = re.search(rb'src="(static/main-[0-9a-f]+\.js)"', html).group(1).decode()
    bundle = client.get(f"/cellxgene/{script}", HTTP_ACCEPT_ENCODING="gzip, br")
    assert bundle.status_code == 200 and "Content-Encoding" not in bundle
    assert b'"../static/assets/' not in bundle.content and b'"static/assets/icon-' in bundle.content
    logo = re.search(rb'"static/assets/(icon-[0-9a-f]+\.png)"', bundle.content).group(1).decode()
    assert client.get(f"/cellxgene/static/assets/{logo}").status_code == 200
    assert "Set-Cookie" not in page
    redirect = client.get("/cellxgene")
    assert redirect.status_code == 301 and redirect["Location"] == "/cellxgene/"
    # A data route answers FlatBuffers when asked for them.
    data = client.get("/cellxgene/api/v0.2/layout/obs?layout-name=umap", HTTP_ACCEPT="application/octet-stream")
    assert data.status_code == 200 and len(b"".join(data.streaming_content)) > 700 * 2 * 4

    actions = list(AuditEvent.objects.filter(object_id=str(file.id)).values_list("action", flat=True))
    assert "cellxgene.publish" in actions and "cellxgene.ready" in actions


def test_embedding_is_added_and_a_second_publication_replaces_the_first(
    api, alice, project, cellxgene_settings, h5ad_files, tmp_path
):
    first = publish(api, make_file(project, "pbmc68k_reduced.h5ad", h5ad_files["pbmc"]))
    assert first.status == "ready", first.log_tail
    first_pid = first.pid
    assert viewer_pids(str(tmp_path)) == [first_pid]

    bare = make_file(project, "pbmc_no_embedding.h5ad", h5ad_files["no_obsm"])
    second = publish(api, bare)
    assert second.status == "ready", (second.error, second.log_tail)
    assert second.embedding == "X_truncated_svd"
    assert second.port != first.port

    client = browser(alice)
    config = get_json(client, "/cellxgene/api/v0.2/config")
    assert config["config"]["displayNames"]["dataset"] == "pbmc_no_embedding.h5ad"
    schema = get_json(client, "/cellxgene/api/v0.2/schema")
    assert [layout["name"] for layout in schema["schema"]["layout"]["obs"]] == ["truncated_svd"]

    # One viewer left: the first one's process is gone, its row and publication say so.
    assert viewer_pids(str(tmp_path)) == [second.pid]
    assert not Path(f"/proc/{first_pid}").exists() or not services.pid_alive(first_pid)
    first.refresh_from_db()
    assert first.status == "stopped"
    assert Viewer.objects.get(port=first.port).status == "stopped"
    assert not Path(first.data_path).exists()  # the old copy is cleaned up
    # The stored original was not touched by the embedding step (it went into the copy).
    import h5py

    with h5py.File(storage.path_for(bare.storage_key), "r") as handle:
        assert "X_truncated_svd" not in handle.get("obsm", {})
    stop = AuditEvent.objects.get(action="cellxgene.stop")
    assert stop.details["reason"] == "replaced" and stop.details["pid"] == first_pid

    # What stop_services.sh runs: the remaining viewer goes too, and the audit trail says why.
    out = io.StringIO()
    call_command("cellxgene_stop", stdout=out)
    assert "Stopped 1 cellxgene viewer(s)." in out.getvalue()
    assert viewer_pids(str(tmp_path)) == []
    assert Viewer.objects.get(port=second.port).status == "stopped"
    assert AuditEvent.objects.filter(action="cellxgene.stop", details__reason="services stopped").count() == 1


def test_people_without_access_get_404_on_publish_and_proxy(
    api, alice, bob, client_for, anon, project, cellxgene_settings, h5ad_files
):
    file = make_file(project, "secret.h5ad", h5ad_files["pbmc"])
    assert publish(api, file).status == "ready"

    response = client_for(bob).post("/api/cellxgene/publish/", {"file": file.id}, format="json")
    assert response.status_code == 404
    assert browser(bob).get("/cellxgene/").status_code == 404
    assert browser(bob).get("/cellxgene/api/v0.2/config").status_code == 404
    assert Client().get("/cellxgene/api/v0.2/schema").status_code == 404
    assert anon.post("/api/cellxgene/publish/", {"file": file.id}, format="json").status_code in (401, 403)
    status = client_for(bob).get("/api/cellxgene/status/").json()
    assert status["running"] is False and status["dataset"] is None and status["publication"] is None
    # Still served to the owner.
    assert browser(alice).get("/cellxgene/api/v0.2/config").status_code == 200


def test_corrupt_files_fail_cleanly_and_the_viewer_stays_up(api, alice, project, cellxgene_settings, h5ad_files):
    running = publish(api, make_file(project, "pbmc68k_reduced.h5ad", h5ad_files["pbmc"]))
    assert running.status == "ready"
    client = browser(alice)

    # Not HDF5 at all: refused at once.
    junk = make_file(project, "junk.h5ad", b"this is not hdf5\n" * 100)
    response = api.post("/api/cellxgene/publish/", {"file": junk.id}, format="json")
    assert response.status_code == 400 and "HDF5" in response.json()["detail"]

    # HDF5 cut in half: anndata cannot open it; the task records why.
    truncated = publish(api, make_file(project, "truncated.h5ad", h5ad_files["truncated"]))
    assert truncated.status == "failed"
    assert "cannot" in truncated.error

    # Valid AnnData that cellxgene itself refuses (repeated cell names): the launch fails, the
    # error carries the log's tail, and the previous viewer keeps serving.
    twins = publish(api, make_file(project, "twins.h5ad", h5ad_files["duplicates"]))
    assert twins.status == "failed"
    assert "cellxgene exited" in twins.error
    assert "must be unique" in twins.log_tail

    assert services.pid_alive(running.pid)
    config = get_json(client, "/cellxgene/api/v0.2/config")
    assert config["config"]["displayNames"]["dataset"] == "pbmc68k_reduced.h5ad"
    status = api.get("/api/cellxgene/status/").json()
    assert status["dataset"] == "pbmc68k_reduced.h5ad" and status["ready"]
    assert status["publication"]["status"] == "failed" and status["error"] == twins.error
    failures = AuditEvent.objects.filter(action="cellxgene.failure").count()
    assert failures == 3
    assert api.get("/api/cellxgene/status/", {"dataset": "twins.h5ad"}).json()["publication"]["log_tail"]
