"""Helpers the handlers share: the file's format, its parser statistics (computed on demand when
the upload-time extraction has not produced them), bounded text reads and read names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from file_upload import storage
from file_upload.models import File, ParseStatus
from file_upload.parsers import registry as parsers
from file_upload.parsers.base import Budget, ParseError, budget_scope, open_stream, read_block

from ..registry import AnalysisError

TEXT_FORMATS = ("text", "csv", "tsv", "json", "")


def blob_path(file: File) -> Path:
    """A local path of the file's bytes (from an object store: a copy kept until the analysis
    ends, ``storage.copies_scope`` in ``services.run_analysis``)."""
    try:
        return storage.scoped_copy(file.storage_key)
    except FileNotFoundError as exc:
        raise AnalysisError("The file's bytes are missing from the store.") from exc


def file_format(file: File) -> str:
    """The detected format (``file_format`` as the parser recorded it, else sniffed now)."""
    fmt = (file.file_format or "").lower()
    if fmt:
        return fmt
    try:
        return parsers.detect_format(blob_path(file), file.name)
    except OSError:
        return ""


def stats_for(file: File) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """``(format, stats, hints)``: the stored statistics when the extraction finished, else a
    fresh extraction (same parser, same budgets) whose hints (read names, h5ad obs values) come
    along; the stored ones never keep hints."""
    fmt = file_format(file)
    if file.parse_status == ParseStatus.DONE and file.stats:
        return fmt, dict(file.stats), {}
    return fmt, *extract(file, fmt)


def extract(file: File, fmt: str) -> tuple[dict[str, Any], dict[str, Any]]:
    parser = parsers.parser_for(fmt)
    if parser is None:
        raise AnalysisError(f"There is no statistics extractor for {fmt or 'this format'}.")
    budget = Budget(max_bytes=settings.BIOFM_PARSE_MAX_BYTES, max_seconds=settings.BIOFM_PARSE_MAX_SECONDS)
    try:
        with budget_scope(budget):
            stats = parser.parse(blob_path(file))
    except ParseError as exc:
        raise AnalysisError(f"The file could not be read as {fmt}: {exc}") from exc
    hints = stats.pop("_hints", None) or {}
    return stats, hints


def read_text(file: File, limit: int) -> str:
    """Up to ``limit`` bytes of the (possibly gzip-compressed) file as text; ``AnalysisError``
    when it does not look like text (NUL bytes or mostly undecodable)."""
    try:
        with open_stream(blob_path(file)) as (stream, _counter):
            raw = read_block(stream, limit)
    except ParseError as exc:
        raise AnalysisError(f"The file could not be read: {exc}") from exc
    if b"\x00" in raw[:8192]:
        raise AnalysisError("This is a binary file, not text.")
    text = raw.decode("utf-8", errors="replace")
    if text and text.count("\ufffd") > len(text) // 20:
        raise AnalysisError("This file is not UTF-8 text.")
    return text


def read_names(file: File, limit: int = 200) -> list[str]:
    """The first read names of a FASTQ (bounded prefix; plain or gzip)."""
    names: list[str] = []
    try:
        with open_stream(blob_path(file)) as (stream, _counter):
            block = read_block(stream, 1 << 20)
    except ParseError:
        return names
    lines = block.split(b"\n")
    for index in range(0, len(lines) - 3, 4):
        line = lines[index]
        if not line.startswith(b"@"):
            break
        names.append(line[1:].rstrip(b"\r").decode("utf-8", "replace"))
        if len(names) >= limit:
            break
    return names
