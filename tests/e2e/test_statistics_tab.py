"""A parsed FASTQ's Statistics tab shows the numbers and draws the quality plot."""

from __future__ import annotations

import random

import pytest

from file_upload import services
from file_upload.tests.factories import ProjectFactory, make_file
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def fastq(reads: int = 400, length: int = 76) -> bytes:
    rng = random.Random(7)
    records = []
    for i in range(reads):
        seq = "".join(rng.choice("ACGT") for _ in range(length))
        # Quality falls along the read, as on a real run.
        qual = "".join(chr(33 + max(2, 38 - pos // 3 - rng.randint(0, 4))) for pos in range(length))
        records.append(f"@A00123:8:H5KJ:1:1101:{i}:1000 1:N:0:ACGT\n{seq}\n+\n{qual}\n")
    return "".join(records).encode()


def test_statistics_tab_plots_quality_per_position(page, make_user):
    from playwright.sync_api import expect

    user = make_user("analyst", password="stats-pass-2024")
    file = make_file(ProjectFactory(name="QC", owner=user), "run1_R1.fastq", fastq())
    parsed = services.parse_file(file.id)
    assert parsed.parse_status == "done" and parsed.stats["reads"] == 400

    sign_in(page, "analyst", "stats-pass-2024")
    page.goto(f"/files/{file.id}")
    page.get_by_role("tab", name="Statistics").click()
    plot = page.get_by_role("img", name="Quality per position")
    expect(plot).to_be_visible()
    canvas = plot.locator("canvas").first
    expect(canvas).to_be_visible()
    # The chart really drew: the canvas holds non-blank pixels.
    painted = canvas.evaluate(
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
    )
    assert painted > 1000
    expect(page.get_by_role("img", name="Read length distribution")).to_be_visible()
    expect(page.get_by_text("400", exact=True).first).to_be_visible()
