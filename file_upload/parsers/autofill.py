"""Metadata suggestions from what the parsers saw: values for empty metadata fields.

``suggest(fmt, stats, hints, name)`` returns ``{field: value}``; ``services.parse_file`` applies
a value only where the user left the field empty and records the field in
``File.autofilled_fields``. Every rule is conservative: when the evidence is mixed or weak, the
field is left alone.

Public surface: ``suggest``, ``platform_from_read_names``, ``reference_from_sequences``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

DATA_TYPES = {
    "fastq": "raw reads",
    "sam": "alignment",
    "bam": "alignment",
    "cram": "alignment",
    "vcf": "variants",
    "bcf": "variants",
    "h5ad": "expression matrix",
    "fasta": "reference",
}

# Illumina instrument ids (first field of a CASAVA 1.8+ read name) by prefix; longest first.
ILLUMINA_INSTRUMENTS = (
    ("LH", "Illumina NovaSeq X"),
    ("MN", "Illumina MiniSeq"),
    ("FS", "Illumina iSeq 100"),
    ("NB", "Illumina NextSeq 550"),
    ("NS", "Illumina NextSeq 500"),
    ("VH", "Illumina NextSeq 2000"),
    ("VL", "Illumina NextSeq 1000"),
    ("A", "Illumina NovaSeq 6000"),
    ("M", "Illumina MiSeq"),
    ("D", "Illumina HiSeq 2500"),
    ("J", "Illumina HiSeq 3000"),
    ("K", "Illumina HiSeq 4000"),
    ("E", "Illumina HiSeq X"),
)
PACBIO_INSTRUMENTS = {"m54": "PacBio Sequel", "m64": "PacBio Sequel II", "m84": "PacBio Revio"}

_ILLUMINA = re.compile(r"^([A-Za-z0-9_-]+):\d+:[A-Za-z0-9-]+:\d+:\d+:\d+:\d+(?:[ /]|$)")
_MGI = re.compile(r"^(?:V|E|FP|CL|G)\d+L\dC\d{3}R\d{3}\d+(?:/[12])?(?:\s|$)")
_PACBIO = re.compile(r"^(m\d{2})[0-9a-zA-Z]*_\d{6}_\d{6}(?:_s\d)?/\d+(?:/ccs|/\d+_\d+)")
_ONT = re.compile(r"\brunid=[0-9a-f]+\b")

# chr1 length → assembly
CHR1_LENGTHS = {248956422: "GRCh38", 249250621: "GRCh37", 195154279: "GRCm39", 195471971: "GRCm38"}
TAXA = {
    9606: "Homo sapiens",
    10090: "Mus musculus",
    10116: "Rattus norvegicus",
    7955: "Danio rerio",
    7227: "Drosophila melanogaster",
    6239: "Caenorhabditis elegans",
    559292: "Saccharomyces cerevisiae",
    3702: "Arabidopsis thaliana",
    9544: "Macaca mulatta",
    9598: "Pan troglodytes",
}
_PAIRED_NAME = re.compile(r"(?:[._-]R?[12])(?:[._-]\d{3})?\.(?:fastq|fq)(?:\.gz|\.bgz|\.bz2)?$", re.IGNORECASE)


def _illumina_model(instrument: str) -> str:
    for prefix, model in ILLUMINA_INSTRUMENTS:
        rest = instrument[len(prefix) :]
        if instrument.startswith(prefix) and rest[:1].isdigit():
            return model
    return ""


def platform_from_read_names(names: Sequence[str]) -> tuple[str, str]:
    """``(platform, instrument_model)`` when every sampled read name agrees, else blanks."""
    names = [n for n in names if n]
    if not names:
        return "", ""
    if all(_ONT.search(n) for n in names):
        return "ONT", ""
    pacbio = [_PACBIO.match(n) for n in names]
    if all(pacbio):
        models = {PACBIO_INSTRUMENTS.get(m.group(1), "") for m in pacbio if m}
        return "PacBio", models.pop() if len(models) == 1 else ""
    if all(_MGI.match(n) for n in names):
        return "MGI", ""
    illumina = [_ILLUMINA.match(n) for n in names]
    if all(illumina):
        models = {_illumina_model(m.group(1)) for m in illumina if m}
        return "Illumina", models.pop() if len(models) == 1 else ""
    return "", ""


def _interleaved(names: Sequence[str]) -> bool:
    """Read names alternate mate 1 / mate 2 of the same fragment (``x/1``, ``x/2`` or CASAVA's
    ``x 1:N:…``, ``x 2:N:…``)."""
    if len(names) < 4:
        return False
    pairs = list(zip(names[0::2], names[1::2], strict=False))
    for first, second in pairs:
        a, b = first.split()[0], second.split()[0]
        if a.endswith("/1") and b.endswith("/2") and a[:-2] == b[:-2]:
            continue
        fa, fb = first.split(), second.split()
        if len(fa) > 1 and len(fb) > 1 and fa[0] == fb[0] and fa[1][:2] == "1:" and fb[1][:2] == "2:":
            continue
        return False
    return True


def reference_from_sequences(sequences: Iterable[tuple[str, int]]) -> str:
    for name, length in sequences:
        if name in ("chr1", "1") and length in CHR1_LENGTHS:
            return CHR1_LENGTHS[length]
    return ""


def _organism(hints: dict[str, Any]) -> tuple[str, int | None]:
    terms = [t for t in hints.get("organism_ontology_term_id", []) if t]
    if len(terms) == 1 and terms[0].startswith("NCBITaxon:") and terms[0][10:].isdigit():
        taxon = int(terms[0][10:])
        names = [n for n in hints.get("organism", []) if n]
        name = names[0] if len(names) == 1 else TAXA.get(taxon, "")
        return name, taxon
    names = [n for n in hints.get("organism", []) if n]
    if len(names) == 1:
        taxon = next((t for t, n in TAXA.items() if n.lower() == names[0].lower()), None)
        return names[0], taxon
    return "", None


def mate_names(name: str) -> list[str]:
    """The names the other mate of a paired-end FASTQ would carry (``x_R1.fastq`` → ``x_R2.fastq``);
    empty when the name does not look like one mate of a pair."""
    match = _PAIRED_NAME.search(name)
    if not match:
        return []
    part = match.group(0)
    swapped = re.sub(r"(?<=[._-])(R?)([12])", lambda m: m.group(1) + ("2" if m.group(2) == "1" else "1"), part, count=1)
    return [name[: match.start()] + swapped] if swapped != part else []


def suggest(
    fmt: str, stats: dict[str, Any], hints: dict[str, Any], name: str, *, mate_present: bool = False
) -> dict[str, Any]:
    """Suggested metadata values for a file of format ``fmt`` (empty values are left out). A mate
    name (``_R1``) alone proves nothing: the layout is "paired" from the name only when the other
    mate is there (``mate_present``), or from interleaved mates in the reads themselves."""
    out: dict[str, Any] = {"file_format": fmt, "data_type": DATA_TYPES.get(fmt, "")}
    if fmt == "fastq":
        if stats.get("max_length"):
            out["read_length"] = int(stats["max_length"])
        names = hints.get("read_names", [])
        out["platform"], out["instrument_model"] = platform_from_read_names(names)
        if (mate_present and _PAIRED_NAME.search(name)) or _interleaved(names):
            out["library_layout"] = "paired"
    elif fmt in ("sam", "bam", "cram"):
        refs = [(r["name"], r["length"]) for r in stats.get("references", [])]
        out["reference_genome"] = reference_from_sequences(refs)
        if stats.get("paired") and stats.get("paired") == stats.get("reads", 0) - stats.get("secondary", 0) - stats.get(
            "supplementary", 0
        ):
            out["library_layout"] = "paired"
    elif fmt == "h5ad":
        out["organism"], out["taxon_id"] = _organism(hints)
    return {k: v for k, v in out.items() if v not in ("", None)}
