"""Screenshots of the workspace, the Trash, the conflict dialog, the quality box plot and the
search results at 1280 and 1024 px (into test-artifacts/screenshots/, not committed), with the
layout rules they show: nothing scrolls sideways at 1280 px, at 1024 px the file table keeps
Level and Updated, and the left rail folds away with "Collapse sidebar"."""

from __future__ import annotations

from pathlib import Path

import pytest

from file_upload import services
from file_upload.tests.factories import ProjectFactory, make_file, make_folder
from tests.e2e.conftest import sign_in
from tests.e2e.test_statistics_tab import fastq

pytestmark = pytest.mark.e2e
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

# The page itself and every scrolling box inside the main area: none may be wider than it shows.
SIDEWAYS = """() => {
  const root = document.scrollingElement
  const boxes = [...document.querySelectorAll('.app-main, .app-main *')].filter(e =>
    e.clientWidth > 50 && e.scrollWidth > e.clientWidth + 1 &&
    ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
  return { page: root.scrollWidth - root.clientWidth, boxes: boxes.map(e => e.className).slice(0, 5) }
}"""


def shoot(page, name: str, ready) -> list[Path]:
    """Screenshots at 1280 and 1024 px; at 1280 nothing may scroll sideways."""
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    taken = []
    for width in (1280, 1024):
        page.set_viewport_size({"width": width, "height": 800})
        expect(ready()).to_be_visible()
        page.wait_for_timeout(300)  # the table and charts lay out again after the resize
        path = SHOTS / f"{name}-{width}.png"
        page.screenshot(path=str(path))
        taken.append(path)
        if width == 1280:
            overflow = page.evaluate(SIDEWAYS)
            assert overflow == {"page": 0, "boxes": []}, f"{name} scrolls sideways at 1280 px: {overflow}"
    page.set_viewport_size({"width": 1280, "height": 900})
    return taken


def in_view(page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"] + 1


@pytest.fixture
def lab(make_user):
    owner = make_user("pi", password="owner-pass-2024")
    project = ProjectFactory(name="Liver atlas", owner=owner, access_level="internal")
    make_folder(project, "raw")
    make_folder(project, "aligned")
    for index in range(6):
        make_file(
            project,
            f"sample{index}_R1.fastq",
            f"@r{index}\nACGT\n+\nIIII\n".encode(),
            organism="Mus musculus",
            assay_type="RNA-seq",
            tags=["liver", "pilot"],
        )
    return project


def test_screenshots_at_1280_and_1024(page, lab, tmp_path):
    from playwright.sync_api import expect

    project = lab
    run = make_file(project, "run1_with_a_rather_long_name_R1.fastq", fastq(reads=300, length=100))
    assert services.parse_file(run.id).parse_status == "done"
    gone = make_file(project, "old_run.fastq", b"@x\nA\n+\nI\n")
    services.soft_delete_file(gone, actor=project.owner)
    shots: list[Path] = []

    sign_in(page, "pi", "owner-pass-2024")

    # The workspace; at 1024 px Level and Updated stay in view, and the rail folds away.
    page.goto(f"/projects/{project.id}")
    table = page.get_by_role("table").first
    shots += shoot(page, "workspace", lambda: page.get_by_role("link", name="sample0_R1.fastq"))
    page.set_viewport_size({"width": 1024, "height": 800})
    for column in ("Level", "Updated"):
        header = table.get_by_role("columnheader", name=column)
        expect(header).to_be_visible()
        assert in_view(page, header), f"{column} is out of view at 1024 px"
    rail = page.get_by_role("complementary", name="Projects and folders")
    before = rail.bounding_box()["width"]
    page.get_by_role("button", name="Collapse sidebar").click()
    expect(page.get_by_role("button", name="Expand sidebar")).to_be_visible()
    assert rail.bounding_box()["width"] < before / 4
    shots.append(SHOTS / "workspace-collapsed-1024.png")
    page.screenshot(path=str(shots[-1]))
    page.get_by_role("button", name="Expand sidebar").click()
    expect(page.get_by_role("button", name="Collapse sidebar")).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 900})

    # The Trash
    page.get_by_role("link", name="Trash").click()
    shots += shoot(page, "trash", lambda: page.get_by_role("row").filter(has_text="old_run.fastq"))

    # The conflict dialog, asked before an upload of names that exist
    page.goto(f"/projects/{project.id}")
    again = [tmp_path / "sample0_R1.fastq", tmp_path / "sample1_R1.fastq"]
    for path in again:
        path.write_bytes(b"@new\nACGT\n+\nIIII\n")
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Upload", exact=True).click()
    chooser.value.set_files([str(p) for p in again])
    dialog = page.get_by_role("dialog", name="2 files already exist")
    shots += shoot(page, "conflict-dialog", lambda: dialog)
    dialog.get_by_role("button", name="Skip").click()
    dialog.get_by_role("button", name="Skip").click()
    expect(dialog).to_be_hidden()

    # The quality box plot
    page.goto(f"/files/{run.id}")
    page.get_by_role("tab", name="Statistics").click()
    shots += shoot(page, "quality-boxplot", lambda: page.get_by_role("img", name="Quality per position"))

    # Search results
    page.goto("/search?q=fastq")
    shots += shoot(page, "search", lambda: page.get_by_role("link", name="sample0_R1.fastq"))

    for path in shots:
        assert path.stat().st_size > 10_000, path
    print("screenshots:", *sorted(str(p) for p in shots), sep="\n  ")
