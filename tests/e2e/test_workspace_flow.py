"""A lab member's first session, in a real browser against gunicorn serving the built SPA:
sign in, create a project and a folder, upload a file, describe it, find it in the table,
download it again and get the same bytes."""

from __future__ import annotations

import hashlib
import re

import pytest

from file_upload.models import File, Folder, Project

pytestmark = pytest.mark.e2e

CONTENT = b"@read1\nACGTACGTNN\n+\nIIIIIIII##\n@read2\nGGGCCCAAAT\n+\nIIIIIIIIII\n"


def test_sign_in_create_upload_describe_download(page, server, make_user, tmp_path):
    from playwright.sync_api import expect

    make_user("lab-member", password="bench-pass-2024")
    sample = tmp_path / "liver_R1.fastq"
    sample.write_bytes(CONTENT)

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Username").fill("lab-member")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Invalid username or password")
    page.get_by_label("Password").fill("bench-pass-2024")
    page.get_by_label("Password").press("Enter")

    page.get_by_role("button", name="New project").click()
    page.get_by_label("Project name").fill("Liver atlas")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/projects/\d+$"))
    project = Project.objects.get(name="Liver atlas")
    assert project.owner.username == "lab-member"

    page.get_by_role("button", name="New folder").click()
    page.get_by_label("Folder name").fill("raw")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="raw").first.click()
    folder = Folder.objects.get(project=project, name="raw")
    expect(page).to_have_url(re.compile(rf"/projects/{project.id}/folders/{folder.id}$"))

    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Upload", exact=True).click()
    chooser.value.set_files(str(sample))
    row = page.get_by_role("row").filter(has_text="liver_R1.fastq")
    expect(row).to_be_visible()
    stored = File.objects.get(name="liver_R1.fastq")
    assert (stored.folder_id, stored.size, stored.upload_method) == (folder.id, len(CONTENT), "tus")

    row.get_by_role("link", name="liver_R1.fastq").click()
    expect(page).to_have_url(re.compile(rf"/files/{stored.id}$"))
    page.get_by_label("Organism").fill("Homo sapiens")
    page.get_by_label("Assay type").click()
    page.get_by_role("option", name="RNA-seq", exact=True).click()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved", exact=False).first).to_be_visible()
    stored.refresh_from_db()
    assert (stored.organism, stored.assay_type) == ("Homo sapiens", "RNA-seq")

    page.go_back()
    expect(page).to_have_url(re.compile(rf"/projects/{project.id}/folders/{folder.id}$"))
    page.reload()
    row = page.get_by_role("row").filter(has_text="liver_R1.fastq")
    expect(row).to_contain_text("Homo sapiens")
    expect(row).to_contain_text("RNA-seq")

    row.get_by_role("link", name="liver_R1.fastq").click()
    expect(page).to_have_url(re.compile(rf"/files/{stored.id}$"))
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download", exact=True).click()
    download = download_info.value
    assert download.suggested_filename == "liver_R1.fastq"
    downloaded = tmp_path / "downloaded.fastq"
    download.save_as(downloaded)
    assert downloaded.read_bytes() == CONTENT
    assert hashlib.sha256(downloaded.read_bytes()).hexdigest() == stored.sha256
