"""SAM/BAM/CRAM statistics through pysam (htslib), with ``samtools flagstat`` definitions.

The counts come from htslib's own flagstat (``pysam.flagstat``, JSON output), so they equal
``samtools flagstat`` by construction: ``reads`` is every record, ``mapped`` counts primary,
secondary and supplementary records that are mapped, ``paired`` and ``properly_paired`` count
primary records only, ``duplicates`` every record with the duplicate flag. Values are QC-passed
plus QC-failed. When the byte budget is smaller than the file, a bounded record loop counts
the same definitions over the part it reaches.

Building an index is not part of ``parse``: it costs as much again as the flag counts and
nobody waits for it. ``parse`` marks a coordinate-sorted BAM/CRAM read in full with
``"index_status": "pending"`` and ``services.index_file`` later calls ``index``, which builds
``<path>.bai`` (``.crai``) when missing and returns the per-reference counts of ``idxstats``.

Public surface: ``AlignmentParser``.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from .base import Budget, ParseError, current_budget

# CRAM without its reference must never make htslib fetch one over the network.
os.environ.setdefault("REF_PATH", os.path.join(os.devnull, "%s"))
os.environ.setdefault("REF_CACHE", os.path.join(os.devnull, "%s"))

# Extra BGZF decompression threads for flagstat and index (htslib's thread pool). These are
# threads inside one htslib call; pysam's samtools dispatch itself (it swaps the process's
# stdout) must never run twice at once in one process.
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


_INDEX_SUFFIXES = {"bam": (".bai", ".csi"), "cram": (".crai",)}


def _index_path(path: Path, fmt: str) -> Path | None:
    for suffix in _INDEX_SUFFIXES.get(fmt, ()):
        candidate = Path(str(path) + suffix)
        if candidate.exists():
            return candidate
    return None


def _build_index(path: Path, fmt: str) -> None:
    """``samtools index`` into a temporary name beside the file, then renamed into place, so
    that a reader (the ``.bai`` download, a second build) never sees half an index."""
    import pysam

    final = Path(str(path) + _INDEX_SUFFIXES[fmt][0])
    # Named <blob><suffix>.<token>.tmp: retention.derived_paths purges a build cut short.
    tmp = Path(f"{final}.{secrets.token_hex(4)}.tmp")
    try:
        pysam.index("-@", str(HTS_THREADS), "-o", str(tmp), str(path))
        os.replace(tmp, final)
    except pysam.utils.SamtoolsError as exc:
        raise ParseError(f"no index could be built (not sorted by coordinate?): {_one_line(exc)}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _idxstats(path: Path) -> dict[str, tuple[int, int]]:
    """Mapped and unmapped records per reference (``*``: unplaced unmapped); empty when
    ``samtools idxstats`` fails."""
    import pysam

    per_reference: dict[str, tuple[int, int]] = {}
    try:
        for row in pysam.idxstats(str(path)).splitlines():
            name, _length, mapped, unmapped = row.split("\t")
            per_reference[name] = (int(mapped), int(unmapped))
    except (pysam.utils.SamtoolsError, ValueError):
        return {}
    return per_reference


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

        references = [{"name": name, "length": length} for name, length in zip(names, lengths, strict=True)]
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
            "indexed": False,
            "format": fmt,
        }
        if truncated:
            stats.update(truncated=True, bytes_covered=covered)
        elif fmt in _INDEX_SUFFIXES and sort_order == "coordinate":
            stats["index_status"] = "pending"
        return stats

    def index(self, path: Path, stats: dict[str, Any]) -> dict[str, Any]:
        """The follow-up to ``parse`` for ``index_status: pending``: build the index if there is
        none yet and return the stats keys it changes (``indexed``, ``index_status``,
        ``references`` with ``mapped``/``unmapped`` from idxstats, ``unplaced_unmapped``).
        Raises ``ParseError`` when htslib cannot index the file."""
        fmt = stats.get("format", "bam")
        if fmt not in _INDEX_SUFFIXES:
            raise ParseError(f"{fmt.upper()} files are not indexed")
        if _index_path(path, fmt) is None:
            _build_index(path, fmt)
        # The index is there whatever idxstats says (CRAM slices may need the reference, which
        # is never fetched): only the per-reference counts are left out then.
        per_reference = _idxstats(path)
        references = []
        for known in stats.get("references", []):
            entry = {"name": known["name"], "length": known["length"]}
            if entry["name"] in per_reference:
                entry["mapped"], entry["unmapped"] = per_reference[entry["name"]]
            references.append(entry)
        update: dict[str, Any] = {"indexed": True, "index_status": "done", "references": references}
        if "*" in per_reference:
            update["unplaced_unmapped"] = per_reference["*"][1]
        return update
