"""SAM/BAM/CRAM statistics through pysam (htslib), with ``samtools flagstat`` definitions.

The counts come from htslib's own flagstat (``pysam.flagstat``, JSON output), so they equal
``samtools flagstat`` by construction: ``reads`` is every record, ``mapped`` counts primary,
secondary and supplementary records that are mapped, ``paired`` and ``properly_paired`` count
primary records only, ``duplicates`` every record with the duplicate flag. Values are QC-passed
plus QC-failed. A coordinate-sorted BAM without an index gets one next to it (``<path>.bai``),
and then the per-reference counts come from ``idxstats``. When the byte budget is smaller than
the file, a bounded record loop counts the same definitions over the part it reaches.

Public surface: ``AlignmentParser``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .base import Budget, ParseError, current_budget

# CRAM without its reference must never make htslib fetch one over the network.
os.environ.setdefault("REF_PATH", os.path.join(os.devnull, "%s"))
os.environ.setdefault("REF_CACHE", os.path.join(os.devnull, "%s"))

# Extra BGZF decompression threads for flagstat and index (htslib's thread pool).
HTS_THREADS = min(2, os.cpu_count() or 1) if (os.cpu_count() or 1) > 1 else 0

_FLAGSTAT_KEYS = {
    "reads": "total",
    "mapped": "mapped",
    "paired": "paired in sequencing",
    "properly_paired": "properly paired",
    "duplicates": "duplicates",
    "secondary": "secondary",
    "supplementary": "supplementary",
}


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__


def _flagstat(path: Path) -> dict[str, int]:
    import pysam

    try:
        out = pysam.flagstat("-@", str(HTS_THREADS), "-O", "json", str(path))
        data = json.loads(out)
    except (pysam.utils.SamtoolsError, ValueError) as exc:
        raise ParseError(f"alignment records could not be read (damaged or truncated file?): {_one_line(exc)}") from exc
    passed, failed = data["QC-passed reads"], data["QC-failed reads"]
    return {ours: int(passed[theirs]) + int(failed[theirs]) for ours, theirs in _FLAGSTAT_KEYS.items()}


def _count_loop(path: Path, budget: Budget) -> tuple[dict[str, int], int]:
    """Flagstat's definitions over as many records as the budget allows; returns the counts
    and the compressed bytes covered."""
    import pysam

    counts = dict.fromkeys(_FLAGSTAT_KEYS, 0)
    covered = 0
    with pysam.AlignmentFile(str(path), check_sq=False) as aln:
        for i, read in enumerate(aln.fetch(until_eof=True)):
            flag = read.flag
            counts["reads"] += 1
            if not flag & 4:
                counts["mapped"] += 1
            if flag & 1024:
                counts["duplicates"] += 1
            if flag & 256:
                counts["secondary"] += 1
            elif flag & 2048:
                counts["supplementary"] += 1
            elif flag & 1:
                counts["paired"] += 1
                if flag & 2 and not flag & 4:
                    counts["properly_paired"] += 1
            if i % 4096 == 0:
                covered = aln.tell() >> 16 if aln.is_bam else aln.tell()
                if budget.exhausted(covered):
                    return counts, covered
    return counts, path.stat().st_size


def _index_path(path: Path, fmt: str) -> Path | None:
    suffixes = {"bam": (".bai", ".csi"), "cram": (".crai",)}.get(fmt, ())
    for suffix in suffixes:
        candidate = Path(str(path) + suffix)
        if candidate.exists():
            return candidate
    return None


class AlignmentParser:
    formats = ("sam", "bam", "cram")

    def parse(self, path: Path) -> dict[str, Any]:
        import pysam

        budget = current_budget()
        try:
            aln = pysam.AlignmentFile(str(path), check_sq=False)
        except (ValueError, OSError) as exc:
            raise ParseError(f"not a readable SAM/BAM/CRAM file: {_one_line(exc)}") from exc
        with aln:
            fmt = "cram" if aln.is_cram else "bam" if aln.is_bam else "sam"
            header = aln.header.to_dict()
            names, lengths = list(aln.references), list(aln.lengths)
        sort_order = (header.get("HD") or {}).get("SO", "unknown")

        truncated = False
        covered = path.stat().st_size
        if budget.max_bytes and covered > budget.max_bytes:
            counts, covered = _count_loop(path, budget)
            truncated = True
        else:
            counts = _flagstat(path)

        indexed = False
        per_reference: dict[str, tuple[int, int]] = {}
        if fmt in ("bam", "cram") and not truncated:
            index = _index_path(path, fmt)
            if index is None and sort_order == "coordinate":
                try:
                    pysam.index("-@", str(HTS_THREADS), str(path))
                except pysam.utils.SamtoolsError:
                    index = None  # sorted in name only: leave it without an index
                index = _index_path(path, fmt)
            if index is not None:
                indexed = True
                try:
                    for row in pysam.idxstats(str(path)).splitlines():
                        name, _length, mapped, unmapped = row.split("\t")
                        per_reference[name] = (int(mapped), int(unmapped))
                except (pysam.utils.SamtoolsError, ValueError):
                    per_reference = {}
        references = []
        for name, length in zip(names, lengths, strict=True):
            entry: dict[str, Any] = {"name": name, "length": length}
            if name in per_reference:
                entry["mapped"], entry["unmapped"] = per_reference[name]
            references.append(entry)
        stats: dict[str, Any] = {
            "header": header,
            "references": references,
            "reads": counts["reads"],
            "mapped": counts["mapped"],
            "unmapped": counts["reads"] - counts["mapped"],
            "paired": counts["paired"],
            "properly_paired": counts["properly_paired"],
            "duplicates": counts["duplicates"],
            "secondary": counts["secondary"],
            "supplementary": counts["supplementary"],
            "sort_order": sort_order,
            "indexed": indexed,
            "format": fmt,
        }
        if "*" in per_reference:
            stats["unplaced_unmapped"] = per_reference["*"][1]
        if truncated:
            stats.update(truncated=True, bytes_covered=covered)
        return stats
