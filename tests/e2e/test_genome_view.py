"""The Genome view tab: igv.js, loaded lazily into the file page, draws reads from a BAM (its
index built by the index task) and variants from a bgzipped VCF (its .tbi uploaded beside it),
all through signed links, with no reference FASTA in the project (the header's contigs, and a
note saying so) and with one (the project's FASTA + .fai for the file's ``reference_genome``)."""

from __future__ import annotations

import pytest

from file_upload import services
from file_upload.tests.factories import ProjectFactory, make_file
from tests.e2e.conftest import sign_in
from tests.integration.test_signed_index_tools import _indexed_vcf, _sorted_bam

pytestmark = pytest.mark.e2e
PASSWORD = "genome-pass-2024"


# Pixels of igv's track canvases that are painted and not white.
PAINTED = """() => [...document.querySelector('[data-testid=genome-browser]').shadowRoot
        .querySelectorAll('.igv-viewport canvas')].reduce((n, c) => {
          if (!c.width || !c.height) return n;
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i] + d[i + 1] + d[i + 2] < 720) n++;
          return n; }, 0)"""


def _go(page, locus: str) -> None:
    page.get_by_label("Locus", exact=True).fill(locus)
    page.get_by_role("button", name="Go").click()


def _count_in_view(page, what: str) -> int:
    from playwright.sync_api import expect

    status = page.get_by_role("status").filter(has_text=f"{what} in view")
    expect(status).to_be_visible(timeout=30_000)
    return int(status.inner_text().split(" ")[0].replace(",", ""))


def test_genome_view_draws_reads_and_variants(page, make_user, tmp_path):
    from playwright.sync_api import expect

    user = make_user("genomics", password=PASSWORD)
    project = ProjectFactory(name="Genomes", owner=user)
    bam = make_file(project, "reads.bam", _sorted_bam(tmp_path / "reads.bam").read_bytes(), reference_genome="mini1")
    services.parse_file(bam.id)
    services.index_file(bam.id)
    vcf_gz, tbi = _indexed_vcf(tmp_path)
    vcf = make_file(project, "calls.vcf.gz", vcf_gz.read_bytes())
    make_file(project, "calls.vcf.gz.tbi", tbi.read_bytes())
    services.parse_file(vcf.id)

    sign_in(page, "genomics", PASSWORD)
    page.goto(f"/files/{bam.id}")
    page.get_by_role("tab", name="Genome view").click()
    expect(page.get_by_text("No FASTA with a .fai for “mini1”")).to_be_visible(timeout=30_000)
    expect(page.get_by_label("Locus", exact=True)).to_have_value("chr1:1-10000", timeout=30_000)
    _go(page, "chr1:49200-50000")  # past the last read
    expect(page.get_by_role("status")).to_have_text("0 reads in view", timeout=30_000)
    blank = page.evaluate(PAINTED)
    _go(page, "chr1:2000-6000")
    assert _count_in_view(page, "reads") > 0
    # igv.js drew them: its alignment track's canvas holds many more painted pixels than before.
    page.wait_for_function(f"least => ({PAINTED})() > least", arg=blank + 2000, timeout=30_000)

    page.goto(f"/files/{vcf.id}")
    page.get_by_role("tab", name="Genome view").click()
    expect(page.get_by_label("Locus", exact=True)).to_have_value("chr1:1-10000", timeout=30_000)
    assert _count_in_view(page, "variants") > 0

    # With the project's FASTA + .fai for the BAM's reference_genome, igv opens on it.
    contigs = "".join(f">{name}\n" + "ACGT" * 12500 + "\n" for name in ("chr1", "chr2"))
    make_file(project, "mini1.fa", contigs.encode())
    make_file(project, "mini1.fa.fai", b"chr1\t50000\t6\t50000\t50001\nchr2\t50000\t50013\t50000\t50001\n")
    page.goto(f"/files/{bam.id}")
    page.get_by_role("tab", name="Genome view").click()
    expect(page.get_by_label("Locus", exact=True)).to_have_value("chr1:1-10000", timeout=30_000)
    expect(page.get_by_text("No FASTA with a .fai")).to_have_count(0)
    _go(page, "chr1:3000-3100")
    assert _count_in_view(page, "reads") > 0
