from __future__ import annotations

import gzip
import io
import struct

import pytest

from file_upload import services, storage
from file_upload.parsers import registry
from file_upload.tests.factories import ProjectFactory, make_file


def bgzf_block(payload: bytes) -> bytes:
    """One BGZF block (gzip member with the BC extra field), as samtools writes them."""
    import zlib

    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    deflated = compressor.compress(payload) + compressor.flush()
    extra = b"BC" + struct.pack("<HH", 2, len(deflated) + 25)
    header = b"\x1f\x8b\x08\x04" + b"\x00" * 4 + b"\x00\xff" + struct.pack("<H", len(extra)) + extra
    return header + deflated + struct.pack("<II", zlib.crc32(payload), len(payload))


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("r.fastq", b"@r1\nACGT\n+\nIIII\n", "fastq"),
        ("r.fq.gz", gzip.compress(b"@r1\nACGT\n+\nIIII\n"), "fastq"),
        ("g.fa", b">chr1 test\nACGT\n", "fasta"),
        ("v.vcf", b"##fileformat=VCFv4.2\n#CHROM\tPOS\n", "vcf"),
        ("v.vcf.gz", bgzf_block(b"##fileformat=VCFv4.3\n"), "vcf"),
        ("a.sam", b"@HD\tVN:1.6\tSO:coordinate\n", "sam"),
        ("noheader.sam", b"r1\t0\tchr1\t1\t60\t4M\t*\t0\t0\tACGT\tIIII\n", "sam"),
        ("a.bam", bgzf_block(b"BAM\x01" + b"\x00" * 8) + bgzf_block(b""), "bam"),
        ("v.bcf", bgzf_block(b"BCF\x02\x02" + b"\x00" * 8), "bcf"),
        ("x.h5ad", b"\x89HDF\r\n\x1a\n" + b"\x00" * 32, "h5ad"),
        ("x.h5", b"\x89HDF\r\n\x1a\n" + b"\x00" * 32, "hdf5"),
        ("paper.pdf", b"%PDF-1.7\n", "pdf"),
        # The extension is only a hint: content wins.
        ("misnamed.txt", b">seq\nACGT\n", "fasta"),
        ("notes.bed", b"chr1\t1\t100\n", "bed"),
        ("mystery.bin", b"\x00\x01\x02", ""),
    ],
)
def test_detect_format_from_content(tmp_path, name, content, expected):
    path = tmp_path / "blob"
    path.write_bytes(content)
    before = path.read_bytes()
    assert registry.detect_format(path, name) == expected
    assert path.read_bytes() == before  # sniffing never modifies the file


@pytest.mark.django_db
@pytest.mark.usefixtures("storage_backend")
class TestParseFile:
    def test_without_a_parser_the_format_is_set_and_parsing_skipped(self, alice):
        file = make_file(ProjectFactory(name="P", owner=alice), "regions.bed", b"chr1\t1\t100\n")
        parsed = services.parse_file(file.id)
        assert (parsed.file_format, parsed.parse_status, parsed.stats) == ("bed", "skipped", {})

    def test_a_user_given_format_is_kept(self, alice):
        file = make_file(ProjectFactory(name="P", owner=alice), "x.fa", b">a\nAC\n", file_format="fasta-custom")
        assert services.parse_file(file.id).file_format == "fasta-custom"

    def test_registered_parser_fills_stats_or_reports_the_error(self, alice, monkeypatch):
        from file_upload.parsers.base import ParseError

        class CountingParser:
            formats = ("fasta",)

            def parse(self, path):
                data = path.read_bytes()
                if b"!" in data:
                    raise ParseError("line 2: unexpected character '!'\nmore detail")
                return {"sequences": data.count(b">")}

        monkeypatch.setattr(registry, "_PARSERS", {})
        registry.register(CountingParser())
        project = ProjectFactory(name="P", owner=alice)
        good = services.parse_file(make_file(project, "a.fa", b">a\nAC\n>b\nGG\n").id)
        assert (good.parse_status, good.stats) == ("done", {"sequences": 2})
        bad = services.parse_file(make_file(project, "b.fa", b">a\nA!\n").id)
        assert (bad.parse_status, bad.parse_error) == ("failed", "line 2: unexpected character '!'")

    def test_unknown_file_id_is_ignored(self, db):
        assert services.parse_file(123456) is None

    def test_store_file_streams_from_any_reader(self, alice):
        class Trickle(io.RawIOBase):
            def __init__(self):
                self.left = 6 * 1024 * 1024 + 1  # more than a part of the object store

            def readable(self):
                return True

            def read(self, n=-1):
                n = min(self.left, 65536 if n < 0 else n)
                self.left -= n
                return b"A" * n

        project = ProjectFactory(name="P", owner=alice)
        file = services.store_file(project=project, folder=None, name="big.txt", source=Trickle(), owner=alice)
        assert file.size == 6 * 1024 * 1024 + 1 == storage.stat(file.storage_key)[0]
