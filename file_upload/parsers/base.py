"""What a parser is: something that takes a file path and returns the ``stats`` dict.

A parser raises ``ParseError`` with a one-line message naming the record or line at fault.
Streaming parsers consult ``current_budget()`` (set by ``services.parse_file`` through
``budget_scope``) and stop early when the byte or time budget is spent; they then add
``"truncated": True, "bytes_covered": N`` to the stats.

A parser may leave slow, optional work (building an index) to a follow-up task: it then puts
``"index_status": "pending"`` in the stats and offers ``index(path, stats)``, which returns the
stats keys to update (``Indexer``); ``services.index_file`` runs it after the parse.

Public surface: ``ParseError``, ``Parser``, ``Indexer``, ``Budget``, ``budget_scope``, ``current_budget``,
``open_stream``, ``length_histogram``.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol


class ParseError(Exception):
    """A malformed file; the message is one line and names the line or record."""


class Parser(Protocol):
    formats: tuple[str, ...]

    def parse(self, path: Path) -> dict[str, Any]: ...


class Indexer(Protocol):
    def index(self, path: Path, stats: dict[str, Any]) -> dict[str, Any]: ...


@dataclass
class Budget:
    """How far a parser may go: ``max_bytes`` of input (0 = unlimited) and ``max_seconds``."""

    max_bytes: int = 0
    max_seconds: float = 0
    started: float = field(default_factory=time.monotonic)

    def exhausted(self, bytes_done: int) -> bool:
        if self.max_bytes and bytes_done >= self.max_bytes:
            return True
        return bool(self.max_seconds) and time.monotonic() - self.started >= self.max_seconds


_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("parse_budget", default=None)


def current_budget() -> Budget:
    """The budget of the parse in progress; unlimited outside ``budget_scope``."""
    return _BUDGET.get() or Budget()


@contextlib.contextmanager
def budget_scope(budget: Budget) -> Iterator[Budget]:
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


class CountingReader:
    """A raw file wrapper that counts the (compressed) bytes read, for ``bytes_covered``."""

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.count += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)
        self.count += n or 0
        return n or 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.raw.close()


def _gzip_open(raw: CountingReader) -> IO[bytes]:
    try:
        from isal import igzip

        return igzip.IGzipFile(fileobj=raw, mode="rb")  # type: ignore[arg-type]
    except ImportError:  # pragma: no cover - isal is in requirements; gzip is the fallback
        import gzip

        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[arg-type]


@contextlib.contextmanager
def open_stream(path: Path) -> Iterator[tuple[IO[bytes], CountingReader]]:
    """Open plain or gzip/BGZF (multi-member) content for reading; yields the decompressed
    stream and the counter of raw bytes consumed. Decompression errors become ``ParseError``."""
    with open(path, "rb") as handle:
        counter = CountingReader(handle)
        magic = handle.read(2)
        handle.seek(0)
        stream: IO[bytes] = _gzip_open(counter) if magic == b"\x1f\x8b" else counter  # type: ignore[assignment]
        try:
            yield stream, counter
        except (EOFError, OSError) as exc:
            if isinstance(exc, ParseError):
                raise
            raise ParseError(f"compressed stream is damaged or truncated near byte {counter.count}: {exc}") from exc


def read_block(stream: IO[bytes], size: int) -> bytes:
    """``read`` that turns decompression errors into ``ParseError``."""
    try:
        return stream.read(size)
    except EOFError as exc:
        raise ParseError(f"compressed stream ends early (truncated gzip/BGZF): {exc}") from exc
    except Exception as exc:  # zlib.error, isal's IsalError, gzip.BadGzipFile
        raise ParseError(f"compressed stream is damaged: {exc}") from exc


MAX_HISTOGRAM_BINS = 50


def length_histogram(counts: Mapping[int, int]) -> list[dict[str, int]]:
    """Bins ``{"start", "end", "count"}`` (inclusive bounds). With at most 50 distinct lengths,
    one bin per length seen (start == end); otherwise 50 equal-width bins from min to max, empty
    bins included so the list draws as it is."""
    if not counts:
        return []
    lengths = sorted(counts)
    if len(lengths) <= MAX_HISTOGRAM_BINS:
        return [{"start": n, "end": n, "count": int(counts[n])} for n in lengths]
    low, high = lengths[0], lengths[-1]
    width = -(-(high - low + 1) // MAX_HISTOGRAM_BINS)
    nbins = -(-(high - low + 1) // width)
    bins = [{"start": low + i * width, "end": min(low + (i + 1) * width - 1, high), "count": 0} for i in range(nbins)]
    for n, c in counts.items():
        bins[(n - low) // width]["count"] += int(c)
    return bins


def n50(counts: Mapping[int, int]) -> int:
    """N50 from a length → count table (seqkit's definition: the length at which the running
    sum of lengths, longest first, reaches half the total)."""
    total = sum(n * c for n, c in counts.items())
    if not total:
        return 0
    running = 0
    for n in sorted(counts, reverse=True):
        running += n * counts[n]
        if running * 2 >= total:
            return n
    return 0
