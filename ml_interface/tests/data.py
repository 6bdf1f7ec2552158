"""Test inputs with known properties, made on the fly: FASTQ, BAM and VCF files, clean and with
the defects QC must flag, and a PubMed-style abstract."""

from __future__ import annotations

import random
from pathlib import Path

GRCH38_CHR1 = 248956422


def fastq(reads: int = 200, length: int = 100, *, defects: bool = False, seed: int = 1) -> bytes:
    """Clean: Q40 early cycles easing to Q35, no Ns, one read length. With ``defects``: the quality
    collapses along the read (Q38 → Q5), 8 % of bases are N and read lengths vary 40–100."""
    rng = random.Random(seed)
    lines = []
    for i in range(reads):
        n = length if not defects else rng.randint(40, length)
        seq = "".join(rng.choice("ACGT") for _ in range(n))
        if defects:
            seq = "".join("N" if rng.random() < 0.08 else base for base in seq)
            qual = "".join(chr(33 + max(2, int(38 - 33 * pos / length))) for pos in range(n))
        else:
            qual = "".join(chr(33 + (40 if pos < length // 2 else 35)) for pos in range(n))
        lines += [f"@A00123:8:HFWTLDSXY:1:1101:{1000 + i}:1000 1:N:0:ACGT", seq, "+", qual]
    return ("\n".join(lines) + "\n").encode()


def bam(path: Path, *, reads: int = 100, unmapped: int = 40, duplicates: int = 30, improper: int = 50) -> bytes:
    """A coordinate-sorted paired BAM on GRCh38's chr1: ``unmapped`` of the reads unmapped,
    ``duplicates`` flagged duplicate, ``improper`` not properly paired."""
    import pysam

    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr1", "LN": GRCH38_CHR1}]}
    unsorted = path.with_suffix(".unsorted.bam")
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:
        for i in range(reads):
            read = pysam.AlignedSegment(out.header)
            read.query_name = f"read{i // 2}"
            read.query_sequence = "ACGT" * 25
            read.query_qualities = pysam.qualitystring_to_array("I" * 100)
            flag = 0x1 | (0x40 if i % 2 == 0 else 0x80)
            if i < unmapped:
                flag |= 0x4
                read.reference_id = 0
                read.reference_start = 1000 + i
            else:
                read.reference_id = 0
                read.reference_start = 1000 + i
                read.cigarstring = "100M"
                read.mapping_quality = 60
                if i >= improper:
                    flag |= 0x2
            if reads - duplicates <= i:
                flag |= 0x400
            read.flag = flag
            out.write(read)
    pysam.sort("-o", str(path), str(unsorted))
    unsorted.unlink()
    return path.read_bytes()


def vcf(*, defects: bool = False, records: int = 60, seed: int = 3) -> bytes:
    """Two samples on chr1. Clean: Ts/Tv 2.0, all PASS, no missing genotypes, het/hom ≈ 1.5. With
    ``defects``: Ts/Tv 0.5, 40 % of records PASS, a quarter of the genotypes missing and nearly
    all calls het."""
    rng = random.Random(seed)
    transitions = {"A": "G", "G": "A", "C": "T", "T": "C"}
    transversions = {"A": "C", "G": "T", "C": "G", "T": "A"}
    lines = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID=chr1,length={GRCH38_CHR1}>",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=LowQual,Description="Low quality">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2",
    ]
    for i in range(records):
        ref = "ACGT"[i % 4]
        ts_share = 1 / 3 if defects else 2 / 3
        alt = transitions[ref] if (i % 3) < round(ts_share * 3) else transversions[ref]
        passed = (i % 5) < 2 if defects else True
        genotypes = []
        for _ in range(2):
            if defects:
                genotypes.append("./." if rng.random() < 0.25 else ("0/1" if rng.random() < 0.95 else "1/1"))
            else:
                genotypes.append("0/1" if rng.random() < 0.6 else "1/1")
        lines.append(
            f"chr1\t{1000 + i * 10}\t.\t{ref}\t{alt}\t50\t{'PASS' if passed else 'LowQual'}\t.\tGT\t"
            + "\t".join(genotypes)
        )
    return ("\n".join(lines) + "\n").encode()


ABSTRACT = """Single-cell RNA sequencing has transformed the study of cellular heterogeneity in
complex tissues. However, the analysis of large single-cell datasets remains computationally
demanding, and many existing tools do not scale to millions of cells. Here we present a scalable
toolkit for single-cell gene expression analysis that implements preprocessing, visualization,
clustering, trajectory inference and differential expression testing. The toolkit processes a
dataset of 1.3 million cells in under an hour on a standard workstation. We benchmark the
clustering and trajectory inference against established methods and show comparable accuracy at
a fraction of the runtime. The weather on the day of the benchmark was sunny. Our toolkit
integrates with the broader Python ecosystem for machine learning and is freely available under
an open-source license.
"""
