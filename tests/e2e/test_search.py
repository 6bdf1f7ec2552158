"""The search page: ticking facet values narrows the results and the other facets' counts, the
URL carries the whole search, and loading that URL again shows the same page."""

from __future__ import annotations

import re

import pytest

from file_upload.tests.factories import ProjectFactory, make_file
from tests.e2e.conftest import choose, sign_in

pytestmark = pytest.mark.e2e

FILES = [
    ("hs_liver_rna.fastq", "Homo sapiens", "RNA-seq"),
    ("hs_blood_wgs.fastq", "Homo sapiens", "WGS"),
    ("hs_brain_rna.fastq", "Homo sapiens", "RNA-seq"),
    ("mm_liver_rna.fastq", "Mus musculus", "RNA-seq"),
    ("mm_brain_wgs.fastq", "Mus musculus", "WGS"),
    ("dr_fin_rna.fastq", "Danio rerio", "RNA-seq"),
]


def facet_box(page, facet: str, value: str):
    return page.locator(f'[data-facet="{facet}"]').get_by_role("checkbox", name=re.compile(f"^{re.escape(value)}"))


def tick(page, facet: str, value: str) -> None:
    """Element Plus hides the real checkbox under its drawn box: click the labelled row."""
    page.locator(f'[data-facet="{facet}"] label').filter(has_text=value).click()


def facet_count(page, facet: str, value: str) -> str:
    label = page.locator(f'[data-facet="{facet}"] label').filter(has_text=value)
    return label.locator(".facet-count").inner_text()


def result_names(page) -> list[str]:
    return sorted(page.get_by_role("table").locator("tbody tr a").all_inner_texts())


def test_tick_two_facet_values_then_reload(page, make_user):
    from playwright.sync_api import expect

    user = make_user("searcher", password="search-pass-2024")
    project = ProjectFactory(name="Atlas", owner=user)
    for name, organism, assay in FILES:
        make_file(project, name, organism=organism, assay_type=assay)
    # Someone else's restricted file must never show up, not even in a count.
    other = make_user("stranger", password="x-pass-2024")
    hidden = ProjectFactory(name="Hidden", owner=other, access_level="restricted")
    make_file(hidden, "secret.fastq", organism="Homo sapiens", assay_type="RNA-seq")

    sign_in(page, "searcher", "search-pass-2024")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("/")
    expect(page.get_by_label("Search", exact=True)).to_be_focused()
    page.get_by_label("Search", exact=True).fill("fastq")
    page.get_by_label("Search", exact=True).press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=fastq"))
    expect(page.get_by_test_id("result-count")).to_have_text("6 files")
    expect(page.get_by_role("table").get_by_text("secret.fastq")).to_have_count(0)
    assert facet_count(page, "organism", "Homo sapiens") == "3"
    assert facet_count(page, "assay_type", "RNA-seq") == "4"

    tick(page, "organism", "Homo sapiens")
    expect(page.get_by_test_id("result-count")).to_have_text("3 files")
    expect(
        page.locator('[data-facet="assay_type"] label').filter(has_text="RNA-seq").locator(".facet-count")
    ).to_have_text("2")
    tick(page, "organism", "Mus musculus")
    expect(page.get_by_test_id("result-count")).to_have_text("5 files")
    # Disjunctive: the organism counts ignore the organism filter; the assay counts follow it.
    assert facet_count(page, "organism", "Danio rerio") == "1"
    expect(
        page.locator('[data-facet="assay_type"] label').filter(has_text="RNA-seq").locator(".facet-count")
    ).to_have_text("3")
    expect(page).to_have_url(re.compile(r"organism=Homo\+sapiens&organism=Mus\+musculus"))
    names = result_names(page)
    assert names == sorted(n for n, o, _ in FILES if o in ("Homo sapiens", "Mus musculus"))

    # The back button undoes the second tick; forward brings it back.
    page.go_back()
    expect(page.get_by_test_id("result-count")).to_have_text("3 files")
    expect(facet_box(page, "organism", "Mus musculus")).not_to_be_checked()
    page.go_forward()
    expect(page.get_by_test_id("result-count")).to_have_text("5 files")

    url = page.url
    page.goto(url)
    expect(page.get_by_test_id("result-count")).to_have_text("5 files")
    expect(facet_box(page, "organism", "Homo sapiens")).to_be_checked()
    expect(facet_box(page, "organism", "Mus musculus")).to_be_checked()
    expect(facet_box(page, "organism", "Danio rerio")).not_to_be_checked()
    assert result_names(page) == names


def test_bulk_set_field_offers_the_vocabulary_and_says_why_a_file_was_left_alone(page, make_user):
    from playwright.sync_api import expect

    from file_upload.models import File

    user = make_user("curator", password="curate-pass-2024")
    own = ProjectFactory(name="Own runs", owner=user)
    make_file(own, "run1.fastq", organism="Mus musculus")
    make_file(own, "run2.fastq", organism="Mus musculus")
    other = ProjectFactory(
        name="Core facility", owner=make_user("core", password="core-pass-2024"), members={user: "viewer"}
    )
    make_file(other, "core.fastq", organism="Mus musculus")

    sign_in(page, "curator", "curate-pass-2024")
    page.goto("/search?organism=Mus+musculus")
    expect(page.get_by_role("table").locator("tbody tr")).to_have_count(3)
    page.locator(".search-table thead .el-checkbox").click()
    expect(page.get_by_text("3 selected")).to_be_visible()
    page.get_by_role("button", name="Set field").click()
    dialog = page.get_by_role("dialog", name="Set field")
    choose(page, dialog, "Field", "Platform")
    # a vocabulary field offers its words, not a free-text box
    expect(dialog.get_by_label("Value")).to_have_attribute("role", "combobox")
    choose(page, dialog, "Value", "Illumina")
    dialog.get_by_role("button", name="Save").click()
    refused = page.get_by_role("list", name="Files not changed")
    expect(refused).to_contain_text("core.fastq")
    expect(refused).to_contain_text("not allowed: you are a viewer of project “Core facility”")
    expect(page.get_by_text("no permission?")).to_have_count(0)
    assert sorted(File.objects.filter(platform="Illumina").values_list("name", flat=True)) == [
        "run1.fastq",
        "run2.fastq",
    ]
