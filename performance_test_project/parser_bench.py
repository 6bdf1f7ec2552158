"""Parser throughput against the reference tools, on files generated into a temporary directory.

    .venv/bin/python performance_test_project/parser_bench.py [--quick] [--json out.json]

Generates a 1 GiB FASTQ and a 500 MB FASTA (compared with ``seqkit stats -a -j 1``), a
1M-record VCF (``bcftools stats``) and a 1.5M-read coordinate-sorted BAM without an index: the
parse (header, references, flag counts) against ``samtools flagstat``, and the follow-up index
task (``AlignmentParser.index``: builds the ``.bai``, reads idxstats) against ``samtools index``
plus ``samtools idxstats``. Each parser runs in a child process that reports its wall time and
peak RSS; the tool runs in the same session.
Targets: ratio (tool time / our time) ≥ 0.5 and peak RSS < 256 MB. ``--quick`` uses ~1/16 sizes,
``--only bam`` runs one format, ``--rounds N`` times each side N times, alternating, and keeps
the best of each.
Everything generated is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

# The child imports what a long-lived worker has already imported, then times one parse. Peak
# RSS is VmHWM (ru_maxrss would include the parent's memory inherited through fork).
CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
import numpy, pysam, pysam.bcftools, isal.igzip
from file_upload.parsers.{module} import {cls}
parser = {cls}()
path = Path({path!r})
if {index!r}:  # the follow-up index task: what it gets from the parse is the references
    with pysam.AlignmentFile(str(path)) as aln:
        refs = [{{"name": n, "length": l}} for n, l in zip(aln.references, aln.lengths)]
    parsed = {{"format": "bam", "references": refs}}
start = time.perf_counter()
stats = parser.index(path, parsed) if {index!r} else parser.parse(path)
seconds = time.perf_counter() - start
stats.pop("_hints", None)
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
kept = {{k: v for k, v in stats.items() if k == "references" or not isinstance(v, (list, dict))}}
print(json.dumps({{"seconds": seconds, "rss_mb": int(hwm.split()[1]) / 1024, "stats": kept}}))
"""


ROUNDS = 1  # set from --rounds


def run_ours(module: str, cls: str, path: Path, index: bool = False) -> dict:
    code = CHILD.format(root=str(ROOT), module=module, cls=cls, path=str(path), index=index)
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_tool(*cmds: list[str]) -> tuple[float, str]:
    """The commands one after the other: total seconds and the last one's stdout."""
    start = time.perf_counter()
    stdout = ""
    for cmd in cmds:
        stdout = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - start, stdout


def race(
    ours: Callable[[], dict], tool: Callable[[], tuple[float, str]], before: Callable[[], None] | None = None
) -> tuple[dict, float, str]:
    """Both sides ROUNDS times, alternating (so a busy spell on the machine hits both), each
    keeping its best time; our peak RSS is the highest seen."""
    runs, tool_best, stdout = [], float("inf"), ""
    for _ in range(ROUNDS):
        if before:
            before()
        seconds, stdout = tool()
        tool_best = min(tool_best, seconds)
        if before:
            before()
        runs.append(ours())
    best = min(runs, key=lambda r: r["seconds"])
    return {**best, "rss_mb": max(r["rss_mb"] for r in runs)}, tool_best, stdout


# --- generators (numpy, fixed-width records so that they are fast) ----------------------------


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10 + 48).astype(np.uint8)


def make_fastq(path: Path, size: int, length: int = 150) -> None:
    rng = np.random.default_rng(1)
    prefix = np.frombuffer(b"@A00123:8:H2ABCDSXY:1:1101:", np.uint8)
    suffix = np.frombuffer(b":1000 1:N:0:ACGTACGT\n", np.uint8)
    rec = len(prefix) + 10 + len(suffix) + (length + 1) * 2 + 2
    n_total = size // rec
    bases = np.frombuffer(b"ACGTN", np.uint8)
    with open(path, "wb") as out:
        for first in range(0, n_total, 200_000):
            n = min(200_000, n_total - first)
            m = np.empty((n, rec), np.uint8)
            col = 0
            for part in (prefix, None, suffix):
                if part is None:
                    m[:, col : col + 10] = _digits(np.arange(first, first + n), 10)
                    col += 10
                else:
                    m[:, col : col + len(part)] = part
                    col += len(part)
            m[:, col : col + length] = bases[rng.choice(5, (n, length), p=[0.29, 0.21, 0.21, 0.28, 0.01])]
            col += length
            m[:, col : col + 3] = np.frombuffer(b"\n+\n", np.uint8)
            col += 3
            m[:, col : col + length] = rng.integers(35, 75, (n, length), dtype=np.uint8)
            m[:, col + length] = 10
            out.write(m.tobytes())


def make_fasta(path: Path, size: int, chromosomes: int = 5) -> None:
    rng = np.random.default_rng(2)
    bases = np.frombuffer(b"ACGTNacgt", np.uint8)
    lines_per_chrom = size // chromosomes // 61
    with open(path, "wb") as out:
        for c in range(chromosomes):
            out.write(b">chr%d synthetic\n" % (c + 1))
            for first in range(0, lines_per_chrom, 500_000):
                n = min(500_000, lines_per_chrom - first)
                m = np.empty((n, 61), np.uint8)
                m[:, :60] = bases[rng.integers(0, 9, (n, 60))]
                m[:, 60] = 10
                out.write(m.tobytes())


def make_vcf(path: Path, records: int, samples: int = 4) -> None:
    rng = np.random.default_rng(3)
    contigs = ["chr1", "chr2", "chrX"]
    header = ["##fileformat=VCFv4.2"] + [f"##contig=<ID={c},length=250000000>" for c in contigs]
    header += [
        '##FILTER=<ID=LowQual,Description="low">',
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="depth">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(f"S{i}" for i in range(samples)),
    ]
    alleles = [("A", "G"), ("C", "T"), ("G", "T"), ("A", "C"), ("A", "AT"), ("AT", "A"), ("A", "G,T"), ("AC", "GT")]
    weights = [0.3, 0.3, 0.1, 0.1, 0.07, 0.07, 0.04, 0.02]
    gts = np.array(["0/0", "0/1", "1/1", "./."])
    with open(path, "w") as out:
        out.write("\n".join(header) + "\n")
        per_contig = records // len(contigs)
        for ci, chrom in enumerate(contigs):
            n = per_contig if ci < len(contigs) - 1 else records - per_contig * (len(contigs) - 1)
            pos = np.cumsum(rng.integers(1, 200, n))
            kinds = rng.choice(len(alleles), n, p=weights)
            filters = np.where(rng.random(n) < 0.8, "PASS", "LowQual")
            geno = gts[rng.integers(0, 4, (n, samples))]
            lines = [
                f"{chrom}\t{p}\t.\t{alleles[k][0]}\t{alleles[k][1]}\t50\t{f}\tDP=10\tGT\t" + "\t".join(g)
                for p, k, f, g in zip(pos.tolist(), kinds.tolist(), filters.tolist(), geno.tolist(), strict=True)
            ]
            out.write("\n".join(lines) + "\n")


def make_bam(path: Path, reads: int) -> None:
    """Paired reads with duplicates, secondary and unmapped records, coordinate-sorted, no index."""
    rng = np.random.default_rng(4)
    sam = path.with_suffix(".sam")
    seq = "ACGT" * 25
    qual = "I" * 100
    with open(sam, "w") as out:
        out.write("@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:chr1\tLN:248956422\n@SQ\tSN:chr2\tLN:242193529\n")
        pairs = reads // 2
        for first in range(0, pairs, 100_000):
            n = min(100_000, pairs - first)
            refs = rng.choice(["chr1", "chr2"], n)
            pos = rng.integers(1, 200_000_000, n)
            dup = rng.random(n) < 0.05
            unmapped = rng.random(n) < 0.03
            rows = []
            for i in range(n):
                name = f"r{first + i}"
                d = 1024 if dup[i] else 0
                if unmapped[i]:
                    f1, f2 = 77 | d, 141 | d
                    rows.append(f"{name}\t{f1}\t*\t0\t0\t*\t*\t0\t0\t{seq}\t{qual}")
                    rows.append(f"{name}\t{f2}\t*\t0\t0\t*\t*\t0\t0\t{seq}\t{qual}")
                else:
                    p = int(pos[i])
                    rows.append(f"{name}\t{99 | d}\t{refs[i]}\t{p}\t60\t100M\t=\t{p + 200}\t300\t{seq}\t{qual}")
                    rows.append(f"{name}\t{147 | d}\t{refs[i]}\t{p + 200}\t60\t100M\t=\t{p}\t-300\t{seq}\t{qual}")
            out.write("\n".join(rows) + "\n")
    subprocess.run(["samtools", "sort", "-@", "2", "-o", str(path), str(sam)], check=True)
    sam.unlink()


# --- comparisons -------------------------------------------------------------------------------


def seqkit_row(stdout: str) -> dict[str, str]:
    header, row = stdout.splitlines()[:2]
    return dict(zip(header.split("\t"), row.split("\t"), strict=True))


FORMATS = ("fastq", "fasta", "vcf", "bam")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="about 1/16 of the sizes")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--rounds", type=int, default=1, help="time each side this many times, keep the best")
    parser.add_argument(
        "--only", action="append", choices=FORMATS, help="run only this format (repeatable; default: all)"
    )
    args = parser.parse_args()
    formats = args.only or FORMATS
    global ROUNDS
    ROUNDS = max(1, args.rounds)
    scale = 16 if args.quick else 1
    results = []
    with tempfile.TemporaryDirectory(prefix="biofm-parser-bench-") as tmp:
        tmp_dir = Path(tmp)

        def record(name: str, path: Path, ours: dict, tool_name: str, tool_seconds: float, same: bool) -> None:
            size_mb = path.stat().st_size / 1e6
            row = {
                "format": name,
                "size_mb": round(size_mb, 1),
                "ours_s": round(ours["seconds"], 2),
                "ours_mb_s": round(size_mb / ours["seconds"], 1),
                "tool": tool_name,
                "tool_s": round(tool_seconds, 2),
                "tool_mb_s": round(size_mb / tool_seconds, 1),
                "ratio": round(tool_seconds / ours["seconds"], 2),
                "peak_rss_mb": round(ours["rss_mb"], 1),
                "same_counts": same,
            }
            results.append(row)
            print(json.dumps(row), flush=True)

        if "fastq" in formats:
            fastq = tmp_dir / "reads.fastq"
            make_fastq(fastq, 1024**3 // scale)
            ours, seconds, out = race(
                lambda: run_ours("fastq", "FastqParser", fastq),
                lambda: run_tool(["seqkit", "stats", "-a", "-T", "-j", "1", str(fastq)]),
            )
            ref = seqkit_row(out)
            same = ours["stats"]["reads"] == int(ref["num_seqs"]) and ours["stats"]["bases"] == int(ref["sum_len"])
            record("fastq", fastq, ours, "seqkit stats -a -j 1", seconds, same)
            fastq.unlink()

        if "fasta" in formats:
            fasta = tmp_dir / "genome.fa"
            make_fasta(fasta, 500 * 10**6 // scale)
            ours, seconds, out = race(
                lambda: run_ours("fasta", "FastaParser", fasta),
                lambda: run_tool(["seqkit", "stats", "-a", "-T", "-j", "1", str(fasta)]),
            )
            ref = seqkit_row(out)
            same = ours["stats"]["total_length"] == int(ref["sum_len"]) and ours["stats"]["n50"] == int(ref["N50"])
            record("fasta", fasta, ours, "seqkit stats -a -j 1", seconds, same)
            fasta.unlink()

        if "vcf" in formats:
            vcf = tmp_dir / "calls.vcf"
            make_vcf(vcf, 1_000_000 // scale)
            ours, seconds, out = race(
                lambda: run_ours("vcf", "VariantParser", vcf), lambda: run_tool(["bcftools", "stats", str(vcf)])
            )
            sn = {line.split("\t")[2]: int(line.split("\t")[3]) for line in out.splitlines() if line.startswith("SN")}
            same = (ours["stats"]["records"], ours["stats"]["snps"], ours["stats"]["indels"]) == (
                sn["number of records:"],
                sn["number of SNPs:"],
                sn["number of indels:"],
            )
            record("vcf", vcf, ours, "bcftools stats", seconds, same)
            vcf.unlink()

        if "bam" in formats:
            bam = tmp_dir / "reads.bam"
            bai = Path(f"{bam}.bai")
            make_bam(bam, 1_500_000 // scale)
            ours, seconds, out = race(  # the parse: no index is built or read
                lambda: run_ours("bam", "AlignmentParser", bam),
                lambda: run_tool(["samtools", "flagstat", "-O", "json", str(bam)]),
            )
            flag = json.loads(out)["QC-passed reads"]
            same = ours["stats"]["reads"] == flag["total"] and ours["stats"]["mapped"] == flag["mapped"]
            same = same and ours["stats"]["index_status"] == "pending" and not bai.exists()
            record("bam", bam, ours, "samtools flagstat", seconds, same)

            def no_index() -> None:
                bai.unlink(missing_ok=True)

            ours, index_seconds, out = race(  # the follow-up task, each side starting without a .bai
                lambda: run_ours("bam", "AlignmentParser", bam, index=True),
                lambda: run_tool(["samtools", "index", str(bam)], ["samtools", "idxstats", str(bam)]),
                before=no_index,
            )
            rows = [line.split("\t") for line in out.splitlines()]
            theirs = {name: (int(length), int(mapped), int(unmapped)) for name, length, mapped, unmapped in rows}
            same = (
                all((r["length"], r["mapped"], r["unmapped"]) == theirs[r["name"]] for r in ours["stats"]["references"])
                and ours["stats"].get("unplaced_unmapped") == theirs["*"][2]
            )
            record("bam index", bam, ours, "samtools index + idxstats", index_seconds, same)

    print()
    columns = ("MB", 9), ("ours s", 9), ("ours MB/s", 11), ("tool s", 9), ("tool MB/s", 11), ("ratio", 7), ("RSS MB", 8)
    print(f"{'format':<14}" + "".join(f"{name:>{width}}" for name, width in columns) + "  same")
    for r in results:
        print(
            f"{r['format']:<14}{r['size_mb']:>9}{r['ours_s']:>9}{r['ours_mb_s']:>11}{r['tool_s']:>9}"
            f"{r['tool_mb_s']:>11}{r['ratio']:>7}{r['peak_rss_mb']:>8}  {r['same_counts']}"
        )
    ok = all(r["ratio"] >= 0.5 and r["peak_rss_mb"] < 256 and r["same_counts"] for r in results)
    print("targets (ratio >= 0.5, RSS < 256 MB, same counts):", "met" if ok else "NOT met")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
