"""The workspace as a file manager, in a real browser against gunicorn serving the built SPA:
rename, move by dialog and by drag, delete with Undo, the Trash, a selection moved at once,
name conflicts decided before the upload, a viewer's disabled controls, a public file page for
anonymous visitors, and a folder downloaded as one zip. Screenshots of the workspace, the Trash
and the conflict dialog at 1280 and 1024 px go to test-artifacts/filemanager/."""

from __future__ import annotations

import hashlib
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from file_upload.models import File, Folder, Project
from file_upload.tests.factories import ProjectFactory, make_file, make_folder
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "filemanager"


def shoot(page, name: str) -> None:
    """The page at 1280 and 1024 px wide; nothing may scroll sideways at 1280."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 1024):
        page.set_viewport_size({"width": width, "height": 800})
        page.wait_for_timeout(200)
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"))
        if width == 1280:
            overflow = page.evaluate(
                "() => [...document.querySelectorAll('.app-main, .app-main *')]"
                ".filter(e => e.clientWidth > 50 && e.scrollWidth > e.clientWidth + 1"
                " && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))"
                ".map(e => e.className).slice(0, 5)"
            )
            assert not overflow, f"{name} scrolls sideways at 1280 px: {overflow}"
    page.set_viewport_size({"width": 1280, "height": 900})


def row(page, name: str):
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))


def live(project: Project, name: str) -> File:
    return File.objects.alive().get(project=project, name=name)


@pytest.fixture
def lab(make_user):
    owner = make_user("pi", password="owner-pass-2024")
    project = ProjectFactory(name="Atlas", owner=owner, access_level="internal")
    raw = make_folder(project, "raw")
    archive = make_folder(project, "archive")
    for name in ("a.fastq", "b.fastq", "c.fastq", "d.fastq", "e.fastq", "f.fastq"):
        make_file(project, name, f"@{name}\nACGT\n+\nIIII\n".encode())
    return project, raw, archive


def test_rename_move_delete_undo_trash_restore(page, lab):
    from playwright.sync_api import expect

    project, raw, archive = lab
    sign_in(page, "pi", "owner-pass-2024")
    page.goto(f"/projects/{project.id}")
    expect(row(page, "a.fastq")).to_be_visible()
    shoot(page, "workspace")

    # Rename
    page.get_by_role("checkbox", name="Select a.fastq").check()
    page.get_by_role("button", name="Rename").click()
    page.get_by_label("New name").fill("a_renamed.fastq")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(row(page, "a_renamed.fastq")).to_be_visible()
    assert File.objects.alive().filter(project=project, name="a_renamed.fastq").exists()
    expect(page.get_by_role("checkbox", name="Select a_renamed.fastq")).to_be_checked()  # still selected
    page.get_by_role("checkbox", name="Select a_renamed.fastq").uncheck()

    # Move by the dialog
    page.get_by_role("checkbox", name="Select b.fastq").check()
    page.get_by_role("button", name="Move", exact=True).click()
    dialog = page.get_by_role("dialog", name="Move")
    dialog.get_by_role("treeitem", name="Atlas").locator(".el-tree-node__expand-icon").first.click()
    dialog.get_by_text("raw", exact=True).click()
    dialog.get_by_role("button", name="Move here").click()
    expect(row(page, "b.fastq")).to_have_count(0)
    assert live(project, "b.fastq").folder_id == raw.id

    # Three files at once: a click and a shift-click select c, d and e
    page.get_by_role("checkbox", name="Select c.fastq").click()
    page.get_by_role("checkbox", name="Select e.fastq").click(modifiers=["Shift"])
    expect(page.get_by_role("checkbox", name="Select d.fastq")).to_be_checked()
    page.get_by_role("button", name="Move", exact=True).click()
    dialog.get_by_role("treeitem", name="Atlas").locator(".el-tree-node__expand-icon").first.click()
    dialog.get_by_text("archive", exact=True).click()
    dialog.get_by_role("button", name="Move here").click()
    expect(row(page, "e.fastq")).to_have_count(0)
    assert {live(project, n).folder_id for n in ("c.fastq", "d.fastq", "e.fastq")} == {archive.id}

    # Move by dragging a row onto a folder in the rail
    target = page.locator(".app-rail .tree-node", has_text=re.compile(r"^raw$"))
    row(page, "f.fastq").get_by_role("link", name="f.fastq").drag_to(target)
    expect(row(page, "f.fastq")).to_have_count(0)
    assert live(project, "f.fastq").folder_id == raw.id

    # Delete, then Undo
    page.get_by_role("checkbox", name="Select a_renamed.fastq").check()
    page.get_by_role("button", name="Delete").click()
    expect(row(page, "a_renamed.fastq")).to_have_count(0)
    assert not File.objects.alive().filter(name="a_renamed.fastq").exists()
    page.get_by_role("button", name="Undo").click()
    expect(row(page, "a_renamed.fastq")).to_be_visible()
    assert File.objects.alive().filter(name="a_renamed.fastq").exists()

    # Delete, then Restore from the Trash (with its purge date)
    page.get_by_role("checkbox", name="Select a_renamed.fastq").check()
    page.get_by_role("button", name="Delete").click()
    expect(row(page, "a_renamed.fastq")).to_have_count(0)
    page.get_by_role("link", name="Trash").click()
    trashed = page.get_by_role("row").filter(has_text="a_renamed.fastq")
    expect(trashed).to_contain_text("Atlas")
    expect(page.get_by_role("columnheader", name="Purged on")).to_be_visible()
    expect(trashed).to_contain_text(re.compile(r"\d{4}"))
    shoot(page, "trash")
    trashed.get_by_role("button", name="Restore").click()
    expect(trashed).to_have_count(0)
    assert File.objects.alive().filter(name="a_renamed.fastq").exists()


def test_upload_conflicts_keep_both_and_replace(page, make_user, tmp_path):
    from playwright.sync_api import expect

    owner = make_user("pi", password="owner-pass-2024")
    project = ProjectFactory(name="Runs", owner=owner)
    make_file(project, "one.fastq", b"@old1\nA\n+\nI\n")
    make_file(project, "two.fastq", b"@old2\nA\n+\nI\n")
    new_one, new_two = tmp_path / "one.fastq", tmp_path / "two.fastq"
    new_one.write_bytes(b"@new1\nACGT\n+\nIIII\n")
    new_two.write_bytes(b"@new2\nACGT\n+\nIIII\n")
    retries: list[str] = []
    page.on("request", lambda r: retries.append(r.url) if r.method == "POST" and "/api/uploads/" in r.url else None)

    sign_in(page, "pi", "owner-pass-2024")
    page.goto(f"/projects/{project.id}")
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Upload", exact=True).click()
    chooser.value.set_files([str(new_one), str(new_two)])
    dialog = page.get_by_role("dialog", name="2 files already exist")
    expect(dialog).to_contain_text("“one.fastq” is already in this folder")
    shoot(page, "conflict-dialog")
    assert retries == []  # nothing sent before the decision
    dialog.get_by_role("button", name="Keep both").click()
    expect(dialog).to_contain_text("“two.fastq” is already in this folder")
    dialog.get_by_role("button", name="Replace").click()

    expect(row(page, "one (2).fastq")).to_be_visible(timeout=30_000)
    expect(page.get_by_text(re.compile("Retrying"))).to_have_count(0)
    names = sorted(File.objects.alive().filter(project=project).values_list("name", flat=True))
    assert names == ["one (2).fastq", "one.fastq", "two.fastq"]
    assert live(project, "one (2).fastq").sha256 == hashlib.sha256(new_one.read_bytes()).hexdigest()
    assert live(project, "one.fastq").sha256 == hashlib.sha256(b"@old1\nA\n+\nI\n").hexdigest()
    assert live(project, "two.fastq").sha256 == hashlib.sha256(new_two.read_bytes()).hexdigest()
    assert File.objects.filter(project=project, name="two.fastq", deleted_at__isnull=False).count() == 1
    assert len(retries) == 2  # one creation per upload: no retry loop


def test_viewer_sees_disabled_controls_with_reasons(page, make_user):
    from playwright.sync_api import expect

    owner = make_user("pi", password="owner-pass-2024")
    viewer = make_user("guest", password="guest-pass-2024")
    project = ProjectFactory(name="Shared", owner=owner, access_level="restricted", members={viewer: "viewer"})
    file = make_file(project, "look.fastq", b"@r\nA\n+\nI\n")

    sign_in(page, "guest", "guest-pass-2024")
    page.goto(f"/projects/{project.id}")
    upload = page.get_by_role("button", name="Upload", exact=True)
    expect(upload).to_be_disabled()
    expect(upload).to_have_attribute("title", re.compile("You can only view here"))
    expect(page.get_by_role("button", name="New folder")).to_be_disabled()
    page.get_by_role("checkbox", name="Select look.fastq").check()
    delete = page.get_by_role("button", name="Delete")
    expect(delete).to_be_disabled()
    expect(delete.locator("xpath=..")).to_have_attribute("title", re.compile("look.fastq: Only the file's owner"))
    expect(page.get_by_role("button", name="Rename")).to_be_disabled()
    expect(page.get_by_role("button", name="Download as zip")).to_be_enabled()

    page.goto(f"/files/{file.id}")
    save = page.get_by_role("button", name="Save")
    expect(save).to_be_disabled()
    expect(save.locator("xpath=..")).to_have_attribute("title", re.compile("You can only view this"))
    expect(page.get_by_role("button", name="Share")).to_be_disabled()


def test_anonymous_opens_a_public_file_page(page, make_user):
    from playwright.sync_api import expect

    owner = make_user("pi", password="owner-pass-2024")
    project = ProjectFactory(name="Open data", owner=owner, access_level="public")
    content = b"@pub\nACGT\n+\nIIII\n"
    file = make_file(project, "public.fastq", content)
    hidden = make_file(ProjectFactory(name="Lab only", owner=owner), "internal.fastq", b"x")

    page.goto(f"/files/{file.id}")
    expect(page).to_have_url(re.compile(rf"/files/{file.id}$"))
    expect(page.get_by_role("heading", name="public.fastq")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    assert Path(download.value.path()).read_bytes() == content
    page.goto(f"/files/{hidden.id}")
    expect(page.get_by_role("link", name="Sign in to see it")).to_be_visible()


def test_download_a_folder_as_zip(page, lab, tmp_path):
    from playwright.sync_api import expect

    project, raw, _archive = lab
    lane = make_folder(project, "lane1", parent=raw)
    stored = {
        "raw/r1.fastq": make_file(project, "r1.fastq", b"@x\nACGT\n+\nIIII\n" * 1000, folder=raw),
        "raw/lane1/r2.fastq.gz": make_file(project, "r2.fastq.gz", bytes(range(256)) * 50, folder=lane),
    }
    sign_in(page, "pi", "owner-pass-2024")
    page.goto(f"/projects/{project.id}")
    page.get_by_role("checkbox", name="Select raw").check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download as zip").click()
    assert download.value.suggested_filename == "raw.zip"
    archive = tmp_path / "raw.zip"
    download.value.save_as(archive)
    assert subprocess.run(["unzip", "-t", str(archive)], capture_output=True).returncode == 0
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == sorted(stored)
        for path, file in stored.items():
            assert hashlib.sha256(zf.read(path)).hexdigest() == file.sha256
    assert Folder.objects.filter(id=lane.id).exists()
    expect(page.get_by_role("checkbox", name="Select raw")).to_be_checked()


def test_file_page_rename_move_with_conflict_delete_and_undo(page, lab):
    from playwright.sync_api import expect

    project, raw, _archive = lab
    make_file(project, "moved.fastq", b"@taken\nA\n+\nI\n", folder=raw)
    file = live(project, "a.fastq")
    sign_in(page, "pi", "owner-pass-2024")
    page.goto(f"/files/{file.id}")

    # Rename
    page.get_by_role("button", name="Rename").click()
    page.get_by_label("New name").fill("moved.fastq")
    page.get_by_role("dialog", name="Rename").get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="moved.fastq")).to_be_visible()
    assert File.objects.get(id=file.id).name == "moved.fastq"

    # Move into a folder that has a moved.fastq: asked, and Keep both
    page.get_by_role("button", name="Move", exact=True).click()
    dialog = page.get_by_role("dialog", name="Move")
    dialog.get_by_role("treeitem", name="Atlas").locator(".el-tree-node__expand-icon").first.click()
    dialog.get_by_text("raw", exact=True).click()
    dialog.get_by_role("button", name="Move here").click()
    conflict = page.get_by_role("dialog", name="1 file already exists")
    expect(conflict).to_contain_text("“moved.fastq” is already in this folder")
    conflict.get_by_role("button", name="Keep both").click()
    expect(page.get_by_role("heading", name="moved (2).fastq")).to_be_visible()
    moved = File.objects.get(id=file.id)
    assert (moved.folder_id, moved.name) == (raw.id, "moved (2).fastq")
    assert File.objects.alive().filter(folder=raw, name="moved.fastq").count() == 1

    # Delete to the Trash, then Undo brings the file and its page back
    page.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(rf"/projects/{project.id}/folders/{raw.id}$"))
    assert File.objects.get(id=file.id).deleted_at is not None
    page.get_by_role("button", name="Undo").click()
    expect(page).to_have_url(re.compile(rf"/files/{file.id}$"))
    assert File.objects.get(id=file.id).deleted_at is None


def test_deleting_a_folder_takes_its_content_to_the_trash(page, lab):
    from playwright.sync_api import expect

    project, raw, _archive = lab
    make_file(project, "inside.fastq", b"@i\nA\n+\nI\n", folder=make_folder(project, "lane", parent=raw))
    sign_in(page, "pi", "owner-pass-2024")
    page.goto(f"/projects/{project.id}")
    page.get_by_role("checkbox", name="Select raw").check()
    page.get_by_role("button", name="Delete").click()
    expect(row(page, "raw")).to_have_count(0)
    assert not Folder.objects.filter(id=raw.id).exists()
    page.get_by_role("link", name="Trash").click()
    # The folder is one Trash item with its content count, restored as a whole
    trashed = page.get_by_role("row").filter(has_text="raw — folder, 1 file")
    expect(trashed).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="inside.fastq")).to_have_count(0)
    trashed.get_by_role("button", name="Restore").click()
    expect(trashed).to_have_count(0)
    inside = live(project, "inside.fastq")
    assert inside.folder.name_path == "/raw/lane"


def test_deleting_a_folder_then_undo_brings_back_its_files(page, lab):
    from playwright.sync_api import expect

    project, raw, _archive = lab
    lane = make_folder(project, "lane", parent=raw)
    make_file(project, "top.fastq", b"@t\nA\n+\nI\n", folder=raw)
    make_file(project, "inside.fastq", b"@i\nA\n+\nI\n", folder=lane)
    sign_in(page, "pi", "owner-pass-2024")
    page.goto(f"/projects/{project.id}")
    page.get_by_role("checkbox", name="Select raw").check()
    page.get_by_role("button", name="Delete").click()
    expect(row(page, "raw")).to_have_count(0)
    assert not File.objects.alive().filter(name__in=["top.fastq", "inside.fastq"]).exists()
    page.get_by_role("button", name="Undo").click()
    expect(row(page, "raw")).to_be_visible()
    assert live(project, "top.fastq").folder.name_path == "/raw"
    assert live(project, "inside.fastq").folder.name_path == "/raw/lane"
    assert not File.objects.filter(project=project, deleted_at__isnull=False).exists()
    row(page, "raw").get_by_role("link", name="raw", exact=True).click()
    expect(row(page, "top.fastq")).to_be_visible()
    expect(row(page, "lane")).to_be_visible()
