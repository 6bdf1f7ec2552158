"""FASTQ statistics, streamed in large blocks and counted with numpy (plain, gzip or BGZF).

Two readers feed one accumulator. The fast reader takes a block of four-line records at a time
(newline positions from numpy, sequence and quality bytes gathered per block, counts by numpy);
when a block does not fit that shape (wrapped records, a damaged record) the whole file is read
again by the careful reader, which follows Biopython's FASTQ rules line by line, accepts
wrapped records and names the record and line of the first error.

Definitions follow ``seqkit stats -a``: ``gc_percent`` is G+C over all bases (N included);
``q20_percent``/``q30_percent`` are the shares of bases with quality ≥ 20/30; ``mean_quality``
is the mean over all bases. ``per_position_quality`` holds, for each of the first
``MAX_POSITIONS`` positions, the 10th, 25th, 50th, 75th and 90th percentiles of the qualities
seen there (FastQC's box plot), exact: each is read off the position's histogram of quality
bytes as the nearest rank (the smallest quality whose cumulative count reaches p % of the bases
at that position, numpy's ``inverted_cdf``). Qualities are decoded with the detected ``quality_encoding``
(``phred+64`` only when no quality byte is below ``;`` and some are above ``J``, otherwise
``phred+33``). Quality bytes outside ``!``..``~`` and sequence bytes outside the printable range
are errors.

Public surface: ``FastqParser``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import IO, Any

import numpy as np

from .base import ParseError, current_budget, length_histogram, open_stream, read_block
from .fasta import gc_bucket

BLOCK_SIZE = 8 * 1024 * 1024
MAX_POSITIONS = 1000  # per-position qualities are kept for the first 1000 cycles
QUAL_BYTES = 128  # quality bytes are '!'..'~' (checked), so 128 columns hold every one
PERCENTILES = {"p10": 10, "q1": 25, "median": 50, "q3": 75, "p90": 90}
CAREFUL_BATCH = 20_000
NAME_SAMPLE = 200  # read names kept for metadata hints (platform, pairing)


class _Fallback(Exception):
    """The fast reader met something it does not handle; read again carefully."""


class _FastqStats:
    def __init__(self) -> None:
        self.reads = 0
        self.bases = 0
        self.gc = 0
        self.n = 0
        self.lengths: Counter[int] = Counter()
        self.qual_hist = np.zeros(256, dtype=np.int64)
        # Counts of each quality byte at each position: the means and the percentiles per
        # position are read off it exactly, in bounded memory (1 MB).
        self.pos_hist = np.zeros((MAX_POSITIONS, QUAL_BYTES), dtype=np.int64)
        self.gc_hist = np.zeros(101, dtype=np.int64)
        self.names: list[bytes] = []

    def add(self, seq: np.ndarray, qual: np.ndarray, lengths: np.ndarray, uniform: int | None) -> None:
        """Count one batch: ``seq``/``qual`` are the concatenated bytes of ``len(lengths)`` reads."""
        n_reads = len(lengths)
        if not n_reads:
            return
        self.reads += n_reads
        self.bases += int(seq.size)
        values, counts = np.unique(lengths, return_counts=True)
        for v, c in zip(values.tolist(), counts.tolist(), strict=True):
            self.lengths[v] += c
        if not seq.size:
            return
        low = seq | 0x20
        is_gc = (low == 103) | (low == 99)
        self.n += int(np.count_nonzero(low == 110))
        self.qual_hist += np.bincount(qual, minlength=256)
        if uniform:
            per_read_gc = np.count_nonzero(is_gc.reshape(n_reads, uniform), axis=1)
            width = min(uniform, MAX_POSITIONS)
            cells = qual.reshape(n_reads, uniform)[:, :width] + np.arange(width, dtype=np.int32) * QUAL_BYTES
            self._count_cells(cells.ravel())
        else:
            offsets = np.zeros(n_reads, dtype=np.int64)
            np.cumsum(lengths[:-1], out=offsets[1:])
            gc_cum = np.concatenate(([0], np.cumsum(is_gc, dtype=np.int64)))
            per_read_gc = gc_cum[offsets + lengths] - gc_cum[offsets]
            positions = np.arange(seq.size, dtype=np.int64) - np.repeat(offsets, lengths)
            keep = positions < MAX_POSITIONS
            self._count_cells(positions[keep] * QUAL_BYTES + qual[keep])
        self.gc += int(per_read_gc.sum())
        np.add.at(self.gc_hist, gc_bucket(per_read_gc, lengths), 1)

    def _count_cells(self, cells: np.ndarray) -> None:
        """Add one to ``pos_hist`` at each flat index ``position * QUAL_BYTES + quality byte``."""
        flat = self.pos_hist.reshape(-1)
        counts = np.bincount(cells, minlength=0)
        flat[: len(counts)] += counts

    def result(self) -> dict[str, Any]:
        hist = self.qual_hist
        chars = np.flatnonzero(hist)
        lo, hi = (int(chars[0]), int(chars[-1])) if len(chars) else (0, 0)
        if not self.bases:
            encoding, offset = (None if not self.reads else "phred+33"), 33
        elif lo >= 59 and hi > 74:
            encoding, offset = "phred+64", 64
        else:
            encoding, offset = "phred+33", 33
        scores = np.arange(256) - offset
        total_q = int((hist * scores).sum())
        bases = self.bases
        max_len = max(self.lengths) if self.lengths else 0
        per_position, quantiles = _per_position(self.pos_hist[: min(max_len, MAX_POSITIONS)], offset)
        return {
            "reads": self.reads,
            "bases": bases,
            "min_length": min(self.lengths) if self.lengths else 0,
            "max_length": max_len,
            "mean_length": round(bases / self.reads, 2) if self.reads else 0.0,
            "gc_percent": round(100 * self.gc / bases, 4) if bases else 0.0,
            "n_percent": round(100 * self.n / bases, 4) if bases else 0.0,
            "mean_quality": round(total_q / bases, 4) if bases else 0.0,
            "q20_percent": round(100 * int(hist[offset + 20 :].sum()) / bases, 4) if bases else 0.0,
            "q30_percent": round(100 * int(hist[offset + 30 :].sum()) / bases, 4) if bases else 0.0,
            "quality_encoding": encoding,
            "per_position_mean_quality": per_position,
            "per_position_quality": quantiles,
            "length_histogram": length_histogram(self.lengths),
            "gc_content_histogram": self.gc_hist.tolist(),
        }


def _per_position(hist: np.ndarray, offset: int) -> tuple[list[float], dict[str, list[int]]]:
    """The mean and the FastQC box-plot percentiles of each position's qualities (Phred)."""
    covering = hist.sum(axis=1)
    if not len(covering):
        return [], {key: [] for key in PERCENTILES}
    sums = hist @ np.arange(QUAL_BYTES, dtype=np.int64)
    means = [
        round(float(s) / c - offset, 2) if c else 0.0 for s, c in zip(sums.tolist(), covering.tolist(), strict=True)
    ]
    cumulative = np.cumsum(hist, axis=1)
    quantiles = {}
    for key, pct in PERCENTILES.items():
        # Nearest rank: the first byte whose cumulative count reaches pct % of the position's bases.
        reached = cumulative * 100 >= covering[:, None] * pct
        quantiles[key] = np.where(covering > 0, reached.argmax(axis=1) - offset, 0).tolist()
    return means, quantiles


def _check_bytes(seq: np.ndarray, qual: np.ndarray) -> bool:
    if seq.size and (int(seq.min()) < 33 or int(seq.max()) > 126):
        return False
    return not (qual.size and (int(qual.min()) < 33 or int(qual.max()) > 126))


def _fast_block(acc: _FastqStats, data: bytes) -> int:
    """Count the complete four-line records at the start of ``data``; return the bytes used.
    Raises ``_Fallback`` when the block is not plain four-line FASTQ."""
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    n_records = len(newlines) // 4
    if not n_records:
        return 0
    ends = newlines[: 4 * n_records]
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    if b"\r" in data:
        ends = ends - ((ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13))
    h_s, h_e = starts[0::4], ends[0::4]
    s_s, s_e = starts[1::4], ends[1::4]
    p_s, p_e = starts[2::4], ends[2::4]
    q_s, q_e = starts[3::4], ends[3::4]
    lengths = s_e - s_s
    if not ((buf[h_s] == 64).all() and (buf[p_s] == 43).all() and np.array_equal(lengths, q_e - q_s)):
        raise _Fallback
    for i in np.flatnonzero(p_e - p_s > 1).tolist():
        if data[p_s[i] + 1 : p_e[i]] != data[h_s[i] + 1 : h_e[i]]:
            raise _Fallback
    if len(acc.names) < NAME_SAMPLE:
        take = min(NAME_SAMPLE - len(acc.names), n_records)
        acc.names.extend(data[a + 1 : b] for a, b in zip(h_s[:take].tolist(), h_e[:take].tolist(), strict=True))
    seq_bytes = b"".join([data[a:b] for a, b in zip(s_s.tolist(), s_e.tolist(), strict=True)])
    qual_bytes = b"".join([data[a:b] for a, b in zip(q_s.tolist(), q_e.tolist(), strict=True)])
    seq = np.frombuffer(seq_bytes, dtype=np.uint8)
    qual = np.frombuffer(qual_bytes, dtype=np.uint8)
    if not _check_bytes(seq, qual):
        raise _Fallback
    first = int(lengths[0])
    uniform = first if (lengths == first).all() else None
    acc.add(seq, qual, lengths.astype(np.int64), uniform)
    return int(newlines[4 * n_records - 1]) + 1


def _read_fast(path: Path) -> tuple[_FastqStats, bool, int]:
    budget = current_budget()
    acc = _FastqStats()
    truncated = False
    with open_stream(path) as (stream, counter):
        carry = b""
        while True:
            block = read_block(stream, BLOCK_SIZE)
            data = carry + block if carry else block
            if not block:
                if data.strip():
                    if not data.endswith(b"\n"):
                        data += b"\n"
                    used = _fast_block(acc, data)
                    if data[used:].strip():
                        raise _Fallback
                break
            used = _fast_block(acc, data)
            carry = data[used:]
            if len(carry) > 4 * BLOCK_SIZE:
                raise _Fallback  # enormous records: let the careful reader take them
            if budget.exhausted(counter.count):
                truncated = True
                break
        return acc, truncated, counter.count


def _lines(stream: IO[bytes]) -> Any:
    """Lines without their ``\\n`` (a ``\\r`` stays and is stripped by the caller)."""
    carry = b""
    while True:
        block = read_block(stream, 1024 * 1024)
        if not block:
            if carry:
                yield carry
            return
        parts = (carry + block).split(b"\n")
        carry = parts.pop()
        yield from parts


def _strip(line: bytes) -> bytes:
    return line[:-1] if line.endswith(b"\r") else line


def _bad_byte(data: bytes) -> int:
    arr = np.frombuffer(data, dtype=np.uint8)
    bad = np.flatnonzero((arr < 33) | (arr > 126))
    return int(bad[0]) if len(bad) else -1


def _read_careful(path: Path) -> tuple[_FastqStats, bool, int]:
    """Biopython's FASTQ rules, record by record; errors name the record and line."""
    budget = current_budget()
    acc = _FastqStats()
    truncated = False
    seqs: list[bytes] = []
    quals: list[bytes] = []

    def flush() -> None:
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        acc.add(
            np.frombuffer(b"".join(seqs), dtype=np.uint8), np.frombuffer(b"".join(quals), dtype=np.uint8), lengths, None
        )
        seqs.clear()
        quals.clear()

    with open_stream(path) as (stream, counter):
        lines = _lines(stream)
        line_no = 0
        record = 0
        line: bytes | None = next(lines, None)
        line_no += 1
        while line is not None and not _strip(line):  # leading blank lines
            line = next(lines, None)
            line_no += 1
        while line is not None:
            record += 1
            where = f"record {record} (line {line_no})"
            if not line.startswith(b"@"):
                if not _strip(line):
                    # blank lines at the end of the file
                    rest = [x for x in lines if _strip(x)]
                    if not rest:
                        break
                raise ParseError(f"{where}: expected '@' at the start of a record")
            title = _strip(line)[1:]
            if len(acc.names) < NAME_SAMPLE:
                acc.names.append(title)
            seq_parts = []
            while True:
                line = next(lines, None)
                line_no += 1
                if line is None:
                    raise ParseError(f"{where}: file ends before the '+' line (truncated record)")
                if line.startswith(b"+"):
                    break
                seq_parts.append(_strip(line))
            plus_line = line_no
            second = _strip(line)[1:]
            if second and second != title:
                raise ParseError(f"{where}: the '+' line (line {plus_line}) repeats a different title than the '@'")
            seq = b"".join(seq_parts)
            bad = _bad_byte(seq)
            if bad >= 0:
                raise ParseError(f"{where}: invalid sequence character {seq[bad : bad + 1]!r} at position {bad + 1}")
            qual_parts: list[bytes] = []
            qual_len = 0
            line = next(lines, None)
            line_no += 1
            while line is not None:
                if line.startswith(b"@") and qual_len >= len(seq):
                    break
                part = _strip(line)
                qual_parts.append(part)
                qual_len += len(part)
                line = next(lines, None)
                line_no += 1
            qual = b"".join(qual_parts)
            if len(qual) != len(seq):
                if line is None and len(qual) < len(seq):
                    raise ParseError(
                        f"{where}: file ends inside the quality string ({len(qual)} of {len(seq)} characters)"
                    )
                raise ParseError(
                    f"{where}: sequence and quality lengths differ ({len(seq)} and {len(qual)} characters)"
                )
            bad = _bad_byte(qual)
            if bad >= 0:
                raise ParseError(
                    f"{where}: invalid quality character {qual[bad : bad + 1]!r} at position {bad + 1} "
                    "(allowed: '!'..'~')"
                )
            seqs.append(seq)
            quals.append(qual)
            if len(seqs) >= CAREFUL_BATCH:
                flush()
                if budget.exhausted(counter.count):
                    truncated = True
                    break
        flush()
        return acc, truncated, counter.count


def _hints(names: list[bytes]) -> dict[str, Any]:
    decoded = [n.decode("utf-8", "replace") for n in names]
    return {"read_names": decoded[:NAME_SAMPLE]}


class FastqParser:
    formats = ("fastq",)

    def parse(self, path: Path) -> dict[str, Any]:
        try:
            acc, truncated, covered = _read_fast(path)
        except _Fallback:
            acc, truncated, covered = _read_careful(path)
        stats = acc.result()
        if truncated:
            stats.update(truncated=True, bytes_covered=covered)
        stats["_hints"] = _hints(acc.names)
        return stats
