"""The publish service without a viewer process: layouts, the SVD embedding on sparse data,
request checks, the lease, process ownership, the watchdog, and the routes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import anndata
import h5py
import numpy as np
import pytest
from django.test import Client
from django.urls import resolve
from django.utils import timezone
from scipy import sparse

from authentication.models import AuditEvent
from cellxgene_bridge import pool, services
from cellxgene_bridge.models import Publication, Viewer
from file_upload.tests.factories import ProjectFactory, make_file

pytestmark = pytest.mark.django_db


def write_h5ad(path: Path, X, obsm: dict | None = None) -> Path:
    n_obs, n_vars = X.shape
    adata = anndata.AnnData(X=X)
    adata.obs_names = [f"cell{i}" for i in range(n_obs)]
    adata.var_names = [f"gene{i}" for i in range(n_vars)]
    for key, value in (obsm or {}).items():
        adata.obsm[key] = value
    adata.write_h5ad(path)
    return path


def h5ad_bytes(tmp_path, X, obsm=None) -> bytes:
    return write_h5ad(tmp_path / "x.h5ad", X, obsm).read_bytes()


@pytest.fixture
def project(alice):
    return ProjectFactory(name="SC", owner=alice, access_level="restricted")


@pytest.fixture
def viewer_settings(settings, tmp_path):
    settings.CELLXGENE_PORT_RANGE = "47001-47003"
    settings.CELLXGENE_DATA_DIR = tmp_path / "cxg"
    settings.CELLXGENE_LOG_DIR = tmp_path / "logs" / "cellxgene"
    settings.CELLXGENE_AUTO_RESTART = False
    return settings


def test_usable_layouts_follow_cellxgenes_rule(tmp_path):
    rng = np.random.default_rng(0)
    n = 20
    obsm = {
        "X_good": rng.normal(size=(n, 2)).astype(np.float32),
        "X_wide": rng.normal(size=(n, 10)),
        "X_ints": rng.integers(0, 5, size=(n, 2)),
        "X_one": rng.normal(size=(n, 1)),
        "X_inf": np.full((n, 2), np.inf),
        "X_nan": np.full((n, 2), np.nan),
        "X_sparse": sparse.random(n, 3, density=0.5, format="csr", random_state=0),
        "umap": rng.normal(size=(n, 2)),
    }
    path = write_h5ad(tmp_path / "l.h5ad", rng.poisson(1, size=(n, 5)).astype(np.float32), obsm)
    with h5py.File(path, "r") as handle:
        assert sorted(services.usable_layouts(handle["obsm"], n)) == ["X_good", "X_ints", "X_wide"]
    info = services.inspect_h5ad(path)
    assert (info.n_obs, info.n_vars) == (n, 5)


def test_ensure_embedding_on_sparse_x_never_densifies(tmp_path, monkeypatch):
    X = sparse.random(300, 120, density=0.05, format="csr", random_state=1, dtype=np.float32)
    path = write_h5ad(tmp_path / "s.h5ad", X, {"X_one": np.ones((300, 1))})

    def refuse(*args, **kwargs):
        raise AssertionError("the sparse matrix was densified")

    for cls in (sparse.csr_matrix, sparse.csc_matrix, sparse.csr_array, sparse.csc_array):
        monkeypatch.setattr(cls, "toarray", refuse)
        monkeypatch.setattr(cls, "todense", refuse)
    assert services.ensure_embedding(path) == "X_truncated_svd"
    monkeypatch.undo()

    adata = anndata.read_h5ad(path)
    assert sparse.issparse(adata.X)
    embedding = adata.obsm["X_truncated_svd"]
    assert embedding.shape == (300, 2) and embedding.dtype == np.float32
    assert np.all(np.isfinite(embedding)) and embedding.std(axis=0).min() > 0
    assert "X_one" in adata.obsm  # the rest of obsm is kept
    assert services.ensure_embedding(path) is None  # now there is a usable layout


def test_ensure_embedding_on_dense_counts_and_without_obsm_group(tmp_path):
    X = np.random.default_rng(2).poisson(2, size=(50, 8)).astype(np.int32)
    path = write_h5ad(tmp_path / "d.h5ad", X)
    with h5py.File(path, "r+") as handle:
        if "obsm" in handle:
            del handle["obsm"]
    assert services.ensure_embedding(path) == "X_truncated_svd"
    with h5py.File(path, "r") as handle:
        assert services.usable_layouts(handle["obsm"], 50) == ["X_truncated_svd"]


def test_svd_needs_two_genes_and_finite_values():
    with pytest.raises(services.PublishError, match="2 genes"):
        services.truncated_svd_2d(np.ones((10, 1), dtype=np.float32))
    bad = np.ones((10, 3), dtype=np.float32)
    bad[0, 0] = np.nan
    with pytest.raises(services.PublishError, match="NaN"):
        services.truncated_svd_2d(bad)


def test_inspect_refuses_what_is_not_anndata(tmp_path):
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as handle:
        handle["data"] = np.arange(3)
    with pytest.raises(services.PublishError, match="not AnnData"):
        services.inspect_h5ad(plain)
    junk = tmp_path / "junk.h5ad"
    junk.write_bytes(b"nope")
    with pytest.raises(services.PublishError, match="cannot open"):
        services.inspect_h5ad(junk)


@pytest.mark.usefixtures("storage_backend")
def test_publish_request_checks(api, project, viewer_settings, tmp_path):
    fastq = make_file(project, "reads.fastq")
    response = api.post("/api/cellxgene/publish/", {"file": fastq.id}, format="json")
    assert response.status_code == 400 and "h5ad" in response.json()["detail"]
    assert api.post("/api/cellxgene/publish/", {"file": 999999}, format="json").status_code == 404
    assert api.post("/api/cellxgene/publish/", {}, format="json").status_code == 400

    good = make_file(project, "ok.h5ad", h5ad_bytes(tmp_path, np.ones((5, 3), dtype=np.float32)))
    response = api.post("/api/cellxgene/publish/", {"file": good.id}, format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "queued" and response.json()["dataset"] == "ok.h5ad"
    publication = Publication.objects.get()
    assert publication.requested_by.username == "alice"
    assert AuditEvent.objects.filter(action="cellxgene.publish", object_id=str(good.id)).exists()


@pytest.mark.usefixtures("storage_backend")
@pytest.mark.parametrize("layouts", [True, False], ids=["linked", "embedded"])
def test_the_viewers_copy_comes_from_the_store(alice, project, viewer_settings, tmp_path, layouts):
    """The copy cellxgene reads is made from the stored bytes on either backend (from the
    object store through a temporary local copy, removed afterwards)."""
    X = np.arange(60, dtype=np.float32).reshape(12, 5) + 1
    obsm = {"X_umap": np.ones((12, 2), dtype=np.float32)} if layouts else None
    file = make_file(project, "cells.h5ad", h5ad_bytes(tmp_path, X, obsm))
    publication = Publication.objects.create(file=file, dataset="cells.h5ad", requested_by=alice)
    services.data_dir().mkdir(parents=True, exist_ok=True)
    tmp = services.data_dir() / f".{file.id}__cells.h5ad.tmp"
    target = services._prepare_copy(publication, file, tmp)
    assert target.exists() and not tmp.exists()
    copy = anndata.read_h5ad(target)
    assert copy.shape == (12, 5) and np.array_equal(np.asarray(copy.X), X)
    assert services.inspect_h5ad(target).layouts  # its own, or the embedding added to the copy
    cache = Path(viewer_settings.UPLOAD_TMP_DIR) / "cache"
    assert not cache.exists() or not [p for p in cache.rglob("*") if p.is_file()]


def test_status_shapes(api, alice, bob, client_for, project, viewer_settings):
    empty = api.get("/api/cellxgene/status/").json()
    assert empty == {
        "running": False,
        "ready": False,
        "dataset": None,
        "file": None,
        "url": None,
        "started_at": None,
        "error": None,
        "publication": None,
    }
    assert Client().get("/api/cellxgene/status/").status_code in (401, 403)
    assert api.get("/api/cellxgene/status/", {"file": "x"}).status_code == 400
    assert api.get("/api/cellxgene/status/", {"file": "9" * 40}).status_code == 400
    file = make_file(project, "a.h5ad", b"\x89HDF\r\n\x1a\n")
    failed = Publication.objects.create(file=file, dataset="a.h5ad", requested_by=alice, status="failed", error="boom")
    mine = api.get("/api/cellxgene/status/").json()
    assert mine["error"] == "boom" and mine["url"] == f"/cellxgene/{failed.pk}/"
    assert mine["publication"]["url"] == f"/cellxgene/{failed.pk}/" and mine["publication"]["restarts"] == 0
    assert api.get("/api/cellxgene/status/", {"file": file.id + 1}).json()["publication"] is None
    assert client_for(bob).get("/api/cellxgene/status/", {"file": file.id}).json()["publication"] is None


def test_recent_publications_are_the_callers_own_one_per_file(api, alice, bob, client_for, project, viewer_settings):
    first = make_file(project, "a.h5ad", b"\x89HDF\r\n\x1a\n")
    second = make_file(project, "b.h5ad", b"\x89HDF\r\n\x1a\n")
    Publication.objects.create(file=first, dataset="a.h5ad", requested_by=alice, status="failed")
    newer = Publication.objects.create(file=first, dataset="a.h5ad", requested_by=alice, status="stopped")
    other = Publication.objects.create(file=second, dataset="b.h5ad", requested_by=alice, status="ready")
    Publication.objects.create(file=second, dataset="b.h5ad", requested_by=bob, status="ready")
    results = api.get("/api/cellxgene/publications/").json()["results"]
    assert [(p["id"], p["dataset"]) for p in results] == [(other.pk, "b.h5ad"), (newer.pk, "a.h5ad")]
    # Bob's own publication of a file he can no longer see is not listed.
    assert client_for(bob).get("/api/cellxgene/publications/").json() == {"results": []}


def test_open_and_stop_need_the_right_rights(api, alice, bob, client_for, project, viewer_settings, monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr(services, "_queue", queued.append)
    file = make_file(project, "a.h5ad", b"\x89HDF\r\n\x1a\n")
    publication = Publication.objects.create(file=file, dataset="a.h5ad", requested_by=alice, status="stopped")
    assert client_for(bob).post(f"/api/cellxgene/publications/{publication.pk}/open/").status_code == 404
    assert client_for(bob).post(f"/api/cellxgene/publications/{publication.pk}/stop/").status_code == 404
    with django_capture_on_commit():
        response = api.post(f"/api/cellxgene/publications/{publication.pk}/open/")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert queued == [publication.pk]
    assert Publication.objects.get(pk=publication.pk).restarts == 1
    assert AuditEvent.objects.filter(action="cellxgene.reopen", details__reason="opened").exists()
    # Open again while it is queued: nothing more is queued.
    api.post(f"/api/cellxgene/publications/{publication.pk}/open/")
    assert queued == [publication.pk]
    assert api.post(f"/api/cellxgene/publications/{publication.pk}/stop/").json() == {"stopped": False}
    assert api.post("/api/cellxgene/publications/999999/stop/").status_code == 404


def django_capture_on_commit():
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)


def test_a_redelivered_task_does_not_run_twice(alice, project, viewer_settings):
    file = make_file(project, "a.h5ad", b"\x89HDF\r\n\x1a\n")
    running = Publication.objects.create(file=file, dataset="a.h5ad", requested_by=alice, status="embedding")
    assert services.publish_dataset(running.pk).status == "failed"
    done = Publication.objects.create(file=file, dataset="a.h5ad", requested_by=alice, status="ready")
    assert services.publish_dataset(done.pk).status == "ready"
    assert services.publish_dataset(123456) is None


def test_the_lease_lets_one_process_manage_viewers(viewer_settings):
    with pool.lease():
        with pytest.raises(services.PublishError, match="try again"):
            with pool.lease(wait_seconds=0):
                pass
    with pool.lease(wait_seconds=0):
        pass
    assert set(Viewer.objects.values_list("port", flat=True)) == {47001}


def test_the_port_range_setting(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.CELLXGENE_PORT_RANGE = "5005-5007"
    assert pool.port_range() == [5005, 5006, 5007]
    settings.CELLXGENE_PORT_RANGE = "5010"
    assert pool.port_range() == [5010]
    for bad in ("5007-5005", "x-y", "0-3", "65535-65536"):
        settings.CELLXGENE_PORT_RANGE = bad
        with pytest.raises(ImproperlyConfigured):
            pool.port_range()


def test_user_data_is_off_unless_annotations_are_turned_on(alice, project, viewer_settings, settings):
    file = make_file(project, "a.h5ad", b"\x89HDF\r\n\x1a\n")
    publication = Publication.objects.create(file=file, dataset="a.h5ad", requested_by=alice)
    assert pool.annotation_args(publication) == ["--disable-annotations", "--disable-gene-sets-save"]
    settings.CELLXGENE_ANNOTATIONS = True
    args = pool.annotation_args(publication)
    assert args[0] == "--annotations-file" and args[2] == "--gene-sets-file"
    assert Path(args[1]).parent.is_dir() and f"publication-{publication.pk}-" in args[1]


def fake_viewer(tmp_path, port: int) -> subprocess.Popen:
    """A process whose command line reads like our cellxgene (it only sleeps), returned once
    its interpreter is up (it writes a marker file), so its memory is that of a running program."""
    fake, started = tmp_path / "cellxgene", tmp_path / f"started-{port}"
    fake.write_text(f"import pathlib, time\npathlib.Path({str(started)!r}).touch()\ntime.sleep(60)\n")
    proc = subprocess.Popen(
        [sys.executable, str(fake), "launch", "x.h5ad", "--port", str(port)], start_new_session=True
    )
    deadline = time.monotonic() + 30
    while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return proc


def test_only_our_cellxgene_processes_count_as_ours(tmp_path):
    assert not pool.is_our_process(os.getpid())
    assert not pool.is_our_process(None)
    proc = fake_viewer(tmp_path, 47999)
    try:
        assert pool.is_our_process(proc.pid)
        assert pool.is_our_process(proc.pid, 47999)
        assert not pool.is_our_process(proc.pid, 47998)
        assert pool.process_rss_mb(proc.pid) > 1
        pool.terminate(proc.pid, grace=5)
        proc.wait(timeout=5)
        assert not pool.is_our_process(proc.pid)
        assert pool.process_rss_mb(proc.pid) is None
    finally:
        if proc.poll() is None:
            proc.kill()


def ready_viewer(project, alice, port: int, pid: int | None, **extra) -> Viewer:
    file = make_file(project, f"{port}.h5ad", b"\x89HDF\r\n\x1a\n")
    publication = Publication.objects.create(file=file, dataset=file.name, requested_by=alice, status="ready")
    return Viewer.objects.create(
        port=port,
        node=pool.node_name(),
        status="ready",
        publication=publication,
        file=file,
        dataset=file.name,
        pid=pid,
        ready_at=timezone.now(),
        last_used_at=timezone.now(),
        **extra,
    )


def test_the_watchdog_marks_dead_viewers_and_stops_idle_and_oversized_ones(
    alice, project, viewer_settings, settings, tmp_path
):
    dead = ready_viewer(project, alice, 47001, pid=None)
    idle_proc, big_proc = fake_viewer(tmp_path, 47002), fake_viewer(tmp_path, 47003)
    try:
        idle = ready_viewer(project, alice, 47002, pid=idle_proc.pid)
        Viewer.objects.filter(pk=idle.pk).update(last_used_at=timezone.now() - timedelta(hours=2))
        big = ready_viewer(project, alice, 47003, pid=big_proc.pid)
        settings.CELLXGENE_IDLE_SECONDS = 3600
        settings.CELLXGENE_MAX_RSS_MB = 10_000
        assert pool.sweep() == {"stopped": 0, "crashed": 1, "idle": 1, "memory": 0}
        assert Viewer.objects.get(pk=dead.pk).status == "failed"
        assert Publication.objects.get(pk=dead.publication_id).status == "stopped"  # reopens on request
        assert AuditEvent.objects.filter(action="cellxgene.failure").count() == 1
        assert Viewer.objects.get(pk=idle.pk).status == "stopped" and idle_proc.wait(timeout=10) is not None
        assert Publication.objects.get(pk=idle.publication_id).status == "stopped"
        big.refresh_from_db()
        assert big.status == "ready" and big.rss_mb >= 1

        # A launch whose worker died long ago gives its port back.
        abandoned = ready_viewer(project, alice, 47004, pid=None)
        long_ago = timezone.now() - timedelta(seconds=settings.CELLXGENE_READY_TIMEOUT + 120)
        Viewer.objects.filter(pk=abandoned.pk).update(status="starting", started_at=long_ago)
        assert pool.sweep()["abandoned"] == 1
        assert Viewer.objects.get(pk=abandoned.pk).status == "failed"

        settings.CELLXGENE_MAX_RSS_MB = 1  # measured over the limit: stopped
        assert pool.sweep()["memory"] == 1
        assert Viewer.objects.get(pk=big.pk).status == "stopped" and big_proc.wait(timeout=10) is not None
        reasons = set(AuditEvent.objects.filter(action="cellxgene.stop").values_list("details__reason", flat=True))
        assert reasons == {"idle", "memory"}
    finally:
        for proc in (idle_proc, big_proc):
            if proc.poll() is None:
                proc.kill()


def test_lru_viewers_make_room_and_the_total_memory_is_kept(alice, project, viewer_settings, settings):
    settings.CELLXGENE_MAX_VIEWERS = 2
    older = ready_viewer(project, alice, 47001, pid=None, rss_mb=300)
    newer = ready_viewer(project, alice, 47002, pid=None, rss_mb=300)
    Viewer.objects.filter(pk=older.pk).update(last_used_at=timezone.now() - timedelta(minutes=5))
    with pool.lease():
        victims = pool._evict_for_room()
    assert [v.pk for v in victims] == [older.pk]
    assert Viewer.objects.get(pk=older.pk).status == "stopping"
    assert Publication.objects.get(pk=older.publication_id).status == "stopped"
    pool.finish_stopping(victims)
    assert Viewer.objects.get(pk=older.pk).status == "stopped"

    third = ready_viewer(project, alice, 47003, pid=None, rss_mb=300)
    settings.CELLXGENE_MAX_TOTAL_RSS_MB = 500
    Viewer.objects.filter(pk=newer.pk).update(last_used_at=timezone.now() - timedelta(minutes=1))
    assert pool.enforce_total_rss(keep=third) == 1
    assert Viewer.objects.get(pk=newer.pk).status == "stopped"
    assert pool.enforce_total_rss() == 0  # never the last one


def test_publications_left_by_a_dead_worker_are_swept(alice, project, viewer_settings, settings):
    file = make_file(project, "a.h5ad", b"\x89HDF\r\n\x1a\n")
    stuck = Publication.objects.create(file=file, dataset="a.h5ad", requested_by=alice, status="embedding")
    Publication.objects.create(file=file, dataset="a.h5ad", requested_by=alice, status="starting")  # recent
    done = Publication.objects.create(file=file, dataset="a.h5ad", requested_by=alice, status="ready")
    age = settings.CELLXGENE_READY_TIMEOUT + settings.CELLXGENE_STALE_PUBLICATION_SECONDS + 60
    Publication.objects.filter(pk__in=[stuck.pk, done.pk]).update(created_at=timezone.now() - timedelta(seconds=age))
    assert services.sweep_stale_publications() == [stuck.pk]
    assert [p.status for p in Publication.objects.order_by("pk")] == ["failed", "starting", "ready"]
    failure = AuditEvent.objects.get(action="cellxgene.failure")
    assert failure.details["publication"] == stuck.pk and "send the file again" in failure.details["error"]


def test_routes(alice):
    assert resolve("/cellxgene/12/").url_name == "cellxgene-proxy"
    assert resolve("/cellxgene/12/api/v0.2/config").kwargs == {"publication_id": "12", "path": "api/v0.2/config"}
    assert resolve("/cellxgene-app").url_name == "spa"
    client = Client()
    response = client.get("/cellxgene/12?x=1")
    assert response.status_code == 301 and response["Location"] == "/cellxgene/12/?x=1"
    client.force_login(alice)
    assert client.get("/cellxgene/").status_code == 404
    assert client.get("/cellxgene/12/").status_code == 404  # no such publication
    assert client.get("/cellxgene/abc/").status_code == 404


def test_copy_name_is_safe():
    class F:
        id = 7
        name = "../my data (v2).H5AD"

    assert services.copy_name(F()) == "7__my_data_v2.h5ad"


def test_admin_and_metrics_show_the_pool(alice, project, viewer_settings, make_user):
    viewer = ready_viewer(project, alice, 47002, pid=None, rss_mb=321, restarts=2)
    root = make_user("root", password="pw-123456!", email="root@example.org", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(root)
    page = client.get("/admin/cellxgene_bridge/viewer/").content.decode()
    assert "47002" in page and "321" in page and viewer.dataset in page
    for column in ("Rss mb", "Last used at", "Restarts", "Host", "Node"):
        assert column.lower() in page.lower()
    metrics = client.get("/metrics").content.decode()
    values = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines() if line[:1] != "#"}
    labels = f'node="{viewer.node}",port="47002",publication="{viewer.publication_id}"'
    assert values[f"biofm_cellxgene_viewer_rss_bytes{{{labels}}}"] == 321 * 1024 * 1024
    assert values[f"biofm_cellxgene_viewer_restarts{{{labels}}}"] == 2
    assert 0 <= values[f"biofm_cellxgene_viewer_idle_seconds{{{labels}}}"] < 60
    assert values['biofm_cellxgene_pool_limit{limit="viewers"}'] == 4


def test_a_launch_that_cannot_start_frees_its_port(alice, project, viewer_settings, settings, tmp_path):
    settings.CELLXGENE_CMD = str(tmp_path / "no-such-cellxgene")
    file = make_file(project, "a.h5ad", b"\x89HDF\r\n\x1a\n")
    publication = Publication.objects.create(
        file=file, dataset="a.h5ad", requested_by=alice, status="starting", data_path=str(tmp_path / "a.h5ad")
    )
    with pytest.raises(pool.PoolError, match="could not be started"):
        pool.launch(publication)
    slot = Viewer.objects.get(publication=publication)
    assert slot.status == "failed" and "could not be started" in slot.last_error
    assert Path(slot.log_file).name == f"publication-{publication.pk}.log"


def test_without_a_free_port_the_launch_waits_then_says_so(alice, project, viewer_settings, settings, monkeypatch):
    import socket

    monkeypatch.setattr(pool, "NO_PORT_WAIT_SECONDS", 3)
    file = make_file(project, "a.h5ad", b"\x89HDF\r\n\x1a\n")
    publication = Publication.objects.create(file=file, dataset="a.h5ad", requested_by=alice, status="starting")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        port = squatter.getsockname()[1]
        settings.CELLXGENE_PORT_RANGE = str(port)
        with pytest.raises(pool.NoFreePort, match="1 by other programs"):
            pool.launch(publication)
    assert not Viewer.objects.filter(publication=publication).exists()
