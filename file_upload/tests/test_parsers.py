"""Every parser against the reference tool on the same file: generated edge cases and the
third-party corpus in ``tests/data/realworld`` (see its README for provenance)."""

from __future__ import annotations

import gzip
import random
import subprocess
from collections import Counter
from pathlib import Path

import pysam
import pytest

from file_upload.parsers import fastq, registry
from file_upload.parsers.bam import AlignmentParser
from file_upload.parsers.base import ParseError
from file_upload.parsers.fasta import FastaParser
from file_upload.parsers.fastq import FastqParser
from file_upload.parsers.h5ad import H5adParser
from file_upload.parsers.vcf import VariantParser

from .tools import bcftools_lines, bcftools_stats, flagstat, idxstats, requires_tools, seqkit_stats

REALWORLD = Path(__file__).resolve().parents[2] / "tests" / "data" / "realworld"
pytestmark = requires_tools


def bgzip(path: Path) -> Path:
    out = Path(str(path) + ".bgz")
    pysam.tabix_compress(str(path), str(out), force=True)
    return out


def gz(path: Path) -> Path:
    out = Path(str(path) + ".gz")
    out.write_bytes(gzip.compress(path.read_bytes()))
    return out


# --- FASTQ ---------------------------------------------------------------------------------


def make_fastq(
    path: Path,
    n: int,
    *,
    lengths: tuple[int, int] = (100, 100),
    lower: bool = False,
    n_rate: float = 0.01,
    crlf: bool = False,
    qual_range: tuple[int, int] = (33, 74),
    seed: int = 1,
    title_on_plus: bool = False,
) -> Path:
    rng = random.Random(seed)
    eol = "\r\n" if crlf else "\n"
    out = []
    for i in range(n):
        length = rng.randint(*lengths)
        seq = "".join(rng.choice("ACGT") if rng.random() > n_rate else "N" for _ in range(length))
        if lower:
            seq = "".join(c.lower() if rng.random() < 0.3 else c for c in seq)
        qual = "".join(chr(rng.randint(*qual_range)) for _ in range(length))
        title = f"A00123:8:H2ABCDSXY:1:1101:{i}:1000 1:N:0:ACGT"
        out.append(f"@{title}{eol}{seq}{eol}+{title if title_on_plus else ''}{eol}{qual}{eol}")
    path.write_text("".join(out))
    return path


def assert_fastq_matches_seqkit(path: Path) -> dict:
    ours = FastqParser().parse(path)
    ref = seqkit_stats(path, ours["quality_encoding"])
    assert ours["reads"] == ref["num_seqs"]
    assert ours["bases"] == ref["sum_len"]
    if ours["reads"]:
        assert ours["min_length"] == ref["min_len"]
        assert ours["max_length"] == ref["max_len"]
        assert abs(ours["mean_length"] - ref["avg_len"]) <= 0.05
        assert abs(ours["gc_percent"] - ref["GC(%)"]) <= 0.01
        assert abs(ours["q20_percent"] - ref["Q20(%)"]) <= 0.01
        assert abs(ours["q30_percent"] - ref["Q30(%)"]) <= 0.01
    assert sum(b["count"] for b in ours["length_histogram"]) == ours["reads"]
    assert len(ours["gc_content_histogram"]) == 101
    return ours


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"lengths": (30, 151)},
        {"lower": True, "n_rate": 0.2},
        {"crlf": True},
        {"title_on_plus": True},
        {"lengths": (5000, 20000)},  # long lines
        {"qual_range": (64, 104)},  # phred+64
    ],
    ids=["uniform", "variable", "lowercase-ns", "crlf", "title-on-plus", "long-reads", "phred64"],
)
def test_fastq_matches_seqkit(tmp_path, options):
    n = 40 if options.get("lengths", (0, 0))[0] > 1000 else 700
    path = make_fastq(tmp_path / "r.fastq", n, **options)
    ours = assert_fastq_matches_seqkit(path)
    assert_fastq_matches_seqkit(gz(path))
    assert_fastq_matches_seqkit(bgzip(path))
    if options.get("qual_range") == (64, 104):
        assert ours["quality_encoding"] == "phred+64"


def test_fastq_quality_and_position_figures(tmp_path):
    path = tmp_path / "q.fastq"
    path.write_text("@a\nACGTN\n+\n!!5?I\n@b\nGG\n+\nII\n")
    stats = FastqParser().parse(path)
    assert stats["mean_quality"] == round((0 + 0 + 20 + 30 + 40 + 40 + 40) / 7, 4)
    assert stats["per_position_mean_quality"] == [20.0, 20.0, 20.0, 30.0, 40.0]
    assert stats["n_percent"] == round(100 / 7, 4)
    assert stats["length_histogram"] == [{"start": 2, "end": 2, "count": 1}, {"start": 5, "end": 5, "count": 1}]
    assert stats["gc_content_histogram"][40] == 1 and stats["gc_content_histogram"][100] == 1


@pytest.mark.parametrize(
    "options",
    [{}, {"lengths": (20, 90)}, {"lengths": (30, 60), "crlf": True}, {"qual_range": (64, 104)}],
    ids=["uniform", "variable", "crlf", "phred64"],
)
def test_fastq_quality_percentiles_per_position_are_exact(tmp_path, options):
    """Each position's box (10th, 25th, 50th, 75th, 90th percentile) equals numpy's nearest-rank
    percentiles of the qualities read at that position, and the mean line equals their mean."""
    import numpy as np

    path = make_fastq(tmp_path / "r.fastq", 300, seed=5, **options)
    stats = FastqParser().parse(path)
    offset = 64 if stats["quality_encoding"] == "phred+64" else 33
    lines = path.read_bytes().replace(b"\r", b"").split(b"\n")
    columns: dict[int, list[int]] = {}
    for qual in lines[3::4]:
        for pos, byte in enumerate(qual):
            columns.setdefault(pos, []).append(byte - offset)
    boxes = stats["per_position_quality"]
    assert len(boxes["median"]) == len(columns) == len(stats["per_position_mean_quality"])
    for key, pct in {"p10": 10, "q1": 25, "median": 50, "q3": 75, "p90": 90}.items():
        expected = [int(np.percentile(columns[p], pct, method="inverted_cdf")) for p in sorted(columns)]
        assert boxes[key] == expected, key
    means = [sum(columns[p]) / len(columns[p]) for p in sorted(columns)]
    assert stats["per_position_mean_quality"] == pytest.approx(means, abs=0.006)
    # The careful reader (wrapped or damaged files) counts the same boxes.
    assert fastq._read_careful(path)[0].result()["per_position_quality"] == boxes


def test_fastq_many_lengths_are_binned(tmp_path):
    path = make_fastq(tmp_path / "r.fastq", 400, lengths=(1, 400))
    bins = FastqParser().parse(path)["length_histogram"]
    assert len(bins) <= 50
    assert sum(b["count"] for b in bins) == 400
    assert all(b["start"] <= b["end"] for b in bins)


def test_fastq_empty(tmp_path):
    path = tmp_path / "e.fastq"
    path.write_bytes(b"")
    stats = assert_fastq_matches_seqkit(path)
    assert (stats["reads"], stats["bases"], stats["quality_encoding"]) == (0, 0, None)
    path.write_bytes(b"\n\n")  # seqkit counts one empty record here; there is none
    assert FastqParser().parse(path)["reads"] == 0


def test_fastq_one_record(tmp_path):
    path = tmp_path / "one.fastq"
    path.write_text("@r1\nACGT\n+\nIIII\n")
    assert assert_fastq_matches_seqkit(path)["reads"] == 1


VALID_FASTQ = sorted(
    p.name for p in (REALWORLD / "fastq").iterdir() if not p.name.startswith("error_") and "solexa" not in p.name
)
# Solexa files use offset 64 with negative scores: seqkit's illumina-1.3+ reading is compared.
SOLEXA_FASTQ = sorted(p.name for p in (REALWORLD / "fastq").iterdir() if "solexa" in p.name)
# The README's "N valid records come before it": the error names record N + 1.
ERROR_FASTQ = {
    "error_diff_ids.fastq": 3,
    "error_double_qual.fastq": 3,
    "error_double_seq.fastq": 4,
    "error_long_qual.fastq": 4,
    "error_no_qual.fastq": 1,
    "error_qual_del.fastq": 4,
    "error_qual_escape.fastq": 5,
    "error_qual_null.fastq": 1,
    "error_qual_space.fastq": 4,
    "error_qual_tab.fastq": 5,
    "error_qual_unit_sep.fastq": 3,
    "error_qual_vtab.fastq": 1,
    "error_short_qual.fastq": 3,
    "error_spaces.fastq": 1,
    "error_tabs.fastq": 1,
    "error_trunc_at_plus.fastq": 5,
    "error_trunc_at_qual.fastq": 5,
    "error_trunc_at_seq.fastq": 5,
    "error_trunc_in_plus.fastq": 5,
    "error_trunc_in_qual.fastq": 5,
    "error_trunc_in_seq.fastq": 5,
    "error_trunc_in_title.fastq": 5,
}


@pytest.mark.parametrize("name", VALID_FASTQ + SOLEXA_FASTQ)
def test_realworld_fastq(name):
    path = REALWORLD / "fastq" / name
    assert registry.detect_format(path, name) == "fastq"
    assert_fastq_matches_seqkit(path)


def test_every_error_fastq_is_listed():
    assert set(ERROR_FASTQ) == {p.name for p in (REALWORLD / "fastq").glob("error_*")}


@pytest.mark.parametrize("name, record", sorted(ERROR_FASTQ.items()))
def test_realworld_error_fastq(name, record):
    with pytest.raises(ParseError) as caught:
        FastqParser().parse(REALWORLD / "fastq" / name)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"record {record} (line "), message


# --- FASTA ---------------------------------------------------------------------------------


def make_fasta(path: Path, n: int, *, wrap: int | None = 60, lower: bool = False, crlf: bool = False, seed=2):
    rng = random.Random(seed)
    eol = "\r\n" if crlf else "\n"
    chunks = []
    for i in range(n):
        length = rng.choice([0, 1, rng.randint(2, 300), rng.randint(1000, 5000)])
        seq = "".join(rng.choice("ACGTNNacgtn" if lower else "ACGTN") for _ in range(length))
        lines = [seq[j : j + wrap] for j in range(0, len(seq), wrap)] if wrap else [seq]
        chunks.append(f">seq{i} description{eol}" + "".join(line + eol for line in lines if line))
    path.write_text("".join(chunks))
    return path


def assert_fasta_matches_seqkit(path: Path) -> dict:
    ours = FastaParser().parse(path)
    ref = seqkit_stats(path)
    assert ours["sequences"] == ref["num_seqs"]
    assert ours["total_length"] == ref["sum_len"]
    assert ours["min_length"] == ref["min_len"]
    assert ours["max_length"] == ref["max_len"]
    assert ours["n50"] == ref["N50"]
    assert abs(ours["mean_length"] - ref["avg_len"]) <= 0.05
    assert abs(ours["gc_percent"] - ref["GC(%)"]) <= 0.01
    assert sum(b["count"] for b in ours["length_histogram"]) == ours["sequences"]
    return ours


@pytest.mark.parametrize(
    "options",
    [{}, {"wrap": None}, {"lower": True}, {"crlf": True}, {"wrap": 7}],
    ids=["wrapped", "one-line", "lowercase", "crlf", "narrow"],
)
def test_fasta_matches_seqkit(tmp_path, options):
    path = make_fasta(tmp_path / "g.fa", 120, **options)
    ours = assert_fasta_matches_seqkit(path)
    text = path.read_text().replace("\r", "")
    seq = "".join(line for line in text.splitlines() if not line.startswith(">"))
    assert ours["n_count"] == seq.upper().count("N")
    assert_fasta_matches_seqkit(gz(path))
    assert_fasta_matches_seqkit(bgzip(path))


def test_fasta_blocks_split_anywhere(tmp_path, monkeypatch):
    from file_upload.parsers import fasta

    path = make_fasta(tmp_path / "g.fa", 60, wrap=50)
    expected = FastaParser().parse(path)
    monkeypatch.setattr(fasta, "BLOCK_SIZE", 97)  # headers and lines straddle blocks
    assert FastaParser().parse(path) == expected


def test_fastq_blocks_split_anywhere(tmp_path, monkeypatch):
    from file_upload.parsers import fastq

    path = make_fastq(tmp_path / "r.fastq", 300, lengths=(20, 90))
    expected = FastqParser().parse(path)
    monkeypatch.setattr(fastq, "BLOCK_SIZE", 331)
    assert FastqParser().parse(path) == expected


def test_fasta_empty_and_single(tmp_path):
    empty = tmp_path / "e.fa"
    empty.write_bytes(b"")
    assert assert_fasta_matches_seqkit(empty)["sequences"] == 0
    one = tmp_path / "one.fa"
    one.write_bytes(b">x\nACGTNNNNgc")  # no final newline
    stats = assert_fasta_matches_seqkit(one)
    assert (stats["sequences"], stats["n_count"]) == (1, 4)


# faidx.fa: seqkit reads the empty header ">" with the next line as its name; htslib's faidx
# (and we) read "ATGC" as the 4-base sequence of an unnamed record. Compared with faidx there.
# aster_blast.pro / aster_pearson.pro have text before the first '>': seqkit rejects them too.
SEQKIT_FASTA = ["aster.pro", "dups.fasta", "f001", "f002", "fa01", "fasta_34.fa", "sequence.fa"]


@pytest.mark.parametrize("name", SEQKIT_FASTA)
def test_realworld_fasta(name):
    assert_fasta_matches_seqkit(REALWORLD / "fasta" / name)


def test_realworld_fasta_faidx_edge_cases(tmp_path):
    source = tmp_path / "faidx.fa"
    source.write_bytes((REALWORLD / "fasta" / "faidx.fa").read_bytes())
    subprocess.run(["samtools", "faidx", str(source)], check=True)
    lengths = [int(line.split("\t")[1]) for line in Path(str(source) + ".fai").read_text().splitlines()]
    stats = FastaParser().parse(source)
    assert (stats["sequences"], stats["total_length"]) == (len(lengths), sum(lengths))
    assert (stats["min_length"], stats["max_length"]) == (min(lengths), max(lengths))


@pytest.mark.parametrize("name", ["aster_blast.pro", "aster_pearson.pro"])
def test_realworld_fasta_with_leading_text_fails(name):
    with pytest.raises(ParseError, match=r"^line 1: text before the first '>' header$"):
        FastaParser().parse(REALWORLD / "fasta" / name)


# --- VCF / BCF -----------------------------------------------------------------------------


def make_vcf(path: Path, n: int = 600, samples: int = 3, seed: int = 3) -> Path:
    rng = random.Random(seed)
    lines = ["##fileformat=VCFv4.2"]
    contigs = ["chr1", "chr2", "chrM"]
    lines += [f"##contig=<ID={c},length=100000000>" for c in contigs]
    lines += [
        '##FILTER=<ID=LowQual,Description="low">',
        '##ALT=<ID=DEL,Description="deletion">',
        '##INFO=<ID=END,Number=1,Type=Integer,Description="end">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(f"S{i}" for i in range(samples)),
    ]
    alts = [
        ("A", "G"), ("C", "T"), ("A", "C"), ("G", "T"), ("a", "g"), ("A", "G,T"), ("C", "A,G,T"),
        ("A", "AT"), ("AT", "A"), ("ACG", "A,ACGT"), ("AC", "GT"), ("ACG", "TCA"), ("A", "<DEL>"),
        ("A", "."), ("A", "*"), ("A", "G,*"), ("N", "A"), ("AC", "AG"), ("ACGT", "TTT"), ("A", "G,AT"),
        ("T", "]chr2:100]T"), ("G", "G[chr1:5["), ("C", "C,T"), ("T", "<*>"), ("G", "X"),
    ]  # fmt: skip
    pos = {c: 0 for c in contigs}
    for _ in range(n):
        chrom = rng.choice(contigs)
        pos[chrom] += rng.randint(1, 50)
        ref, alt = rng.choice(alts)
        flt = rng.choice(["PASS", "PASS", "LowQual", "."])
        gts = "\t".join(rng.choice(["0/0", "0/1", "1/1", "./.", "1|2"]) for _ in range(samples))
        lines.append(f"{chrom}\t{pos[chrom]}\t.\t{ref}\t{alt}\t50\t{flt}\t.\tGT\t{gts}")
    # sorted by contig then position, as bcftools expects for the BCF conversion
    header = [line for line in lines if line.startswith("#")]
    body = sorted(
        (line for line in lines if not line.startswith("#")),
        key=lambda x: (contigs.index(x.split("\t")[0]), int(x.split("\t")[1])),
    )
    path.write_text("\n".join(header + body) + "\n")
    return path


def assert_vcf_matches_bcftools(path: Path, reference: Path | None = None) -> dict:
    ours = VariantParser().parse(path)
    ref = bcftools_stats(path)
    assert ours["records"] == ref["number of records"]
    assert len(ours["samples"]) == ref["number of samples"]
    assert ours["snps"] == ref["number of SNPs"]
    assert ours["mnps"] == ref["number of MNPs"]
    assert ours["indels"] == ref["number of indels"]
    assert ours["others"] == ref["number of others"]
    assert ours["multiallelic"] == ref["number of multiallelic sites"]
    assert ours["no_alts"] == ref["number of no-ALTs"]
    assert (ours["transitions"], ours["transversions"]) == (ref["ts"], ref["tv"])
    if ref["tv"]:
        assert abs(ours["ts_tv"] - ref["ts"] / ref["tv"]) < 0.0001
    chroms = Counter(bcftools_lines(path, "query", "-f", "%CHROM\\n"))
    assert ours["contigs"] == dict(chroms)
    assert ours["pass"] == bcftools_lines(path, "query", "-f", "%FILTER\\n").count("PASS")
    assert ours["samples"] == bcftools_lines(path, "query", "-l")
    return ours


def test_vcf_matches_bcftools(tmp_path):
    path = make_vcf(tmp_path / "v.vcf")
    ours = assert_vcf_matches_bcftools(path)
    assert ours["multiallelic"] > 0 and ours["indels"] > 0 and ours["mnps"] > 0 and ours["others"] > 0
    assert assert_vcf_matches_bcftools(bgzip(path)) == ours
    bcf = tmp_path / "v.bcf"
    subprocess.run(["bcftools", "view", "-Ob", "-o", str(bcf), str(path)], check=True)
    assert registry.detect_format(bcf, "v.bcf") == "bcf"
    assert assert_vcf_matches_bcftools(bcf) == ours


def test_vcf_crlf_and_sites_only(tmp_path):
    path = make_vcf(tmp_path / "v.vcf", samples=0)
    text = path.read_text().replace("\tFORMAT\t\n", "\n")
    lines = [line.rsplit("\tGT", 1)[0] if not line.startswith("#") else line for line in text.splitlines()]
    path.write_text("\n".join(lines) + "\n")
    ours = assert_vcf_matches_bcftools(path)
    crlf = tmp_path / "crlf.vcf"
    crlf.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert VariantParser().parse(crlf) == ours


def test_vcf_blocks_split_anywhere(tmp_path, monkeypatch):
    from file_upload.parsers import vcf

    path = make_vcf(tmp_path / "v.vcf")
    expected = VariantParser().parse(path)
    monkeypatch.setattr(vcf, "BLOCK_SIZE", 211)
    assert VariantParser().parse(path) == expected


@pytest.mark.parametrize("name", sorted(p.name for p in (REALWORLD / "vcf").iterdir()))
def test_realworld_vcf(name):
    path = REALWORLD / "vcf" / name
    assert registry.detect_format(path, name) == "vcf"
    assert_vcf_matches_bcftools(path)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"chr1\t5\t.\tA\tG\t50\tPASS\t.\n", r"^line 1: not a VCF file"),
        (b"##fileformat=VCFv4.2\nchr1\t5\t.\tA\tG\t50\tPASS\t.\n", r"^line 2: record before the '#CHROM'"),
        (b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t5\t.\tA\n", r"^line 3: "),
    ],
    ids=["no-header", "no-chrom-line", "short-record"],
)
def test_vcf_malformed(tmp_path, content, message):
    path = tmp_path / "bad.vcf"
    path.write_bytes(content)
    with pytest.raises(ParseError, match=message):
        VariantParser().parse(path)


# --- SAM / BAM -----------------------------------------------------------------------------


def make_bam(path: Path, n_pairs: int = 400, seed: int = 4, sort: bool = True) -> Path:
    rng = random.Random(seed)
    header = {
        "HD": {"VN": "1.6", "SO": "unsorted"},
        "SQ": [{"SN": "chr1", "LN": 248956422}, {"SN": "chr2", "LN": 100000}],
        "RG": [{"ID": "rg1", "SM": "s1", "PL": "ILLUMINA"}],
        "PG": [{"ID": "test", "PN": "pytest"}],
    }
    raw = path.with_suffix(".unsorted.bam")
    with pysam.AlignmentFile(str(raw), "wb", header=header) as out:
        for i in range(n_pairs):
            ref = rng.choice([0, 1])
            pos = rng.randint(0, 90000)
            unmapped = rng.random() < 0.08
            mate_unmapped = rng.random() < 0.05
            dup = rng.random() < 0.1
            qcfail = rng.random() < 0.03
            for mate in (1, 2):
                read = pysam.AlignedSegment(out.header)
                read.query_name = f"pair{i}"
                read.query_sequence = "".join(rng.choice("ACGT") for _ in range(50))
                read.query_qualities = pysam.qualitystring_to_array("I" * 50)
                me_unmapped = unmapped if mate == 1 else mate_unmapped
                other_unmapped = mate_unmapped if mate == 1 else unmapped
                flag = 1 | (64 if mate == 1 else 128)
                flag |= 4 if me_unmapped else 0
                flag |= 8 if other_unmapped else 0
                flag |= 2 if not (me_unmapped or other_unmapped) and rng.random() < 0.9 else 0
                flag |= 1024 if dup else 0
                flag |= 512 if qcfail else 0
                read.flag = flag
                read.reference_id = ref
                read.reference_start = pos + (mate - 1) * 100
                read.mapping_quality = 0 if me_unmapped else 60
                read.cigarstring = None if me_unmapped else "50M"
                read.next_reference_id = ref
                read.next_reference_start = pos + (2 - mate) * 100
                out.write(read)
            if rng.random() < 0.1:  # secondary and supplementary alignments
                extra = pysam.AlignedSegment(out.header)
                extra.query_name = f"pair{i}"
                extra.query_sequence = "ACGT" * 5
                extra.flag = rng.choice([256 | 1 | 64, 2048 | 1 | 64 | 2])
                extra.reference_id = 1 - ref
                extra.reference_start = rng.randint(0, 90000)
                extra.mapping_quality = 10
                extra.cigarstring = "20M"
                out.write(extra)
        read = pysam.AlignedSegment(out.header)  # an unplaced unmapped single read
        read.query_name = "lonely"
        read.query_sequence = "ACGT"
        read.flag = 4
        out.write(read)
    if not sort:
        return raw
    pysam.sort("-o", str(path), str(raw))
    raw.unlink()
    return path


def assert_bam_matches_samtools(path: Path) -> dict:
    ours = AlignmentParser().parse(path)
    ref = flagstat(path)
    assert ours["reads"] == ref["total"]
    assert ours["mapped"] == ref["mapped"]
    assert ours["unmapped"] == ref["total"] - ref["mapped"]
    assert ours["paired"] == ref["paired in sequencing"]
    assert ours["properly_paired"] == ref["properly paired"]
    assert ours["duplicates"] == ref["duplicates"]
    assert ours["secondary"] == ref["secondary"]
    assert ours["supplementary"] == ref["supplementary"]
    return ours


def test_sorted_bam_parse_matches_samtools_and_leaves_the_index_pending(tmp_path):
    path = make_bam(tmp_path / "a.bam")
    ours = assert_bam_matches_samtools(path)
    assert ours["duplicates"] and ours["secondary"] and ours["supplementary"] and ours["unmapped"]
    assert (ours["sort_order"], ours["indexed"], ours["index_status"]) == ("coordinate", False, "pending")
    assert not Path(str(path) + ".bai").exists()  # the index is the follow-up task's work
    assert ours["references"] == [{"name": "chr1", "length": 248956422}, {"name": "chr2", "length": 100000}]
    assert "unplaced_unmapped" not in ours
    assert ours["header"]["RG"] == [{"ID": "rg1", "SM": "s1", "PL": "ILLUMINA"}]


def test_index_builds_the_bai_and_matches_idxstats(tmp_path):
    path = make_bam(tmp_path / "a.bam")
    parsed = AlignmentParser().parse(path)
    update = AlignmentParser().index(path, parsed)
    assert Path(str(path) + ".bai").exists()
    assert not list(tmp_path.glob("*.tmp"))
    assert (update["indexed"], update["index_status"]) == (True, "done")
    per_ref = idxstats(path)  # samtools reads the index we built
    assert [r["name"] for r in update["references"]] == ["chr1", "chr2"]
    for ref in update["references"]:
        assert (ref["length"], ref["mapped"], ref["unmapped"]) == per_ref[ref["name"]]
    assert update["unplaced_unmapped"] == per_ref["*"][2]
    assert sum(r["mapped"] for r in update["references"]) == parsed["mapped"]
    # An index that exists is read, not built again.
    before = Path(str(path) + ".bai").stat().st_mtime_ns
    assert AlignmentParser().index(path, parsed) == update
    assert Path(str(path) + ".bai").stat().st_mtime_ns == before


def make_missorted_bam(path: Path) -> Path:
    """Says ``SO:coordinate`` but its records go backwards: htslib refuses to index it."""
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr1", "LN": 100000}]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i, pos in enumerate((5000, 3000, 1000)):
            read = pysam.AlignedSegment(out.header)
            read.query_name, read.query_sequence, read.flag = f"r{i}", "ACGT" * 5, 0
            read.reference_id, read.reference_start, read.mapping_quality, read.cigarstring = 0, pos, 60, "20M"
            out.write(read)
    return path


def test_index_of_a_missorted_bam_fails_cleanly(tmp_path):
    path = make_missorted_bam(tmp_path / "m.bam")
    parsed = assert_bam_matches_samtools(path)
    assert parsed["index_status"] == "pending"
    with pytest.raises(ParseError, match="no index could be built") as info:
        AlignmentParser().index(path, parsed)
    assert "\n" not in str(info.value)
    assert not Path(str(path) + ".bai").exists()
    assert not list(tmp_path.glob("*.tmp"))


def test_unsorted_bam_and_sam(tmp_path):
    path = make_bam(tmp_path / "u.bam", sort=False)
    ours = assert_bam_matches_samtools(path)
    assert (ours["sort_order"], ours["indexed"]) == ("unsorted", False)
    assert "index_status" not in ours  # nothing to build for an unsorted file
    assert not Path(str(path) + ".bai").exists()
    sam = tmp_path / "u.sam"
    subprocess.run(["samtools", "view", "-h", "-o", str(sam), str(path)], check=True)
    assert registry.detect_format(sam, "u.sam") == "sam"
    as_sam = assert_bam_matches_samtools(sam)
    assert as_sam["format"] == "sam"
    skip = ("format", "header")
    assert {k: v for k, v in as_sam.items() if k not in skip} == {k: v for k, v in ours.items() if k not in skip}


def test_bam_budget_counts_a_prefix(tmp_path):
    from file_upload.parsers.base import Budget, budget_scope

    path = make_bam(tmp_path / "a.bam", n_pairs=3000)
    with budget_scope(Budget(max_bytes=path.stat().st_size // 3)):
        stats = AlignmentParser().parse(path)
    assert stats["truncated"] is True
    assert "index_status" not in stats  # past the budget no index is built either
    assert 0 < stats["reads"] < flagstat(path)["total"]
    assert 0 < stats["bytes_covered"] < path.stat().st_size


@pytest.mark.parametrize("name", sorted(p.name for p in (REALWORLD / "sam").iterdir()))
def test_realworld_sam(tmp_path, name):
    source = REALWORLD / "sam" / name
    assert registry.detect_format(source, name) == "sam"
    assert_bam_matches_samtools(source)
    if name.startswith("8_"):
        return  # 64-bit positions cannot be stored as BAM
    bam = tmp_path / "x.bam"
    subprocess.run(["samtools", "view", "-b", "-o", str(bam), str(source)], check=True)
    assert registry.detect_format(bam, "x.bam") == "bam"
    assert_bam_matches_samtools(bam)


def test_bam_cut_mid_record_fails(tmp_path):
    path = make_bam(tmp_path / "a.bam", n_pairs=2000, sort=False)
    cut = tmp_path / "cut.bam"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ParseError):
        AlignmentParser().parse(cut)


# --- h5ad ----------------------------------------------------------------------------------


def make_h5ad(path: Path) -> Path:
    import anndata
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp

    obs = pd.DataFrame(
        {
            "organism": pd.Categorical(["Homo sapiens"] * 30),
            "organism_ontology_term_id": pd.Categorical(["NCBITaxon:9606"] * 30),
            "cell_type": pd.Categorical(["T cell", "B cell"] * 15),
            "n_genes": np.arange(30),
        },
        index=[f"cell{i}" for i in range(30)],
    )
    var = pd.DataFrame({"symbol": [f"G{i}" for i in range(12)]}, index=[f"ENSG{i}" for i in range(12)])
    adata = anndata.AnnData(X=sp.random(30, 12, density=0.2, format="csr", dtype=np.float32), obs=obs, var=var)
    adata.obsm["X_umap"] = np.zeros((30, 2))
    adata.obsm["X_pca"] = np.zeros((30, 5))
    adata.layers["counts"] = adata.X.copy()
    adata.uns["title"] = "test"
    adata.write_h5ad(path)
    return path


def test_h5ad_summary(tmp_path):
    path = make_h5ad(tmp_path / "a.h5ad")
    assert registry.detect_format(path, "a.h5ad") == "h5ad"
    stats = H5adParser().parse(path)
    hints = stats.pop("_hints")
    assert stats == {
        "n_obs": 30,
        "n_vars": 12,
        "obs_columns": ["organism", "organism_ontology_term_id", "cell_type", "n_genes"],
        "var_columns": ["symbol"],
        "obsm_keys": ["X_pca", "X_umap"],
        "layers": ["counts"],
        "uns_keys": ["title"],
    }
    assert hints["organism_ontology_term_id"] == ["NCBITaxon:9606"]


def test_h5ad_not_hdf5(tmp_path):
    path = tmp_path / "x.h5ad"
    path.write_bytes(b"this is not HDF5 at all\n")
    with pytest.raises(ParseError, match="not an HDF5"):
        H5adParser().parse(path)
