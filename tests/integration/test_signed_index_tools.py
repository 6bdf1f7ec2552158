"""htslib's own tools on signed links alone, against a real gunicorn: ``samtools view`` of a
region of a BAM (the index the index task built beside it), ``bcftools view -r`` and ``tabix``
on a bgzipped VCF with its ``.tbi``. Each answer equals the same command on the client's own
copy. Runs on both storage backends: the server streams the data and its indexes from the local
disk or from the object store (SeaweedFS), where the BAM index the task built is an object
beside the file's."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from authentication.models import AuditEvent
from file_download import services as downloads
from file_upload import services, storage
from file_upload.tests.factories import ProjectFactory, make_file

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not all(shutil.which(t) for t in ("samtools", "bcftools", "tabix")), reason="htslib tools"),
]
REGION = "chr1:1000-20000"


def _sorted_bam(path: Path) -> Path:
    import pysam

    rng = random.Random(7)
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr1", "LN": 50000}, {"SN": "chr2", "LN": 50000}]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for ref in (0, 1):
            for i, pos in enumerate(sorted(rng.randrange(0, 49000) for _ in range(400))):
                read = pysam.AlignedSegment(out.header)
                read.query_name, read.reference_id, read.reference_start = f"r{ref}_{i}", ref, pos
                read.query_sequence = "".join(rng.choice("ACGT") for _ in range(50))
                read.cigarstring, read.mapping_quality, read.flag = "50M", 60, 0
                read.query_qualities = pysam.qualitystring_to_array("I" * 50)
                out.write(read)
    return path


def _indexed_vcf(directory: Path) -> tuple[Path, Path]:
    import pysam

    lines = ["##fileformat=VCFv4.2", "##contig=<ID=chr1,length=50000>", "##contig=<ID=chr2,length=50000>"]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    for chrom in ("chr1", "chr2"):
        lines += [f"{chrom}\t{pos}\t.\tA\tG\t50\tPASS\t." for pos in range(500, 50000, 700)]
    plain = directory / "calls.vcf"
    plain.write_text("\n".join(lines) + "\n")
    gz = Path(pysam.tabix_index(str(plain), preset="vcf", force=True))
    return gz, Path(str(gz) + ".tbi")


def _signed_url(server, file, user) -> str:
    token, _ = downloads.sign_download(file, user, 3600)
    return f"{server.url}/api/signed/{token}/{quote(file.name, safe='')}"


def _run(*args: str, cwd: Path) -> str:
    done = subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_samtools_bcftools_and_tabix_read_regions_through_signed_links(
    storage_backend, gunicorn, alice, tmp_path, settings
):
    work = tmp_path / "client"
    work.mkdir()  # htslib saves fetched indexes into the working directory
    project = ProjectFactory(name="Tools", owner=alice)

    bam_path = _sorted_bam(tmp_path / "reads.bam")
    bam = make_file(project, "reads.bam", bam_path.read_bytes())
    services.parse_file(bam.id)
    services.index_file(bam.id)  # the index task: <blob>.bai
    bam.refresh_from_db()
    assert bam.stats["index_status"] == "done"

    vcf_gz, tbi = _indexed_vcf(tmp_path)
    vcf = make_file(project, "calls.vcf.gz", vcf_gz.read_bytes())
    storage.put_file(tbi, vcf.storage_key + ".tbi")  # an index beside the blob, as the index task puts one

    bam_url, vcf_url = _signed_url(gunicorn, bam, alice), _signed_url(gunicorn, vcf, alice)
    _run("samtools", "index", str(bam_path), cwd=work)  # the client's own copy, indexed by itself
    local_reads = _run("samtools", "view", str(bam_path), REGION, cwd=work)
    assert local_reads.count("\n") > 50
    assert _run("samtools", "view", bam_url, REGION, cwd=work) == local_reads

    local_calls = _run("bcftools", "view", "-H", "-r", REGION, str(vcf_gz), cwd=work)
    assert local_calls.count("\n") > 10
    assert _run("bcftools", "view", "-H", "-r", REGION, vcf_url, cwd=work) == local_calls
    assert _run("tabix", vcf_url, REGION, cwd=work) == local_calls

    if storage_backend == "s3":  # served from the store: no byte of them on the node's disk
        assert [p for p in Path(settings.FILES_DIR).rglob("*") if p.is_file()] == []
        assert storage.exists(bam.storage_key + ".bai")

    # The reads of data were audited as downloads of each data file, through its signed link.
    audited = AuditEvent.objects.filter(action="file.download")
    assert {(e.object_id, e.details["via"]) for e in audited} == {
        (str(bam.id), "signed_url"),
        (str(vcf.id), "signed_url"),
    }
