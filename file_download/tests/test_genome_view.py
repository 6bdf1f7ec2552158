"""The Genome view's answer (``file_download.genome``): signed links to the file and its index,
the project's FASTA + .fai for the file's ``reference_genome``, or the header's contigs and a
note saying the reference is missing."""

from __future__ import annotations

import gzip

import pytest

from file_upload.models import File
from file_upload.tests.factories import ProjectFactory, make_file

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]
VCF = (
    "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=50000>\n##contig=<ID=chrM,length=16569>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t100\t.\tA\tG\t50\tPASS\t.\n"
)


@pytest.fixture
def project(alice):
    return ProjectFactory(name="Genomes", owner=alice)


def bam_like(project, **metadata):
    file = make_file(project, "reads.bam", b"BAM\x01", **metadata)
    stats = {"format": "bam", "header": {"SQ": [{"SN": "chr1", "LN": 50000}, {"SN": "chr2", "LN": 800}]}}
    File.objects.filter(id=file.id).update(stats=stats, file_format="bam")
    return file


def test_a_bam_without_a_reference_shows_its_header_contigs(api, project):
    file = bam_like(project, reference_genome="GRCh38")
    answer = api.get(f"/api/files/{file.id}/genome-view/").json()
    assert answer["track"]["type"] == "alignment" and answer["track"]["format"] == "bam"
    assert answer["track"]["url"].startswith("http://testserver/api/signed/")
    assert answer["reference"] is None
    assert answer["contigs"] == [{"name": "chr1", "length": 50000}, {"name": "chr2", "length": 800}]
    assert answer["locus"] == "chr1:1-10000"
    assert "GRCh38" in answer["note"] and "header" in answer["note"]
    sizes = api.get(f"/api/files/{file.id}/genome-view/chrom-sizes/")
    assert sizes.content.decode() == "chr1\t50000\nchr2\t800\n"


def test_the_projects_fasta_and_fai_are_the_reference(api, project):
    file = bam_like(project, reference_genome="GRCh38")
    fasta = make_file(project, "GRCh38.fa", b">chr1\nACGT\n")
    make_file(project, "GRCh38.fa.fai", b"chr1\t4\t6\t4\t5\n")
    make_file(project, "hg19.fa", b">chr1\nACGT\n")  # another genome
    answer = api.get(f"/api/files/{file.id}/genome-view/").json()
    assert answer["reference"]["file"] == fasta.id
    assert answer["reference"]["fasta_url"].endswith("/GRCh38.fa")
    assert answer["reference"]["index_url"].endswith("/GRCh38.fa.fai")
    assert answer["note"].startswith("This file has no index")


def test_a_fasta_without_fai_or_in_another_project_is_not_used(api, alice, project):
    file = bam_like(project, reference_genome="GRCh38")
    make_file(project, "GRCh38.fa", b">chr1\nACGT\n")
    other = ProjectFactory(name="Other", owner=alice)
    make_file(other, "GRCh38.fa", b">chr1\nACGT\n")
    make_file(other, "GRCh38.fa.fai", b"chr1\t4\t6\t4\t5\n")
    assert api.get(f"/api/files/{file.id}/genome-view/").json()["reference"] is None


def test_a_bgzipped_vcf_with_its_tbi(api, project):
    file = make_file(project, "calls.vcf.gz", gzip.compress(VCF.encode()))
    make_file(project, "calls.vcf.gz.tbi", b"TBI\x01")
    answer = api.get(f"/api/files/{file.id}/genome-view/").json()
    assert answer["track"]["type"] == "variant"
    assert answer["track"]["index_url"] == answer["track"]["url"] + ".tbi"
    assert answer["contigs"] == [{"name": "chr1", "length": 50000}, {"name": "chrM", "length": 16569}]
    assert "names no reference genome" in answer["note"]


def test_other_files_have_no_genome_view(api, project):
    file = make_file(project, "reads.fastq")
    response = api.get(f"/api/files/{file.id}/genome-view/")
    assert response.status_code == 400
    assert api.get(f"/api/files/{file.id}/genome-view/chrom-sizes/").content == b""


def _path(url: str) -> str:
    return url.removeprefix("http://testserver")


def _bytes(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_an_index_the_reader_cannot_see_is_neither_named_nor_served(api, anon, client_for, bob, project):
    """The uploaded index is a file of its own: a restricted one beside an internal BAM is, for
    someone who sees only the BAM, no index at all — not in the file's page, not in the Genome
    view, not behind the BAM's signed link."""
    file = bam_like(project)
    index = make_file(project, "reads.bam.bai", b"BAI\x01", access_level="restricted")
    assert File.objects.get(id=index.id).index_of_id == file.id
    as_bob = client_for(bob)
    assert as_bob.get(f"/api/files/{index.id}/").status_code == 404

    assert as_bob.get(f"/api/files/{file.id}/").json()["index_files"] == []
    track = as_bob.get(f"/api/files/{file.id}/genome-view/").json()["track"]
    assert track["index_url"] is None
    assert _bytes(anon.get(_path(track["url"]))) == b"BAM\x01"
    assert anon.get(_path(track["url"]) + ".bai").status_code == 404

    # Its owner sees it, and so gets it.
    assert api.get(f"/api/files/{file.id}/").json()["index_files"] == [
        {"id": index.id, "name": "reads.bam.bai", "size": 4}
    ]
    mine = api.get(f"/api/files/{file.id}/genome-view/").json()["track"]
    assert mine["index_url"] == mine["url"] + ".bai"
    assert _bytes(anon.get(_path(mine["index_url"]))) == b"BAI\x01"


def test_the_genome_views_links_die_with_the_signers_access(api, anon, client_for, bob, alice):
    """The links act for the user who opened the view: moved into a folder they cannot see, or
    their grant revoked, the file and its index answer 404 like a missing file."""
    from authentication.models import AccessGrant
    from file_upload.tests.factories import make_folder

    project = ProjectFactory(name="Shared", owner=alice, access_level="restricted")
    shared = make_folder(project, "shared")
    hidden = make_folder(project, "hidden")
    grant = AccessGrant.objects.create(
        subject_user=bob, object_type="folder", project=project, folder=shared, permission="view"
    )
    file = bam_like(project)
    file.refresh_from_db()
    assert api.post(f"/api/files/{file.id}/move/", {"folder": shared.id}, format="json").status_code == 200
    make_file(project, "reads.bam.bai", b"BAI\x01", folder=shared)

    track = client_for(bob).get(f"/api/files/{file.id}/genome-view/").json()["track"]
    assert anon.get(_path(track["url"])).status_code == 200
    assert _bytes(anon.get(_path(track["index_url"]))) == b"BAI\x01"

    assert api.post(f"/api/files/{file.id}/move/", {"folder": hidden.id}, format="json").status_code == 200
    assert anon.get(_path(track["url"])).status_code == 404
    assert anon.get(_path(track["index_url"])).status_code == 404

    assert api.post(f"/api/files/{file.id}/move/", {"folder": shared.id}, format="json").status_code == 200
    assert anon.get(_path(track["url"])).status_code == 200
    grant.delete()
    assert anon.get(_path(track["url"])).status_code == 404
    assert anon.get(_path(track["index_url"])).status_code == 404
