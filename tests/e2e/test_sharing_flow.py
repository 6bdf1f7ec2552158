"""Sharing in a real browser: the owner restricts a folder, a colleague loses sight of it, the
owner grants it to the colleague's group, the colleague sees it again."""

from __future__ import annotations

import re

import pytest

from authentication.models import AccessGrant
from file_upload.models import Folder
from file_upload.tests.factories import GroupFactory, ProjectFactory, make_file, make_folder
from tests.e2e.conftest import choose, sign_in

pytestmark = pytest.mark.e2e


def test_restrict_then_grant_to_a_group(new_page, make_user):
    from playwright.sync_api import expect

    owner = make_user("pi", password="owner-pass-2024")
    colleague = make_user("tech", password="tech-pass-2024")
    wetlab = GroupFactory(name="wetlab")
    colleague.groups.add(wetlab)
    project = ProjectFactory(name="Cohort study", owner=owner, access_level="internal")
    folder = make_folder(project, "clinical")
    make_file(project, "patient_01.vcf", b"##fileformat=VCFv4.2\n", folder=folder)

    theirs = new_page()
    sign_in(theirs, "tech", "tech-pass-2024")
    theirs.goto(f"/projects/{project.id}")
    expect(theirs.get_by_role("link", name="clinical").first).to_be_visible()

    mine = new_page()
    sign_in(mine, "pi", "owner-pass-2024")
    mine.goto(f"/projects/{project.id}/folders/{folder.id}")
    mine.get_by_role("button", name="Share").click()
    dialog = mine.get_by_role("dialog")
    expect(dialog).to_contain_text("Internal — inherited from project “Cohort study”")
    choose(mine, dialog, "Access level", "Restricted — only people given access")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_contain_text("Restricted — set on folder “clinical”")
    folder.refresh_from_db()
    assert folder.effective_access_level == "restricted"

    theirs.reload()
    expect(theirs.get_by_role("heading", name=re.compile("Cohort study"))).to_be_visible()
    expect(theirs.get_by_role("link", name="clinical")).to_have_count(0)
    theirs.goto(f"/projects/{project.id}/folders/{folder.id}")
    expect(theirs.get_by_text(re.compile("doesn't exist or you can't see it"))).to_be_visible()

    choose(mine, dialog, "Subject type", "Group")
    dialog.get_by_label("User or group name").fill("wetlab")
    choose(mine, dialog, "Permission", "Can view")
    dialog.get_by_role("button", name="Add access").click()
    expect(dialog).to_contain_text("wetlab — view")
    assert AccessGrant.objects.filter(subject_group=wetlab, folder=folder, permission="view").exists()

    theirs.goto(f"/projects/{project.id}")
    theirs.get_by_role("link", name="clinical").first.click()
    expect(theirs).to_have_url(re.compile(rf"/folders/{folder.id}$"))
    expect(theirs.get_by_role("row").filter(has_text="patient_01.vcf")).to_be_visible()
    assert Folder.objects.get(id=folder.id).effective_access_level == "restricted"
