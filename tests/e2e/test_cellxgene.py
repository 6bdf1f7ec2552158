"""Send to Cellxgene in a real browser: gunicorn serves the SPA and the proxies, a real Celery
worker runs the publications, the real cellxgene 1.3.0 serves two datasets at once (one viewer
each), and two tabs show one each — cells drawn, no annotation pop-up."""

from __future__ import annotations

import os
import re
import time
import uuid

import pytest

from cellxgene_bridge.models import Publication
from cellxgene_bridge.tests import fixtures
from file_upload.tests.factories import ProjectFactory, make_file
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.worker]

cellxgene_env = fixtures.cellxgene_env
cellxgene_settings = fixtures.cellxgene_settings
h5ad_files = fixtures.h5ad_files


@pytest.fixture
def server_env(data_dirs, cellxgene_settings, cellxgene_env) -> dict[str, str]:
    """gunicorn and its Celery worker (tests/conftest.py's ``server``) on a broker directory and a
    queue of their own, with this test's viewer settings."""
    return {
        **cellxgene_env,
        "BIOFM_BROKER_DIR": str(data_dirs / "broker"),
        "BIOFM_CELERY_QUEUE": f"biofm-cxg-{uuid.uuid4().hex[:8]}",
    }


def drawn_pixels(locator) -> int:
    """Pixels of an element's screenshot that are not (near) white: the cells of the embedding."""
    import io

    from PIL import Image

    histogram = Image.open(io.BytesIO(locator.screenshot())).convert("L").histogram()
    return sum(histogram[:200])


def expect_viewer(page, dataset: str, expect) -> None:
    frame = page.frame_locator(f'iframe[title="Cellxgene viewer: {dataset}"]')
    expect(frame.get_by_text(dataset).first).to_be_visible(timeout=120_000)
    expect(page.get_by_role("status", name="Publishing progress")).to_have_count(0)
    # The viewer draws its embedding (a canvas) and lists the dataset's categories.
    canvas = frame.locator("canvas").first
    expect(canvas).to_be_visible(timeout=30_000)
    expect(frame.get_by_text("louvain").first).to_be_visible(timeout=30_000)
    # Annotations are off: no dialog asking for a directory name, nothing to create categories.
    expect(frame.get_by_text("User Generated Data Directory")).to_have_count(0)
    expect(frame.get_by_text("Name cannot be blank")).to_have_count(0)
    expect(frame.get_by_role("dialog")).to_have_count(0)
    deadline = time.monotonic() + 30
    while drawn_pixels(canvas) < 300 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert drawn_pixels(canvas) >= 300, "no cells drawn in the embedding"


def test_two_datasets_in_two_tabs_each_with_its_own_viewer(page, server, make_user, h5ad_files, tmp_path):
    from playwright.sync_api import expect

    owner = make_user("scientist", password="single-cell-2024")
    project = ProjectFactory(name="PBMC atlas", owner=owner, access_level="restricted")
    first = make_file(project, "pbmc68k_reduced.h5ad", h5ad_files["pbmc"])
    second = make_file(project, "pbmc_no_embedding.h5ad", h5ad_files["no_obsm"])

    sign_in(page, "scientist", "single-cell-2024")
    page.goto(f"/files/{first.id}")
    started = time.monotonic()
    page.get_by_role("button", name="Send to Cellxgene").click()
    expect(page).to_have_url(re.compile(rf"/cellxgene-app\?file={first.id}$"))
    mask = page.get_by_role("status", name="Publishing progress")
    expect(mask).to_be_visible()
    expect(mask).to_contain_text("for cellxgene")

    # A second tab, a second dataset: its own viewer, the first one keeps serving.
    other_tab = page.context.new_page()
    other_tab.goto(f"/files/{second.id}")
    other_tab.get_by_role("button", name="Send to Cellxgene").click()
    expect(other_tab).to_have_url(re.compile(rf"/cellxgene-app\?file={second.id}$"))

    expect_viewer(page, "pbmc68k_reduced.h5ad", expect)
    print(f"click to viewer: {time.monotonic() - started:.1f} s")
    expect_viewer(other_tab, "pbmc_no_embedding.h5ad", expect)
    first_pub, second_pub = Publication.objects.get(file=first), Publication.objects.get(file=second)
    assert first_pub.status == "ready" and second_pub.status == "ready" and first_pub.port != second_pub.port
    # Both still there: the first tab reloaded shows its own dataset again.
    page.reload()
    expect_viewer(page, "pbmc68k_reduced.h5ad", expect)

    # The top bar: the Cellxgene link leads to your latest publication, its menu to each of them.
    page.goto("/projects")
    page.get_by_role("link", name="Cellxgene", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/cellxgene-app\?file={second.id}$"))
    page.get_by_role("button", name="Recent cellxgene datasets").click()
    page.get_by_role("menuitem", name=re.compile("pbmc68k_reduced.h5ad")).click()
    expect(page).to_have_url(re.compile(rf"/cellxgene-app\?file={first.id}$"))
    expect(page.frame_locator("iframe").get_by_text("pbmc68k_reduced.h5ad").first).to_be_visible(timeout=30_000)

    # Someone else signed in sees neither viewer.
    make_user("outsider", password="outsider-pass-2024")
    other = page.context.browser.new_context(base_url=server)
    stranger = other.new_page()
    sign_in(stranger, "outsider", "outsider-pass-2024")
    for publication in (first_pub, second_pub):
        assert stranger.request.get(f"{server}/cellxgene/{publication.pk}/api/v0.2/config").status == 404
    other.close()
    assert os.path.isdir(tmp_path / "cellxgene_data")
