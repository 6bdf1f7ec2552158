"""Format detection from a bounded prefix of the content, and the table of parsers by format.

Detection looks at magic bytes first (gzip/BGZF, BAM, BCF, CRAM, HDF5), then at the first
records of text (VCF header, SAM header, FASTQ's four-line shape, FASTA's ``>``); the file name is
only a hint for formats that carry no signature (and for sequence formats whose content does not
look right, so that a damaged ``.fastq`` fails in its parser instead of being skipped). Parsers
register per format with ``register``; the built-in ones are registered by
``register_defaults``, which ``parser_for`` calls lazily on first use. A format without a parser
is detected but its statistics are skipped. A new format plugs in by adding a parser class and
one line in ``register_defaults``.

Public surface: ``detect_format``, ``register``, ``register_defaults``, ``parser_for``, ``reset``.
"""

from __future__ import annotations

import importlib
import zlib
from pathlib import Path

from .base import Parser

SNIFF_BYTES = 64 * 1024

_PARSERS: dict[str, Parser] = {}
# The table the built-ins were loaded into (a test may swap the table for one of its own).
_LOADED_INTO: int | None = None

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
    # Sequence formats: normally recognised from the content; the name decides only when the
    # content is not recognisable, and then the parser reports what is wrong.
    ".fastq": "fastq",
    ".fq": "fastq",
    ".fasta": "fasta",
    ".fa": "fasta",
    ".fna": "fasta",
    ".vcf": "vcf",
    ".sam": "sam",
    ".bam": "bam",
    ".cram": "cram",
    ".bcf": "bcf",
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
    fields = first.split(b"\t")
    # Headerless SAM: FLAG, POS and MAPQ are numbers (a headerless VCF line has REF/ALT there).
    if len(fields) >= 11 and fields[1].isdigit() and fields[3].isdigit() and fields[4].isdigit():
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


def register_defaults() -> None:
    """Register the built-in parsers (imported here so that detection alone stays light)."""
    global _LOADED_INTO
    from .bam import AlignmentParser
    from .fasta import FastaParser
    from .fastq import FastqParser
    from .h5ad import H5adParser
    from .vcf import VariantParser

    for parser in (FastqParser(), FastaParser(), VariantParser(), AlignmentParser(), H5adParser()):
        for fmt in parser.formats:
            _PARSERS.setdefault(fmt, parser)
    for dotted in _extra_parser_paths():
        module, _, name = dotted.rpartition(".")
        register(getattr(importlib.import_module(module), name)())
    _LOADED_INTO = id(_PARSERS)


# ``BIOFM_EXTRA_PARSERS``: dotted paths of parser classes that plug in (or replace one) by
# configuration; set by ``configure`` (file_upload's AppConfig.ready), so the parsers never read
# Django's settings (import-linter contract ``pure``). Empty outside Django (benchmarks).
_EXTRA_PARSER_PATHS: list[str] = []


def configure(extra_parser_paths: list[str]) -> None:
    """Name the extra parser classes; they are registered with the built-ins on first use."""
    global _LOADED_INTO
    _EXTRA_PARSER_PATHS[:] = list(extra_parser_paths)
    _LOADED_INTO = None


def _extra_parser_paths() -> list[str]:
    return list(_EXTRA_PARSER_PATHS)


def parser_for(fmt: str) -> Parser | None:
    if _LOADED_INTO != id(_PARSERS):
        register_defaults()
    return _PARSERS.get(fmt)


def reset(*, load_defaults: bool = True) -> None:
    """Forget every registered parser (tests). With ``load_defaults=False`` the built-ins stay
    out too, so a test can register only its own."""
    global _LOADED_INTO
    _PARSERS.clear()
    _LOADED_INTO = None if load_defaults else id(_PARSERS)
