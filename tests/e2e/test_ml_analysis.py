"""Analyse → Quality control in a real browser: gunicorn serves the SPA and the API, a real Celery
worker runs the QC, the task list follows it live and shows the verdict badge and the metrics."""

from __future__ import annotations

import re
import uuid

import pytest

from file_upload import services
from file_upload.tests.factories import ProjectFactory, make_file
from ml_interface.models import FileQC
from ml_interface.tests import data
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.worker]


@pytest.fixture
def server_env(data_dirs) -> dict[str, str]:
    """gunicorn and its Celery worker (tests/conftest.py's ``server``) on a broker directory and a
    queue of their own."""
    return {"BIOFM_BROKER_DIR": str(data_dirs / "broker"), "BIOFM_CELERY_QUEUE": f"biofm-ml-{uuid.uuid4().hex[:8]}"}


def test_qc_from_the_analyse_menu_shows_the_verdict_badge(page, server, make_user):
    from playwright.sync_api import expect

    owner = make_user("sequencer", password="qc-pass-2024")
    project = ProjectFactory(name="Run 42", owner=owner, access_level="restricted")
    file = make_file(project, "lane1_R1.fastq", data.fastq(defects=True))
    assert services.parse_file(file.id).parse_status == "done"  # as the upload's extraction would

    sign_in(page, "sequencer", "qc-pass-2024")
    page.goto(f"/files/{file.id}")
    page.get_by_role("button", name="Analyse").click()
    page.get_by_role("menuitem", name="Quality control").click()
    expect(page).to_have_url(re.compile(r"/tasks\?task=\d+$"))
    table = page.get_by_role("table", name="Analysis tasks")
    expect(table.get_by_role("row").filter(has_text="lane1_R1.fastq")).to_have_count(1)
    # The list polls until the worker is done; the result opens by itself.
    expect(page.get_by_text("QC: fail")).to_be_visible(timeout=60_000)
    metrics = page.get_by_role("table", name="QC metrics")
    expect(metrics.get_by_role("row").filter(has_text="N bases")).to_contain_text("fail")
    assert FileQC.objects.get(file=file).verdict == "fail"

    # The flag shows on the file's page; the top bar leads back to the tasks.
    page.goto(f"/files/{file.id}")
    expect(page.get_by_text("QC fail", exact=True)).to_be_visible()
    page.goto("/projects")
    page.get_by_role("link", name="Tasks", exact=True).click()
    expect(page).to_have_url(re.compile(r"/tasks$"))
    expect(page.get_by_role("table", name="Analysis tasks")).to_contain_text("Done")


def test_suggest_metadata_shows_values_with_their_evidence(page, server, make_user):
    from playwright.sync_api import expect

    owner = make_user("histologist", password="autotag-pass-2024")
    project = ProjectFactory(name="Liver atlas", owner=owner, access_level="restricted")
    methods = (
        b"Methods. Eight-week-old female C57BL/6J mice were used. RNA-seq libraries were sequenced on a "
        b"NovaSeq 6000 and aligned to GRCm39.\n"
    )
    file = services.parse_file(make_file(project, "methods.txt", methods).id)
    assert file.organism == "" and "file_format" in file.autofilled_fields

    sign_in(page, "histologist", "autotag-pass-2024")
    page.goto(f"/files/{file.id}")
    # what the app filled in itself carries a visible mark with an accessible description
    expect(page.get_by_role("note", name=re.compile("File format was filled in automatically"))).to_be_visible()
    page.get_by_role("button", name="Analyse").click()
    page.get_by_role("menuitem", name="Suggest metadata").click()
    expect(page).to_have_url(re.compile(r"/tasks\?task=\d+$"))
    table = page.get_by_role("table", name="Suggested metadata")
    expect(table).to_be_visible(timeout=60_000)
    organism = table.get_by_role("row").filter(has_text="Organism")
    expect(organism).to_contain_text("Mus musculus")
    expect(organism).to_contain_text("C57BL/6J")  # the evidence it used
    expect(table.get_by_role("row").filter(has_text="Sex")).to_contain_text("female")
    expect(table.get_by_role("row").filter(has_text="Instrument model")).to_contain_text("Illumina NovaSeq 6000")
    expect(table.get_by_role("row").filter(has_text="Reference genome")).to_contain_text("GRCm39")
    page.get_by_role("button", name="Apply Organism").click()
    expect(organism).to_contain_text("Applied")
    file.refresh_from_db()
    assert file.organism == "Mus musculus" and "organism" not in file.autofilled_fields
