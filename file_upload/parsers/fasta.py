"""FASTA statistics, streamed in large blocks and counted with numpy (plain, gzip or BGZF).

Definitions follow ``seqkit stats -a``: a sequence's length is every byte of its sequence lines
except line endings (so wrapped, lower-case, CRLF and gapped input all count as seqkit counts
them); ``gc_percent`` is G+C (either case) over all residues, N included; ``n50`` as seqkit.
Text other than blank lines before the first ``>`` is an error (seqkit rejects it too).

Public surface: ``FastaParser``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from .base import ParseError, current_budget, length_histogram, n50, open_stream, read_block

BLOCK_SIZE = 8 * 1024 * 1024
# Below this many sequence segments in a block, count per slice; above, by positions.
FEW_SEGMENTS = 64


def gc_bucket(gc: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Rounded GC% per sequence (half up), for sequences with a length."""
    keep = lengths > 0
    return (200 * gc[keep].astype(np.int64) + lengths[keep]) // (2 * lengths[keep])


def _segment_counts(positions: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    return np.searchsorted(positions, ends) - np.searchsorted(positions, starts)


class _FastaState:
    def __init__(self) -> None:
        self.lengths: Counter[int] = Counter()
        self.gc_hist = np.zeros(101, dtype=np.int64)
        self.total = 0
        self.gc = 0
        self.n = 0
        self.sequences = 0
        self.first_header = ""
        # The sequence being read: None before the first header.
        self.cur_len: int | None = None
        self.cur_gc = 0
        self.line_no = 1  # line number at the start of the current block

    def close_records(self, lengths: np.ndarray, gcs: np.ndarray) -> None:
        if not len(lengths):
            return
        self.sequences += len(lengths)
        values, counts = np.unique(lengths, return_counts=True)
        for v, c in zip(values.tolist(), counts.tolist(), strict=True):
            self.lengths[v] += c
        np.add.at(self.gc_hist, gc_bucket(gcs, lengths), 1)


def _count_block(state: _FastaState, data: bytes, at_line_start: bool) -> None:
    buf = np.frombuffer(data, dtype=np.uint8)
    size = len(buf)
    newlines = np.flatnonzero(buf == 10)
    if at_line_start:
        line_starts = np.concatenate(([0], newlines + 1))
    else:
        line_starts = newlines + 1
    line_starts = line_starts[line_starts < size]
    headers = line_starts[buf[line_starts] == 62]
    header_ends = newlines[np.searchsorted(newlines, headers)] if len(headers) else headers
    seg_starts = np.concatenate(([0], header_ends + 1))
    seg_ends = np.concatenate((headers, [size]))

    low = buf | 0x20
    is_gc = (low == 103) | (low == 99)
    n_pos = np.flatnonzero(low == 110)
    cr_pos = np.flatnonzero(buf == 13) if b"\r" in data else np.empty(0, dtype=np.int64)
    seg_bytes = seg_ends - seg_starts
    line_ends = _segment_counts(newlines, seg_starts, seg_ends) + _segment_counts(cr_pos, seg_starts, seg_ends)
    seg_len = seg_bytes - line_ends
    if len(seg_starts) <= FEW_SEGMENTS:
        seg_gc = np.array(
            [np.count_nonzero(is_gc[a:b]) for a, b in zip(seg_starts.tolist(), seg_ends.tolist(), strict=True)],
            dtype=np.int64,
        )
    else:
        seg_gc = _segment_counts(np.flatnonzero(is_gc), seg_starts, seg_ends)
    seg_n = _segment_counts(n_pos, seg_starts, seg_ends)

    # The first segment continues the sequence of the previous block (or precedes any header).
    if state.cur_len is None:
        head = data[: seg_ends[0]]
        if head.strip():
            line = state.line_no + head.count(b"\n", 0, len(head) - len(head.lstrip()))
            raise ParseError(f"line {line}: text before the first '>' header")
    else:
        state.cur_len += int(seg_len[0])
        state.cur_gc += int(seg_gc[0])
    state.total += int(seg_len.sum())
    state.gc += int(seg_gc.sum())
    state.n += int(seg_n.sum())
    if len(headers):
        if not state.first_header:
            state.first_header = data[headers[0] + 1 : header_ends[0]].decode("utf-8", "replace").strip()
        closed_len = []
        closed_gc = []
        if state.cur_len is not None:
            closed_len.append(state.cur_len)
            closed_gc.append(state.cur_gc)
        # Every header but the last closes with the block; the last stays open.
        closed_len.extend(seg_len[1:-1].tolist())
        closed_gc.extend(seg_gc[1:-1].tolist())
        state.close_records(np.array(closed_len, dtype=np.int64), np.array(closed_gc, dtype=np.int64))
        state.cur_len = int(seg_len[-1])
        state.cur_gc = int(seg_gc[-1])
    state.line_no += len(newlines)


class FastaParser:
    formats = ("fasta",)

    def parse(self, path: Path) -> dict[str, Any]:
        budget = current_budget()
        state = _FastaState()
        truncated = False
        with open_stream(path) as (stream, counter):
            carry = b""
            at_line_start = True
            while True:
                block = read_block(stream, BLOCK_SIZE)
                eof = not block
                data = carry + block if carry else block
                carry = b""
                if eof:
                    if not data:
                        break
                    if not data.endswith(b"\n"):
                        data += b"\n"
                else:
                    # A header line must not straddle two blocks (sequence lines may).
                    last_line = data.rfind(b"\n") + 1
                    if last_line < len(data) and data[last_line] == 62 and (last_line or at_line_start):
                        data, carry = data[:last_line], data[last_line:]
                        if not data:
                            continue
                if b"\x00" in data:
                    line = state.line_no + data.count(b"\n", 0, data.index(b"\x00"))
                    raise ParseError(f"line {line}: binary content (NUL byte) in a FASTA file")
                _count_block(state, data, at_line_start)
                at_line_start = data.endswith(b"\n")
                if eof:
                    break
                if budget.exhausted(counter.count):
                    truncated = True
                    break
            bytes_covered = counter.count
        if state.cur_len is not None:
            state.close_records(np.array([state.cur_len]), np.array([state.cur_gc]))
        lengths = state.lengths
        stats: dict[str, Any] = {
            "sequences": state.sequences,
            "total_length": state.total,
            "min_length": min(lengths) if lengths else 0,
            "max_length": max(lengths) if lengths else 0,
            "mean_length": round(state.total / state.sequences, 2) if state.sequences else 0.0,
            "n50": n50(lengths),
            "gc_percent": round(100 * state.gc / state.total, 4) if state.total else 0.0,
            "n_count": state.n,
            "length_histogram": length_histogram(lengths),
            "gc_content_histogram": state.gc_hist.tolist(),
        }
        if truncated:
            stats.update(truncated=True, bytes_covered=bytes_covered)
        stats["_hints"] = {"first_header": state.first_header}
        return stats
