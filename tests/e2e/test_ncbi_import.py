"""NCBI Download in a real browser: paste a PubMed link, see the preview, import it into the
current folder, see the file in the table with its metadata (gunicorn talks to the local fake
E-utilities server, never to NCBI)."""

from __future__ import annotations

import re

import pytest

from file_upload.models import File
from file_upload.tests.factories import ProjectFactory, make_folder
from ncbi_bridge.models import NcbiImport
from tests.e2e.conftest import sign_in
from tests.fake_ncbi import fake_ncbi, fake_ncbi_server  # noqa: F401 (fixtures)
from tests.processes import ROOT, GunicornServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(transactional_db, data_dirs, tmp_path, fake_ncbi):  # noqa: F811
    """gunicorn serving the built SPA, with the NCBI bridge pointed at the fake server."""
    if not (ROOT / "frontend" / "dist" / "index.html").is_file():
        pytest.fail("The SPA is not built: run `npm --prefix frontend run build` (scripts/test.sh does).")
    gunicorn = GunicornServer(data_dirs, tmp_path / "gunicorn.log", fake_ncbi.env())
    gunicorn.start()
    try:
        yield gunicorn.url
    finally:
        gunicorn.stop()


def select_box(scope, label: str):
    return scope.get_by_label(label).locator("xpath=ancestor::div[contains(@class, 'el-select__wrapper')][1]")


def test_import_a_pubmed_link_through_the_dialog(new_page, make_user, fake_ncbi):  # noqa: F811
    from playwright.sync_api import expect

    owner = make_user("pi", password="owner-pass-2024")
    project = ProjectFactory(name="Iron biology", owner=owner)
    folder = make_folder(project, "papers")

    page = new_page()
    sign_in(page, "pi", "owner-pass-2024")
    page.goto(f"/projects/{project.id}/folders/{folder.id}")
    page.get_by_role("button", name="NCBI Download").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("NCBI link or accession").fill("https://pubmed.ncbi.nlm.nih.gov/22294463/")
    expect(dialog).to_contain_text("PubMed article")
    expect(dialog).to_contain_text("Known and potential roles of transferrin in iron biology.")
    dialog.get_by_role("button", name="Import").click()

    row = page.get_by_role("row").filter(has_text="PMID_22294463.txt")
    expect(row).to_be_visible()
    expect(dialog).to_be_hidden()
    file = File.objects.get(name="PMID_22294463.txt")
    assert (file.folder_id, file.upload_method, file.data_type) == (folder.id, "ncbi import", "document")
    assert NcbiImport.objects.get().status == "done"
    assert any(query.get("tool") == "biofilemanager" for _, _, query in fake_ncbi.requests)

    # A BioSample brings organism and sample attributes into the table and the metadata form.
    page.get_by_role("button", name="NCBI Download").click()
    dialog.get_by_label("NCBI link or accession").fill("https://www.ncbi.nlm.nih.gov/biosample/SAMN36028301")
    expect(dialog).to_contain_text("Mouse liver, day 3 after injury")
    dialog.get_by_role("button", name="Import").click()
    sample_row = page.get_by_role("row").filter(has_text="SAMN36028301.json")
    expect(sample_row).to_contain_text("Mus musculus")

    row.get_by_role("link", name="PMID_22294463.txt").click()
    expect(page).to_have_url(re.compile(rf"/files/{file.id}$"))
    expect(select_box(page, "Data type")).to_contain_text("document")
