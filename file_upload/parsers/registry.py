"""Format detection from a bounded prefix of the content, and the table of parsers by format.

Detection looks at magic bytes first (gzip/BGZF, BAM, BCF, CRAM, HDF5), then at the first
records of text (VCF header, SAM header, FASTQ's four-line shape, FASTA's ``>``); the file name is
only a hint for formats that carry no signature. Parsers register themselves per format with
``register``; a format without a parser is detected but its statistics are skipped.

Public surface: ``detect_format``, ``register``, ``parser_for``, ``reset``.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from .base import Parser

SNIFF_BYTES = 64 * 1024

_PARSERS: dict[str, Parser] = {}

_EXTENSION_HINTS = {
    ".bed": "bed",
    ".gff": "gff",
    ".gff3": "gff",
    ".gtf": "gtf",
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "text",
    ".json": "json",
    ".md": "text",
    ".h5ad": "h5ad",
    ".loom": "loom",
    ".mtx": "mtx",
}


def _gunzip_prefix(raw: bytes) -> bytes:
    """Decompress as much of a gzip/BGZF prefix as the bytes allow (multi-member aware)."""
    out = bytearray()
    data = raw
    while data and len(out) < SNIFF_BYTES:
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += decompressor.decompress(data, SNIFF_BYTES - len(out))
        except zlib.error:
            break
        if not decompressor.eof:
            break
        data = decompressor.unused_data
    return bytes(out)


def _strip_compression_suffix(name: str) -> str:
    lowered = name.lower()
    for suffix in (".gz", ".bgz", ".bz2", ".xz"):
        if lowered.endswith(suffix):
            return lowered[: -len(suffix)]
    return lowered


def _sniff_text(text: bytes) -> str | None:
    if text.startswith(b"##fileformat=VCF"):
        return "vcf"
    lines = text.split(b"\n", 8)
    first = lines[0].rstrip(b"\r")
    if first[:4] in (b"@HD\t", b"@SQ\t", b"@RG\t", b"@PG\t", b"@CO\t"):
        return "sam"
    if first.startswith(b"@") and len(lines) > 3 and lines[2].startswith(b"+"):
        return "fastq"
    if first.startswith(b">"):
        return "fasta"
    if first.count(b"\t") >= 10 and lines[0].split(b"\t")[1].isdigit():
        return "sam"
    return None


def detect_format(path: Path, name: str = "") -> str:
    """Return a short format name (``fastq``, ``bam``, ``vcf``, ...) or ``""`` when unknown."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    hint_name = _strip_compression_suffix(name or path.name)
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "h5ad" if hint_name.endswith(".h5ad") else "hdf5"
    if head.startswith(b"CRAM"):
        return "cram"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"\x1f\x8b"):
        inner = _gunzip_prefix(head)
        if inner.startswith(b"BAM\x01"):
            return "bam"
        if inner.startswith(b"BCF\x02"):
            return "bcf"
        return _sniff_text(inner) or _EXTENSION_HINTS.get(Path(hint_name).suffix, "")
    return _sniff_text(head) or _EXTENSION_HINTS.get(Path(hint_name).suffix, "")


def register(parser: Parser) -> None:
    for fmt in parser.formats:
        _PARSERS[fmt] = parser


def parser_for(fmt: str) -> Parser | None:
    return _PARSERS.get(fmt)


def reset() -> None:
    """Forget every registered parser (tests)."""
    _PARSERS.clear()
