"""A 50 MB upload through the SPA over a slowed-down link: pause, resume, reload the page in
the middle, resume again by choosing the file once more; the stored SHA-256 matches."""

from __future__ import annotations

import hashlib
import os
import re
import time

import pytest

from file_upload.models import File, Upload
from file_upload.tests.factories import ProjectFactory
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e
SIZE = 50 * 1024 * 1024


def offset() -> int:
    upload = Upload.objects.order_by("-created_at").first()
    return upload.offset if upload else 0


def wait_until(condition, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def throttle(page, bytes_per_second: int) -> None:
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": bytes_per_second},
    )


def uploads_panel(page):
    """The Uploads panel, open. The SPA opens it itself once the files are queued (after the
    name-conflict check), so wait for that before toggling it from the top bar."""
    from playwright.sync_api import expect

    panel = page.get_by_role("complementary", name="Uploads")
    try:
        expect(panel).to_be_visible(timeout=5000)
    except AssertionError:
        page.get_by_role("button", name="Uploads").click()
        expect(panel).to_be_visible()
    return panel


def test_pause_resume_reload_resume(page, make_user, tmp_path):
    from playwright.sync_api import expect

    user = make_user("sequencer", password="upload-pass-2024")
    project = ProjectFactory(name="Runs", owner=user)
    source = tmp_path / "run42.bam"
    source.write_bytes(os.urandom(SIZE))
    expected = hashlib.sha256(source.read_bytes()).hexdigest()

    sign_in(page, "sequencer", "upload-pass-2024")
    page.goto(f"/projects/{project.id}")
    throttle(page, 8 * 1024 * 1024)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Upload", exact=True).click()
    chooser.value.set_files(str(source))

    panel = uploads_panel(page)
    row = panel.get_by_role("listitem").filter(has_text="run42.bam")
    wait_until(lambda: offset() > 0, what="the first chunk")
    row.get_by_role("button", name="Pause").click()
    expect(row).to_contain_text("Paused")
    # The PATCH in flight when Pause was pressed is cut; the server keeps what it received of
    # it (tus asks for that), so let it settle, then nothing may move while paused.
    time.sleep(1.0)
    paused_at = offset()
    time.sleep(1.5)
    assert 0 < offset() == paused_at < SIZE

    row.get_by_role("button", name="Resume").click()
    wait_until(lambda: offset() > paused_at, what="progress after resuming")
    before_reload = offset()
    assert before_reload < SIZE

    page.reload()
    reloaded_at = offset()
    assert reloaded_at < SIZE
    row = uploads_panel(page).get_by_role("listitem").filter(has_text="run42.bam")
    expect(row).to_contain_text("Interrupted")
    with page.expect_file_chooser() as chooser:
        row.get_by_role("button", name="Resume").click()
    chooser.value.set_files(str(source))
    expect(row).to_contain_text("Done", timeout=60_000)

    upload = Upload.objects.get()
    assert upload.state == "completed"
    stored = File.objects.get(id=upload.file_id)
    assert stored.sha256 == expected
    assert stored.size == SIZE
    checksums = page.get_by_role("group", name=re.compile("Checksums of run42.bam"))
    expect(checksums).to_contain_text(expected)
