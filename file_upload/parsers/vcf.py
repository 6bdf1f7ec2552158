"""VCF/BCF statistics with ``bcftools stats`` definitions, read as text in large blocks.

Only CHROM, REF, ALT and FILTER matter, so the records are not parsed one by one: newline and
tab positions come from numpy, single-base REF/ALT rows are classified in bulk, and the other
rows are classified once per distinct REF/ALT pair with htslib's own rules
(``bcf_set_variant_type``). Counts then follow ``bcftools stats``: a record counts once in each
class that any of its ALT alleles has (``snps``, ``mnps``, ``indels``, ``others``);
``multiallelic`` is records with more than one ALT; ``ts_tv`` is transitions over transversions
summed over every SNP ALT allele (bcftools' TSTV line). BCF is first turned into sites-only VCF
text by the bcftools bundled with pysam.

Public surface: ``VariantParser``, ``allele_type``.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from .base import ParseError, current_budget, open_stream, read_block

BLOCK_SIZE = 8 * 1024 * 1024
VCF_REF, VCF_SNP, VCF_MNP, VCF_INDEL, VCF_OTHER, VCF_BND, VCF_OVERLAP = 0, 1, 2, 4, 8, 16, 32
_ACGT = {ord("A"): 0, ord("C"): 1, ord("G"): 2, ord("T"): 3}


def _acgt(c: int) -> int:
    return _ACGT.get(c - 32 if c > 96 else c, -1)


def allele_type(ref: bytes, alt: bytes) -> int:
    """The variant type of one ALT allele, as htslib's ``bcf_set_variant_type`` decides it."""
    if alt == b"*":
        return VCF_OVERLAP
    if len(ref) == 1 and len(alt) == 1:
        if alt == b"." or ref == alt or alt == b"X":
            return VCF_REF
        return VCF_SNP
    if alt[:1] == b"<":
        if alt in (b"<X>", b"<*>", b"<NON_REF>") or alt.startswith((b"<X>", b"<*>")):
            return VCF_REF
        return VCF_OTHER
    if alt[:1] in (b"]", b"["):  # breakend joined before
        return VCF_BND
    up_r, up_a = ref.upper(), alt.upper()
    i = 0
    while i < len(up_r) and i < len(up_a) and up_r[i] == up_a[i]:
        i += 1
    if i < len(up_a) and i == len(up_r):
        return VCF_BND if up_a[i : i + 1] in (b"]", b"[") else VCF_INDEL
    if i < len(up_r) and i == len(up_a):
        return VCF_INDEL
    if i == len(up_r) and i == len(up_a):
        return VCF_REF
    re_, ae = len(up_r) - 1, len(up_a) - 1
    while re_ > i and ae > i and up_r[re_] == up_a[ae]:
        re_ -= 1
        ae -= 1
    if ae == i:
        if re_ == i:
            return VCF_SNP
        return VCF_INDEL if up_r[re_] == up_a[ae] else VCF_OTHER
    if re_ == i:
        return VCF_INDEL if up_r[re_] == up_a[ae] else VCF_OTHER
    return VCF_MNP if re_ - i == ae - i else VCF_OTHER


@functools.lru_cache(maxsize=65536)
def _classify(ref_alt: bytes) -> tuple[int, int, int, int]:
    """``REF\\tALT`` → (type mask, transitions, transversions, multiallelic)."""
    ref, _, alt = ref_alt.partition(b"\t")
    if alt == b".":
        return VCF_REF, 0, 0, 0
    alleles = alt.split(b",")
    mask = ts = tv = 0
    ref_base = _acgt(ref[0]) if ref else -1
    for allele in alleles:
        kind = allele_type(ref, allele)
        mask |= kind
        if kind & VCF_SNP and ref_base >= 0 and allele:
            base = _acgt(allele[0])
            if base >= 0 and base != ref_base:
                if abs(base - ref_base) == 2:
                    ts += 1
                else:
                    tv += 1
    return mask, ts, tv, int(len(alleles) > 1)


# Single-base rows: type and transition/transversion by (REF byte, ALT byte).
def _single_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = np.arange(256)[:, None]
    a = np.arange(256)[None, :]
    kind = np.full((256, 256), VCF_SNP, dtype=np.uint8)
    kind[(a == ord(".")) | (a == r) | (a == ord("X")) | np.zeros_like(r, dtype=bool)] = VCF_REF
    kind[:, ord("*")] = VCF_OVERLAP
    acgt = np.full(256, -1, dtype=np.int64)
    for base, value in _ACGT.items():
        acgt[base] = acgt[base + 32] = value
    rb, ab = acgt[r], acgt[a]
    snp = (kind == VCF_SNP) & (rb >= 0) & (ab >= 0) & (rb != ab)
    ts = (snp & (np.abs(rb - ab) == 2)).astype(np.uint8)
    tv = (snp & (np.abs(rb - ab) != 2)).astype(np.uint8)
    return kind, ts, tv


_SINGLE: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


class _VcfState:
    def __init__(self) -> None:
        self.records = self.snps = self.mnps = self.indels = self.others = 0
        self.multiallelic = self.passed = self.ts = self.tv = self.no_alts = 0
        self.contigs: Counter[str] = Counter()
        self.samples: list[str] = []
        self.line_no = 0

    def add_kinds(self, kinds: np.ndarray, weights: np.ndarray | None = None) -> None:
        def count(flag: int) -> int:
            hit = (kinds & flag) != 0
            return int(weights[hit].sum()) if weights is not None else int(np.count_nonzero(hit))

        self.snps += count(VCF_SNP)
        self.mnps += count(VCF_MNP)
        self.indels += count(VCF_INDEL)
        self.others += count(VCF_OTHER)


def _records_block(state: _VcfState, data: bytes) -> None:
    """Count the records in ``data`` (whole lines, each ending in ``\\n``)."""
    global _SINGLE
    if _SINGLE is None:
        _SINGLE = _single_tables()
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.empty_like(newlines)
    starts[:1] = 0
    starts[1:] = newlines[:-1] + 1
    ends = newlines.copy()
    if b"\r" in data:
        ends -= (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
    line_numbers = state.line_no + 1 + np.arange(len(starts))
    keep = (ends > starts) & (buf[starts] != 35)  # blank lines and stray '#' lines are not records
    starts, ends, line_numbers = starts[keep], ends[keep], line_numbers[keep]
    state.line_no += len(newlines)
    if not len(starts):
        return
    tabs = np.flatnonzero(buf == 9)
    first = np.searchsorted(tabs, starts)
    last = first + 6
    short = last >= len(tabs)
    short[~short] = tabs[last[~short]] >= ends[~short]
    if short.any():
        bad = int(np.flatnonzero(short)[0])
        raise ParseError(f"line {int(line_numbers[bad])}: a record needs at least 8 tab-separated columns")
    t = [tabs[first + i] for i in range(7)]
    chrom_end = t[0]
    r_s, r_e, a_s, a_e, f_s, f_e = t[2] + 1, t[3], t[3] + 1, t[4], t[5] + 1, t[6]
    n = len(starts)
    state.records += n

    # FILTER == PASS
    f_len = f_e - f_s
    is4 = f_len == 4
    fs = f_s[is4]
    state.passed += int(
        np.count_nonzero((buf[fs] == 80) & (buf[fs + 1] == 65) & (buf[fs + 2] == 83) & (buf[fs + 3] == 83))
    )

    # REF/ALT
    single = (r_e - r_s == 1) & (a_e - a_s == 1)
    kind_t, ts_t, tv_t = _SINGLE
    rs, as_ = buf[r_s[single]], buf[a_s[single]]
    kinds = kind_t[rs, as_]
    state.add_kinds(kinds)
    state.ts += int(ts_t[rs, as_].sum(dtype=np.int64))
    state.tv += int(tv_t[rs, as_].sum(dtype=np.int64))
    state.no_alts += int(np.count_nonzero(kinds == VCF_REF))
    other = np.flatnonzero(~single)
    if len(other):
        pairs = Counter([data[a:b] for a, b in zip(r_s[other].tolist(), a_e[other].tolist(), strict=True)])
        mask = np.empty(len(pairs), dtype=np.int64)
        weights = np.empty(len(pairs), dtype=np.int64)
        for i, (pair, cnt) in enumerate(pairs.items()):
            m, ts, tv, multi = _classify(pair)
            mask[i], weights[i] = m, cnt
            state.ts += ts * cnt
            state.tv += tv * cnt
            state.multiallelic += multi * cnt
            state.no_alts += cnt if m == VCF_REF else 0
        state.add_kinds(mask, weights)

    # CHROM: runs of equal names, compared exactly as byte matrices.
    c_len = chrom_end - starts
    width = int(c_len.max())
    if width > 256:
        pairs = zip(starts.tolist(), chrom_end.tolist(), strict=True)
        state.contigs.update(data[a:b].decode("utf-8", "replace") for a, b in pairs)
        return
    cols = np.arange(width)
    idx = np.minimum(starts[:, None] + cols, len(buf) - 1)
    names = np.where(cols < c_len[:, None], buf[idx], 0)
    change = np.ones(n, dtype=bool)
    change[1:] = (names[1:] != names[:-1]).any(axis=1)
    run_starts = np.flatnonzero(change)
    run_lengths = np.diff(np.concatenate((run_starts, [n])))
    for i, count in zip(run_starts.tolist(), run_lengths.tolist(), strict=True):
        state.contigs[data[starts[i] : chrom_end[i]].decode("utf-8", "replace")] += count


def _parse_text(path: Path) -> dict[str, Any]:
    budget = current_budget()
    state = _VcfState()
    truncated = False
    with open_stream(path) as (stream, counter):
        carry = b""
        in_header = True
        while True:
            block = read_block(stream, BLOCK_SIZE)
            data = carry + block if carry else block
            if not block:
                if data and not data.endswith(b"\n"):
                    data += b"\n"
                carry = b""
            else:
                cut = data.rfind(b"\n") + 1
                data, carry = data[:cut], data[cut:]
            if b"\x00" in data:
                line_at = state.line_no + data.count(b"\n", 0, data.index(b"\x00")) + 1
                raise ParseError(f"line {line_at}: binary content in a VCF file")
            pos = 0
            while in_header and pos < len(data):
                end = data.find(b"\n", pos)
                line = data[pos:end].rstrip(b"\r")
                state.line_no += 1
                if state.line_no == 1 and not line.startswith(b"##fileformat=VCF"):
                    raise ParseError("line 1: not a VCF file: the first line must be '##fileformat=VCF…'")
                if line.startswith(b"#CHROM"):
                    columns = line.decode("utf-8", "replace").split("\t")
                    state.samples = columns[9:]
                    in_header = False
                elif not line.startswith(b"##"):
                    raise ParseError(f"line {state.line_no}: record before the '#CHROM' header line")
                pos = end + 1
            if not in_header and pos < len(data):
                _records_block(state, data[pos:] if pos else data)
            if not block:
                break
            if budget.exhausted(counter.count):
                truncated = True
                break
        covered = counter.count
    if in_header:
        raise ParseError(f"line {max(state.line_no, 1)}: the header has no '#CHROM' line")
    stats: dict[str, Any] = {
        "records": state.records,
        "samples": state.samples,
        "snps": state.snps,
        "indels": state.indels,
        "mnps": state.mnps,
        "others": state.others,
        "multiallelic": state.multiallelic,
        "pass": state.passed,
        "contigs": dict(state.contigs),
        "ts_tv": round(state.ts / state.tv, 4) if state.tv else None,
        "transitions": state.ts,
        "transversions": state.tv,
        "no_alts": state.no_alts,
    }
    if truncated:
        stats.update(truncated=True, bytes_covered=covered)
    return stats


class VariantParser:
    formats = ("vcf", "bcf")

    def parse(self, path: Path) -> dict[str, Any]:
        with open(path, "rb") as handle:
            head = handle.read(2)
        if head == b"\x1f\x8b":
            from .registry import detect_format

            if detect_format(path) == "bcf":
                return self._parse_bcf(path)
        return _parse_text(path)

    def _parse_bcf(self, path: Path) -> dict[str, Any]:
        import pysam
        import pysam.bcftools

        fd, text = tempfile.mkstemp(suffix=".vcf")
        os.close(fd)
        try:
            try:
                pysam.bcftools.view("--no-version", "-G", "-Ov", "-o", text, str(path), catch_stdout=False)
            except pysam.utils.SamtoolsError as exc:
                message = " ".join(str(exc).split())
                raise ParseError(f"BCF could not be read: {message[:300]}") from exc
            stats = _parse_text(Path(text))
            # -G drops the genotype columns: take the sample names from the BCF header.
            with pysam.VariantFile(str(path)) as vf:
                stats["samples"] = list(vf.header.samples)
            if stats.get("truncated"):
                stats["bytes_covered"] = min(stats["bytes_covered"], path.stat().st_size)
            return stats
        finally:
            os.unlink(text)
