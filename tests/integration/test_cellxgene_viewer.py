"""The viewer pool with the real cellxgene 1.3.0 from .venv-cellxgene and scanpy's pbmc68k_reduced:
one viewer per dataset under its own path, two at once, the least recently used one stopped when
the pool (CELLXGENE_MAX_VIEWERS=2 here) is full and started again when asked for, access checked
on every proxied request, a port held by another program skipped, a killed viewer restarted.
Publishing as shipped runs on both storage backends (the viewer's copy is a hard link of the
stored blob on the local disk, a local file fetched from the object store); the pool tests do
not depend on where the bytes live."""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections
from django.test import Client
from django.utils import timezone

from authentication.models import AccessGrant, AuditEvent
from cellxgene_bridge import pool, services
from cellxgene_bridge.models import Publication, Viewer
from cellxgene_bridge.tests import fixtures
from cellxgene_bridge.tests.fixtures import viewer_pids
from file_upload import storage
from file_upload.tests.factories import ProjectFactory, blob_bytes, make_file

pytestmark = pytest.mark.django_db(transaction=True)

# Fixtures shared with the browser test (real viewers on free ports, stopped afterwards).
cellxgene_env = fixtures.cellxgene_env
cellxgene_settings = fixtures.cellxgene_settings
h5ad_files = fixtures.h5ad_files


@pytest.fixture(autouse=True)
def queued(monkeypatch) -> list[int]:
    """No Celery worker here: the tests do the queued task's work themselves."""
    ids: list[int] = []
    monkeypatch.setattr(services, "_queue", ids.append)
    return ids


@pytest.fixture
def project(alice):
    return ProjectFactory(name="Single cell", owner=alice, access_level="restricted")


def publish(client, file) -> Publication:
    """POST publish as the client's user, then do the Celery task's work here."""
    response = client.post("/api/cellxgene/publish/", {"file": file.id}, format="json")
    assert response.status_code == 202, response.content
    return services.publish_dataset(response.json()["publication"])


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def body_of(response) -> bytes:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return gzip.decompress(body) if response.get("Content-Encoding") == "gzip" else body


def config(client, publication) -> dict:
    response = client.get(f"/cellxgene/{publication.pk}/api/v0.2/config", HTTP_ACCEPT_ENCODING="identity")
    assert response.status_code == 200, (response.status_code, body_of(response)[:300])
    return json.loads(body_of(response))


def dataset_of(client, publication) -> str:
    return config(client, publication)["config"]["displayNames"]["dataset"]


def test_publish_as_shipped_serves_under_its_own_path(
    storage_backend, api, alice, project, cellxgene_settings, h5ad_files, settings
):
    file = make_file(project, "pbmc68k_reduced.h5ad", h5ad_files["pbmc"])
    response = api.post("/api/cellxgene/publish/", {"file": file.id}, format="json")
    assert response.status_code == 202
    body = response.json()
    pid = body["publication"]
    assert body == {
        "status": "queued",
        "dataset": "pbmc68k_reduced.h5ad",
        "url": f"/cellxgene/{pid}/",
        "publication": pid,
        "file": file.id,
    }
    publication = services.publish_dataset(pid)
    assert publication.status == "ready", (publication.error, publication.log_tail)
    assert publication.embedding == ""  # X_pca and X_umap are usable as they are
    copy = Path(publication.data_path)
    assert copy.name == f"{file.id}__pbmc68k_reduced.h5ad"
    if storage.is_s3():  # fetched from the store; the temporary copy it was linked from is gone
        assert copy.read_bytes() == blob_bytes(file.storage_key) == h5ad_files["pbmc"]
        assert os.stat(copy).st_nlink == 1
        assert not [p for p in (Path(settings.UPLOAD_TMP_DIR) / "cache").rglob("*") if p.is_file()]
    else:
        assert os.stat(copy).st_ino == os.stat(storage.path_for(file.storage_key)).st_ino  # a hard link

    status = api.get("/api/cellxgene/status/", {"file": file.id}).json()
    assert status["running"] and status["ready"] and status["url"] == f"/cellxgene/{pid}/"
    assert status["publication"]["status"] == "ready" and status["error"] is None
    assert api.get("/api/cellxgene/status/").json()["publication"]["id"] == pid  # the caller's latest

    viewer = Viewer.objects.get(publication=publication, status="ready")
    assert viewer.host == "127.0.0.1" and viewer.node and viewer.rss_mb and viewer.rss_mb > 50
    # Its own log file, and no user annotations (so no pop-up asking for a directory name).
    assert Path(viewer.log_file).name == f"publication-{pid}.log" and Path(viewer.log_file).stat().st_size > 0
    cmdline = Path(f"/proc/{viewer.pid}/cmdline").read_bytes().split(b"\0")
    assert b"--disable-annotations" in cmdline and b"--disable-gene-sets-save" in cmdline
    client = browser(alice)
    answer = config(client, publication)
    assert answer["config"]["displayNames"]["dataset"] == "pbmc68k_reduced.h5ad"
    # What cellxgene's page asks a name for when either is writable.
    assert answer["config"]["parameters"]["annotations"] is False
    assert answer["config"]["parameters"]["annotations_genesets_readonly"] is True

    schema = json.loads(body_of(client.get(f"/cellxgene/{pid}/api/v0.2/schema", HTTP_ACCEPT_ENCODING="identity")))
    assert {layout["name"] for layout in schema["schema"]["layout"]["obs"]} == {"pca", "umap"}
    assert schema["schema"]["dataframe"]["nObs"] == 700

    page = client.get(f"/cellxgene/{pid}/")
    assert page.status_code == 200 and page["X-Frame-Options"] == "SAMEORIGIN" and "Set-Cookie" not in page
    html = b"".join(page.streaming_content)
    import re

    script = re.search(rb'src="(static/main-[0-9a-f]+\.js)"', html).group(1).decode()
    bundle = client.get(f"/cellxgene/{pid}/{script}", HTTP_ACCEPT_ENCODING="gzip, br")
    assert bundle.status_code == 200 and b'"../static/assets/' not in bundle.content
    redirect = client.get(f"/cellxgene/{pid}")
    assert redirect.status_code == 301 and redirect["Location"] == f"/cellxgene/{pid}/"
    assert client.get("/cellxgene/").status_code == 404  # no global viewer any more
    data = client.get(f"/cellxgene/{pid}/api/v0.2/layout/obs?layout-name=umap", HTTP_ACCEPT="application/octet-stream")
    assert data.status_code == 200 and len(b"".join(data.streaming_content)) > 700 * 2 * 4

    # Publishing the same file again gives the same publication (one viewer per dataset).
    again = api.post("/api/cellxgene/publish/", {"file": file.id}, format="json").json()
    assert again["publication"] == pid and again["status"] == "ready"
    actions = list(AuditEvent.objects.filter(object_id=str(file.id)).values_list("action", flat=True))
    assert "cellxgene.publish" in actions and "cellxgene.ready" in actions


def test_two_users_two_viewers_then_lru_eviction_and_reopen(
    api, alice, bob, client_for, project, cellxgene_settings, h5ad_files, tmp_path
):
    bobs = ProjectFactory(name="Bob's cells", owner=bob, access_level="restricted")
    first = publish(api, make_file(project, "pbmc68k_reduced.h5ad", h5ad_files["pbmc"]))
    second = publish(client_for(bob), make_file(bobs, "pbmc_no_embedding.h5ad", h5ad_files["no_obsm"]))
    assert first.status == "ready" and second.status == "ready", (first.error, second.error)
    assert second.embedding == "X_truncated_svd" and first.port != second.port
    assert sorted(viewer_pids(str(tmp_path))) == sorted([first.pid, second.pid])

    alice_client, bob_client = browser(alice), browser(bob)

    def ask(pair):
        client, publication = pair
        try:
            return dataset_of(client, publication)
        finally:
            connections.close_all()  # this thread's own connections: the test database is dropped at the end

    # Both answer at the same time, each through its own path.
    with ThreadPoolExecutor(4) as workers:
        names = list(workers.map(ask, [(alice_client, first), (bob_client, second)] * 3))
    assert names == ["pbmc68k_reduced.h5ad", "pbmc_no_embedding.h5ad"] * 3
    # Neither sees the other's dataset: a 404, as for a publication that does not exist.
    assert alice_client.get(f"/cellxgene/{second.pk}/api/v0.2/config").status_code == 404
    assert bob_client.get(f"/cellxgene/{first.pk}/").status_code == 404
    assert bob_client.get("/cellxgene/999999/").status_code == 404

    # The pool is full (2): a third publication stops the least recently used viewer — Bob's,
    # unused for a minute, although Alice's started first.
    Viewer.objects.filter(publication=second).update(last_used_at=timezone.now() - timedelta(minutes=1))
    dataset_of(alice_client, first)
    third = publish(api, make_file(project, "pbmc_copy.h5ad", h5ad_files["pbmc"]))
    assert third.status == "ready", (third.error, third.log_tail)
    second.refresh_from_db()
    assert second.status == "stopped"
    assert sorted(viewer_pids(str(tmp_path))) == sorted([first.pid, third.pid])
    assert Viewer.objects.filter(status="ready").count() == 2
    evicted = AuditEvent.objects.get(action="cellxgene.stop", details__reason="evicted")
    assert evicted.details["publication"] == second.pk and evicted.details["signalled"] is True
    assert Path(second.data_path).is_file()  # the copy stays for a quick reopen

    # Reopening it (Bob asks for his dataset) starts it again, with the steps shown again.
    waiting = bob_client.get(f"/cellxgene/{second.pk}/api/v0.2/config")
    assert waiting.status_code == 503 and json.loads(waiting.content)["code"] == "viewer_starting"
    assert waiting["Retry-After"]
    status = client_for(bob).get("/api/cellxgene/status/", {"file": second.file_id}).json()
    assert status["publication"]["status"] == "queued" and not status["running"]
    reopened = services.publish_dataset(second.pk)
    assert reopened.status == "ready", (reopened.error, reopened.log_tail)
    assert reopened.restarts == 1 and reopened.embedding == "X_truncated_svd"
    assert dataset_of(bob_client, second) == "pbmc_no_embedding.h5ad"
    assert Viewer.objects.filter(status="ready").count() == 2  # another one made room

    # Stopping: not someone else's viewer without manage rights; one's own, yes.
    assert client_for(bob).post(f"/api/cellxgene/publications/{first.pk}/stop/").status_code == 404
    assert client_for(bob).post(f"/api/cellxgene/publications/{second.pk}/stop/").json() == {"stopped": True}
    assert not Path(second.data_path).exists()  # stopped by hand: the copy goes

    out = io.StringIO()
    call_command("cellxgene_stop", stdout=out)
    assert "Stopped" in out.getvalue() and viewer_pids(str(tmp_path)) == []


def test_access_is_checked_on_every_request(
    api, alice, bob, client_for, project, cellxgene_settings, h5ad_files, make_user
):
    file = make_file(project, "shared.h5ad", h5ad_files["pbmc"])
    grant = AccessGrant.objects.create(subject_user=bob, object_type="file", project=project, file=file)
    publication = publish(api, file)
    assert publication.status == "ready"
    bob_client = browser(bob)
    assert dataset_of(bob_client, publication) == "shared.h5ad"
    # A viewer (view rights) may not stop the publisher's viewer: 403.
    assert client_for(bob).post(f"/api/cellxgene/publications/{publication.pk}/stop/").status_code == 403

    grant.delete()
    assert bob_client.get(f"/cellxgene/{publication.pk}/api/v0.2/config").status_code == 404
    assert bob_client.get(f"/cellxgene/{publication.pk}/").status_code == 404
    assert Client().get(f"/cellxgene/{publication.pk}/").status_code == 404
    assert client_for(bob).post("/api/cellxgene/publish/", {"file": file.id}, format="json").status_code == 404
    status = client_for(bob).get("/api/cellxgene/status/", {"file": file.id}).json()
    assert status["publication"] is None and status["running"] is False
    assert dataset_of(browser(alice), publication) == "shared.h5ad"  # still served to the owner

    # Staff may stop anyone's viewer.
    staff = make_user("admin", is_staff=True)
    assert client_for(staff).post(f"/api/cellxgene/publications/{publication.pk}/stop/").status_code == 404
    AccessGrant.objects.create(subject_user=staff, object_type="file", project=project, file=file)
    assert client_for(staff).post(f"/api/cellxgene/publications/{publication.pk}/stop/").json() == {"stopped": True}
    assert Publication.objects.get(pk=publication.pk).status == "stopped"


def test_a_port_held_by_another_program_is_skipped(api, project, cellxgene_settings, h5ad_files):
    first_port = pool.port_range()[0]
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", first_port))
        squatter.listen()
        publication = publish(api, make_file(project, "pbmc68k_reduced.h5ad", h5ad_files["pbmc"]))
        assert publication.status == "ready", (publication.error, publication.log_tail)
        assert publication.port == first_port + 1


def test_a_killed_viewer_restarts_on_the_next_request(alice, api, project, cellxgene_settings, h5ad_files):
    publication = publish(api, make_file(project, "pbmc68k_reduced.h5ad", h5ad_files["pbmc"]))
    assert publication.status == "ready"
    client = browser(alice)
    assert dataset_of(client, publication) == "pbmc68k_reduced.h5ad"
    os.kill(publication.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pool.pid_alive(publication.pid) and time.monotonic() < deadline:
        time.sleep(0.05)

    answer = client.get(f"/cellxgene/{publication.pk}/api/v0.2/config")
    assert answer.status_code == 503 and json.loads(answer.content)["code"] == "viewer_starting"
    crashed = AuditEvent.objects.get(action="cellxgene.failure")
    assert crashed.details["publication"] == publication.pk
    assert Publication.objects.get(pk=publication.pk).status == "queued"
    restarted = services.publish_dataset(publication.pk)  # the Celery task queued by that request
    assert restarted.status == "ready" and restarted.restarts == 1 and restarted.pid != publication.pid
    assert dataset_of(client, publication) == "pbmc68k_reduced.h5ad"


def test_corrupt_files_fail_cleanly_and_the_pool_stays_up(api, alice, project, cellxgene_settings, h5ad_files):
    running = publish(api, make_file(project, "pbmc68k_reduced.h5ad", h5ad_files["pbmc"]))
    assert running.status == "ready"

    junk = make_file(project, "junk.h5ad", b"this is not hdf5\n" * 100)
    response = api.post("/api/cellxgene/publish/", {"file": junk.id}, format="json")
    assert response.status_code == 400 and "HDF5" in response.json()["detail"]

    truncated = publish(api, make_file(project, "truncated.h5ad", h5ad_files["truncated"]))
    assert truncated.status == "failed" and "cannot" in truncated.error

    # Valid AnnData that cellxgene itself refuses (repeated cell names): the launch fails, the
    # error carries the viewer log's tail, and the other viewer keeps serving.
    twins = publish(api, make_file(project, "twins.h5ad", h5ad_files["duplicates"]))
    assert twins.status == "failed" and "cellxgene exited" in twins.error
    assert "must be unique" in twins.log_tail
    assert Viewer.objects.get(publication=twins).status == "failed"
    assert dataset_of(browser(alice), running) == "pbmc68k_reduced.h5ad"
    failed = browser(alice).get(f"/cellxgene/{twins.pk}/")
    assert failed.status_code == 502 and "cellxgene exited" in json.loads(failed.content)["detail"]
    status = api.get("/api/cellxgene/status/", {"file": twins.file_id}).json()
    assert status["publication"]["status"] == "failed" and status["error"] == twins.error
    assert AuditEvent.objects.filter(action="cellxgene.failure").count() == 3
