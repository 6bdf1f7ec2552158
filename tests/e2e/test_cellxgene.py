"""Send to Cellxgene in a real browser: gunicorn serves the SPA and the proxy, a real Celery worker
runs the publication, the real cellxgene 1.3.0 serves pbmc68k_reduced, and the viewer appears in
the page showing the dataset's name."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator

import pytest

from cellxgene_bridge.models import Publication
from cellxgene_bridge.tests import fixtures
from file_upload.models import Project
from file_upload.tests.factories import make_file
from tests.conftest import ROOT, GunicornServer
from tests.e2e.conftest import sign_in
from tests.processes import CeleryWorker

pytestmark = [pytest.mark.e2e, pytest.mark.worker]

cellxgene_env = fixtures.cellxgene_env
cellxgene_settings = fixtures.cellxgene_settings
h5ad_files = fixtures.h5ad_files


@pytest.fixture
def server(transactional_db, data_dirs, tmp_path, cellxgene_settings, cellxgene_env) -> Iterator[str]:
    """gunicorn and a Celery worker sharing the test database, a broker directory, a queue of
    their own and this test's viewer settings (overrides tests/conftest.py's ``server``)."""
    if not (ROOT / "frontend" / "dist" / "index.html").is_file():
        pytest.fail("The SPA is not built: run `npm --prefix frontend run build` (scripts/test.sh does).")
    env = {
        **cellxgene_env,
        "BIOFM_BROKER_DIR": str(data_dirs / "broker"),
        "BIOFM_CELERY_QUEUE": f"biofm-cxg-{uuid.uuid4().hex[:8]}",
    }
    web = GunicornServer(data_dirs, tmp_path / "gunicorn.log", extra_env=env)
    web.start()
    worker = CeleryWorker(web.env, tmp_path / "worker.log").start()
    try:
        yield web.url
    finally:
        worker.stop()
        web.stop()


def test_send_to_cellxgene_shows_the_mask_then_the_viewer(page, server, make_user, h5ad_files, tmp_path):
    from playwright.sync_api import expect

    owner = make_user("scientist", password="single-cell-2024")
    project = Project.objects.create(name="PBMC atlas", owner=owner, access_level="restricted")
    file = make_file(project, "pbmc68k_reduced.h5ad", h5ad_files["pbmc"])

    sign_in(page, "scientist", "single-cell-2024")
    page.goto(f"/files/{file.id}")
    started = time.monotonic()
    page.get_by_role("button", name="Send to Cellxgene").click()
    expect(page).to_have_url(re.compile(r"/cellxgene-app\?file=pbmc68k_reduced\.h5ad$"))
    mask = page.get_by_role("status", name="Publishing progress")
    expect(mask).to_be_visible()
    expect(mask).to_contain_text("Preparing pbmc68k_reduced.h5ad for cellxgene")

    frame = page.frame_locator('iframe[title="Cellxgene viewer: pbmc68k_reduced.h5ad"]')
    expect(frame.get_by_text("pbmc68k_reduced.h5ad").first).to_be_visible(timeout=90_000)
    expect(mask).to_have_count(0)
    # The viewer draws its embedding (a canvas) and lists the dataset's categories.
    expect(frame.locator("canvas").first).to_be_visible(timeout=30_000)
    expect(frame.get_by_text("louvain").first).to_be_visible(timeout=30_000)
    print(f"click to viewer: {time.monotonic() - started:.1f} s")
    assert Publication.objects.get(file=file).status == "ready"

    # The top bar's link leads back to the latest publication.
    page.goto("/projects")
    page.get_by_role("link", name="Cellxgene", exact=True).click()
    expect(page).to_have_url(re.compile(r"/cellxgene-app\?file=pbmc68k_reduced\.h5ad$"))
    expect(page.frame_locator("iframe").get_by_text("pbmc68k_reduced.h5ad").first).to_be_visible(timeout=30_000)

    # Someone else signed in sees neither the viewer nor the page's data.
    make_user("outsider", password="outsider-pass-2024")
    other = page.context.browser.new_context(base_url=server)
    stranger = other.new_page()
    sign_in(stranger, "outsider", "outsider-pass-2024")
    assert stranger.request.get(f"{server}/cellxgene/api/v0.2/config").status == 404
    other.close()
    assert os.path.isdir(tmp_path / "cellxgene_data")
