"""Metadata read from content: pure functions from what a reader extracted to findings.

Each function takes plain values (gene ids, FASTA headers, a document's text, read names, an
alignment header as pysam gives it, a VCF header's lines) and returns ``Finding`` objects —
a field, a value, a confidence (0–1), the source and one sentence of evidence a person can
check. Nothing here imports Django or touches a file: the autotag handler reads, these decide,
so every rule is testable on literals. Every rule is conservative: mixed or thin evidence gives
nothing, or a lower confidence.

Public surface: ``Finding``, ``from_gene_ids``, ``from_fasta_headers``, ``from_text``,
``from_read_names``, ``from_alignment_header``, ``from_vcf_header``, ``genome_in``,
``GENOME_ORGANISM``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from file_upload.parsers.autofill import TAXA, platform_from_read_names

EXTRA_TAXA = {
    9031: "Gallus gallus",
    9823: "Sus scrofa",
    9913: "Bos taurus",
    9615: "Canis lupus familiaris",
    8364: "Xenopus tropicalis",
}
ORGANISMS = {**TAXA, **EXTRA_TAXA}
TAXON_OF = {name.lower(): taxon for taxon, name in ORGANISMS.items()}


@dataclass(frozen=True)
class Finding:
    field: str
    value: Any
    confidence: float
    source: str
    evidence: str


def _organism(taxon: int, confidence: float, source: str, evidence: str) -> list[Finding]:
    return [
        Finding("organism", ORGANISMS[taxon], confidence, source, evidence),
        Finding("taxon_id", taxon, confidence, source, evidence),
    ]


def _examples(values: Iterable[str], n: int = 3) -> str:
    return ", ".join(list(dict.fromkeys(values))[:n])


# --- genome builds ---------------------------------------------------------------------------

# (pattern over a word, canonical build); UCSC names map to the GRC assembly they equal.
GENOME_BUILDS = (
    (r"grch38|hg38|homo_sapiens_assembly38|hs38(?:dh)?", "GRCh38"),
    (r"grch37|hg19|b37|hs37d5|human_g1k_v37", "GRCh37"),
    (r"grcm39|mm39", "GRCm39"),
    (r"grcm38|mm10", "GRCm38"),
    (r"grcz11|danrer11", "GRCz11"),
    (r"mratbn7\.2|rn7", "mRatBN7.2"),
    (r"rnor_6\.0|rn6", "Rnor_6.0"),
    (r"bdgp6(?:\.\d+)?|dm6", "BDGP6"),
    (r"wbcel235|ce11", "WBcel235"),
    (r"r64(?:-\d-\d)?|saccer3", "R64"),
    (r"tair10", "TAIR10"),
)
GENOME_ORGANISM = {
    "GRCh38": 9606,
    "GRCh37": 9606,
    "GRCm39": 10090,
    "GRCm38": 10090,
    "GRCz11": 7955,
    "mRatBN7.2": 10116,
    "Rnor_6.0": 10116,
    "BDGP6": 7227,
    "WBcel235": 6239,
    "R64": 559292,
    "TAIR10": 3702,
}
# The length of chromosome 1 names its assembly (UCSC "chr1" and Ensembl "1" alike).
CHR1_LENGTHS = {
    248956422: "GRCh38",
    249250621: "GRCh37",
    195154279: "GRCm39",
    195471971: "GRCm38",
    59578282: "GRCz11",
    260522016: "mRatBN7.2",
    282763074: "Rnor_6.0",
}
_WORD_EDGE = r"(?<![A-Za-z0-9])"
_WORD_END = r"(?![A-Za-z0-9])"


def genome_in(text: str) -> list[tuple[str, str]]:
    """``(build, as written)`` for every genome build named in ``text``, in order."""
    found = []
    for match in re.finditer(r"[A-Za-z][A-Za-z0-9_.\-]*", text):
        word = match.group(0).rstrip(".-_")
        for part in {word, *re.split(r"[_\-/]", word)}:
            build = _build_of(part)
            if build:
                found.append((build, word))
                break
    return found


def _build_of(word: str) -> str:
    lowered = word.lower()
    for pattern, build in GENOME_BUILDS:
        if re.fullmatch(rf"(?:{pattern})(?:\.p\d+)?(?:\.fa|\.fasta|\.fna)?", lowered):
            return build
    return ""


def _genome_from_lengths(sequences: Iterable[tuple[str, int]]) -> tuple[str, str, int]:
    for name, length in sequences:
        if name in ("chr1", "1", "Chr1") and length in CHR1_LENGTHS:
            return CHR1_LENGTHS[length], name, length
    return "", "", 0


# --- gene ids and symbols (h5ad var names, FASTA headers) ----------------------------------

# Ensembl stable ids: ENS + species code (none for human) + feature letter + 11 digits.
_ENSEMBL = re.compile(r"^ENS([A-Z]{3})?([GTPER])\d{11}(?:\.\d+)?$")
ENSEMBL_SPECIES = {
    "": 9606,
    "MUS": 10090,
    "RNO": 10116,
    "DAR": 7955,
    "GAL": 9031,
    "SSC": 9823,
    "BTA": 9913,
    "MMU": 9544,
    "PTR": 9598,
    "CAF": 9615,
    "XET": 8364,
}
OTHER_IDS = (
    (re.compile(r"^FBgn\d{7}$"), 7227, "FlyBase"),
    (re.compile(r"^WBGene\d{8}$"), 6239, "WormBase"),
    (re.compile(r"^AT[1-5CM]G\d{5}(?:\.\d+)?$"), 3702, "TAIR"),
    (re.compile(r"^Y[A-P][LR]\d{3}[WC](?:-[A-Z])?$"), 559292, "SGD systematic"),
)
_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")
MIN_IDS = 5
MIN_SYMBOLS = 10
AGREEMENT = 0.9


def _id_taxon(value: str) -> tuple[int, str] | None:
    match = _ENSEMBL.match(value)
    if match:
        code = match.group(1) or ""
        taxon = ENSEMBL_SPECIES.get(code)
        return (taxon, f"ENS{code}{match.group(2)}") if taxon else None
    for pattern, taxon, kind in OTHER_IDS:
        if pattern.match(value):
            return taxon, kind
    return None


def _symbol_style(symbol: str) -> str:
    """``upper`` (human HGNC style: CD3E, C1orf112, MT-CO1), ``capital`` (mouse MGI style: Cd3e,
    mt-Co1, 1700016K19Rik), ``lower`` (zebrafish ZFIN style: actb1) or '' when it says nothing."""
    core = re.sub(r"^(?:MT|mt)-", "", symbol)
    core = re.sub(r"(?<=\d)orf(?=\d)", "", core)  # C1orf112: human despite the lower-case "orf"
    letters = [c for c in core if c.isalpha()]
    if len(letters) < 2 or not _SYMBOL.match(symbol):
        return ""
    if all(c.isupper() for c in letters):
        return "upper"
    if all(c.islower() for c in letters):
        return "lower"
    first = next(c for c in core if c.isalpha())
    rest = core[core.index(first) + 1 :]
    if first.isupper() and any(c.islower() for c in rest):
        return "capital"
    return ""


SYMBOL_STYLES = {
    "upper": (9606, 0.75, "upper-case as human (HGNC) gene symbols are"),
    "capital": (10090, 0.7, "capitalised as mouse (MGI) gene symbols are (rat symbols look alike)"),
    "lower": (7955, 0.6, "lower-case as zebrafish (ZFIN) gene symbols are"),
}


def from_gene_ids(values: Sequence[str], where: str = "the gene names") -> list[Finding]:
    """Organism from gene identifiers: Ensembl (and FlyBase, WormBase, TAIR, SGD) id prefixes
    first; else the letter case of gene symbols."""
    values = [str(v).strip() for v in values if v is not None and str(v).strip()]
    ids: Counter[int] = Counter()
    kinds: dict[int, list[str]] = {}
    symbols = []
    for value in values:
        hit = _id_taxon(value)
        if hit:
            ids[hit[0]] += 1
            kinds.setdefault(hit[0], []).append(value)
        elif not re.match(r"^ENS[A-Z]*\d", value):  # an id of an unknown species is no symbol
            symbols.append(value)
    total = sum(ids.values())
    if total >= MIN_IDS:
        taxon, count = ids.most_common(1)[0]
        if count >= AGREEMENT * total:
            prefix = _id_taxon(kinds[taxon][0])[1]  # type: ignore[index]
            why = (
                f"{count:,} of {total:,} gene ids in {where} have the {prefix} prefix of "
                f"{ORGANISMS[taxon]} (e.g. {_examples(kinds[taxon], 2)})"
            )
            return _organism(taxon, 0.95, "gene_ids", why)
        return []
    styles = [(s, _symbol_style(s)) for s in symbols]
    styled = [(s, style) for s, style in styles if style]
    if len(styled) < MIN_SYMBOLS:
        return []
    counts = Counter(style for _, style in styled)
    style, count = counts.most_common(1)[0]
    if count < 0.85 * len(styled):
        return []
    taxon, confidence, words = SYMBOL_STYLES[style]
    sample = _examples((s for s, st in styled if st == style), 3)
    why = f"{count:,} of {len(styled):,} gene symbols in {where} are {words} (e.g. {sample})"
    return _organism(taxon, confidence, "gene_symbols", why)


# --- species in words ----------------------------------------------------------------------

# (pattern, taxon, strength): binomials and strains name the organism; common words less so.
SPECIES_WORDS = (
    (r"Homo sapiens|H\. sapiens", 9606, "binomial"),
    (r"Mus musculus|M\. musculus", 10090, "binomial"),
    (r"Rattus norvegicus|R\. norvegicus", 10116, "binomial"),
    (r"Danio rerio|D\. rerio", 7955, "binomial"),
    (r"Drosophila melanogaster|D\. melanogaster", 7227, "binomial"),
    (r"Caenorhabditis elegans|C\. elegans", 6239, "binomial"),
    (r"Saccharomyces cerevisiae|S\. cerevisiae", 559292, "binomial"),
    (r"Arabidopsis thaliana|A\. thaliana", 3702, "binomial"),
    (r"Macaca mulatta|rhesus macaques?", 9544, "binomial"),
    (r"C57BL/6[JN]?|C57BL6[JN]?|BALB/c[J]?|DBA/2[J]?|129S\d(?:/Sv\w*)?|FVB/N[J]?|CD-1|NOD[/.]SCID", 10090, "strain"),
    (r"Sprague[- ]Dawley|Wistar|Long[- ]Evans", 10116, "strain"),
    (r"HEK ?293T?|HeLa|K562|HepG2|MCF-?7|Jurkat|iPSCs? from (?:a )?(?:human|patient)", 9606, "cell line"),
    (r"NIH[/ ]?3T3", 10090, "cell line"),
    (r"humans?|patients?|donors?", 9606, "word"),
    (r"mouse|mice|murine", 10090, "word"),
    (r"rats?", 10116, "word"),
    (r"zebrafish", 7955, "word"),
    (r"fruit ?fl(?:y|ies)", 7227, "word"),
    (r"yeast", 559292, "word"),
)
STRENGTH = {"binomial": 3, "strain": 3, "cell line": 2, "word": 1}
STRENGTH_WORDS = {"binomial": "names", "strain": "names the strain", "cell line": "names the cell line", "word": "says"}


def _species_in(text: str) -> list[Finding]:
    scores: Counter[int] = Counter()
    seen: dict[int, list[tuple[str, str]]] = {}
    for pattern, taxon, kind in SPECIES_WORDS:
        flags = re.IGNORECASE if kind == "word" else 0
        for match in re.finditer(rf"{_WORD_EDGE}(?:{pattern}){_WORD_END}", text, flags):
            scores[taxon] += STRENGTH[kind]
            seen.setdefault(taxon, []).append((kind, match.group(0)))
    if not scores:
        return []
    (taxon, score), *rest = scores.most_common()
    runner_up = rest[0][1] if rest else 0
    if score < 2 * runner_up:
        return []
    kinds = seen[taxon]
    best = max(kinds, key=lambda k: STRENGTH[k[0]])
    confidence = 0.85 if STRENGTH[best[0]] >= 3 else 0.75 if STRENGTH[best[0]] == 2 else 0.65
    if runner_up:
        confidence -= 0.15
    why = f"the text {STRENGTH_WORDS[best[0]]} “{best[1]}”"
    if len(kinds) > 1:
        why += f" ({len(kinds)} mentions of {ORGANISMS[taxon]})"
    return _organism(taxon, confidence, "text", why)


def _sex_in(text: str) -> list[Finding]:
    female = re.findall(r"\b(?:females?|women|woman|girls?)\b", text, re.IGNORECASE)
    male = re.findall(r"\b(?:males?|men|man|boys?)\b", text, re.IGNORECASE)
    if female and not male:
        return [Finding("sex", "female", 0.8, "text", f"the text says “{female[0]}” and never male")]
    if male and not female:
        return [Finding("sex", "male", 0.8, "text", f"the text says “{male[0]}” and never female")]
    if male and female:
        return [Finding("sex", "mixed", 0.55, "text", f"the text mentions both “{female[0]}” and “{male[0]}”")]
    return []


# (pattern, platform, instrument model as the vocabulary of read-name models spells it)
INSTRUMENTS = (
    (r"NovaSeq\s*X(?:\s*Plus)?", "Illumina", "Illumina NovaSeq X"),
    (r"NovaSeq(?:\s*6000)?", "Illumina", "Illumina NovaSeq 6000"),
    (r"HiSeq\s*X(?:\s*Ten)?", "Illumina", "Illumina HiSeq X"),
    (r"HiSeq\s*(2000|2500|3000|4000)", "Illumina", "Illumina HiSeq {0}"),
    (r"NextSeq\s*(500|550|1000|2000)", "Illumina", "Illumina NextSeq {0}"),
    (r"MiSeq", "Illumina", "Illumina MiSeq"),
    (r"MiniSeq", "Illumina", "Illumina MiniSeq"),
    (r"iSeq\s*100", "Illumina", "Illumina iSeq 100"),
    (r"DNBSEQ-?(G400|G50|T7|T20)", "MGI", "DNBSEQ-{0}"),
    (r"MGISEQ-?(2000|200)", "MGI", "MGISEQ-{0}"),
    (r"BGISEQ-?(500|50)", "MGI", "BGISEQ-{0}"),
    (r"PromethION", "ONT", "PromethION"),
    (r"GridION", "ONT", "GridION"),
    (r"MinION", "ONT", "MinION"),
    (r"Sequel\s*IIe", "PacBio", "PacBio Sequel IIe"),
    (r"Sequel\s*II", "PacBio", "PacBio Sequel II"),
    (r"Sequel", "PacBio", "PacBio Sequel"),
    (r"Revio", "PacBio", "PacBio Revio"),
)
PLATFORM_WORDS = (
    (r"Illumina", "Illumina"),
    (r"Oxford Nanopore|nanopore", "ONT"),
    (r"PacBio|Pacific Biosciences", "PacBio"),
    (r"MGI|BGI|DNBSEQ", "MGI"),
)


def _instruments_in(text: str) -> list[Finding]:
    models: dict[str, tuple[str, str]] = {}
    remaining = text
    for pattern, platform, model in INSTRUMENTS:
        for match in re.finditer(rf"{_WORD_EDGE}(?:{pattern}){_WORD_END}", remaining, re.IGNORECASE):
            name = model.format(*(g.upper() for g in match.groups()))
            models.setdefault(name, (platform, match.group(0)))
        # a longer name (NovaSeq X) must not also count as the shorter one (NovaSeq)
        remaining = re.sub(rf"{_WORD_EDGE}(?:{pattern}){_WORD_END}", " ", remaining, flags=re.IGNORECASE)
    platforms = {platform for platform, _ in models.values()}
    if len(models) == 1:
        model, (platform, written) = next(iter(models.items()))
        why = f"the text names the instrument “{written}”"
        return [Finding("platform", platform, 0.85, "text", why), Finding("instrument_model", model, 0.85, "text", why)]
    if len(platforms) == 1:
        platform = platforms.pop()
        written = _examples(w for _, w in models.values())
        return [
            Finding("platform", platform, 0.8, "text", f"every instrument the text names is {platform} ({written})")
        ]
    if models:
        return []
    named = {
        platform: m.group(0) for pattern, platform in PLATFORM_WORDS for m in [re.search(rf"\b{pattern}\b", text)] if m
    }
    if len(named) == 1:
        platform, written = next(iter(named.items()))
        return [Finding("platform", platform, 0.65, "text", f"the text mentions “{written}”")]
    return []


def _genome_findings(found: list[tuple[str, str]], source: str, confidence: float, where: str) -> list[Finding]:
    if not found:
        return []
    counts = Counter(build for build, _ in found)
    (build, count), *rest = counts.most_common()
    written = next(w for b, w in found if b == build)
    if rest:
        if count < 2 * rest[0][1]:
            return []
        confidence -= 0.25
    as_written = "" if written.lower() == build.lower() else f", i.e. {build}"
    return [Finding("reference_genome", build, confidence, source, f"{where} “{written}”{as_written}")]


ASSAY_WORDS = (
    (r"scRNA-?seq|single[- ]cell RNA|snRNA-?seq|single[- ]nucle(?:us|i) RNA|10x Genomics Chromium", "scRNA-seq"),
    (r"ATAC-?seq", "ATAC-seq"),
    (r"ChIP-?seq", "ChIP-seq"),
    (r"whole[- ]genome bisulfite|WGBS|RRBS|bisulfite sequencing", "Bisulfite-seq"),
    (r"Hi-?C", "Hi-C"),
    (r"whole[- ]exome|exome sequencing|WES", "WES"),
    (r"whole[- ]genome sequencing|WGS", "WGS"),
    (r"16S rRNA|amplicon sequencing", "Amplicon"),
    (r"RNA-?seq|RNA sequencing|transcriptom\w*", "RNA-seq"),
)


def _assay_in(text: str) -> list[Finding]:
    counts: Counter[str] = Counter()
    written: dict[str, str] = {}
    remaining = text
    for pattern, assay in ASSAY_WORDS:
        regex = rf"{_WORD_EDGE}(?:{pattern}){_WORD_END}"
        for match in re.finditer(regex, remaining, re.IGNORECASE if assay != "Hi-C" else 0):
            counts[assay] += 1
            written.setdefault(assay, match.group(0))
        remaining = re.sub(regex, " ", remaining, flags=re.IGNORECASE if assay != "Hi-C" else 0)
    if not counts:
        return []
    (assay, count), *rest = counts.most_common()
    if rest and count < 2 * rest[0][1]:
        return []
    return [Finding("assay_type", assay, 0.6 if rest else 0.7, "text", f"the text says “{written[assay]}”")]


def from_text(text: str) -> list[Finding]:
    """Organism (binomials, strains such as C57BL/6J, cell lines, common words), sex, platform
    and instrument, genome build and assay from a document's prose (a methods section, a README,
    a sample sheet)."""
    return [
        *_species_in(text),
        *_sex_in(text),
        *_instruments_in(text),
        *_genome_findings(genome_in(text), "text", 0.85, "the text names the genome build"),
        *_assay_in(text),
    ]


# --- sequence files ------------------------------------------------------------------------

UNIPROT_MNEMONICS = {
    "HUMAN": 9606,
    "MOUSE": 10090,
    "RAT": 10116,
    "DANRE": 7955,
    "DROME": 7227,
    "CAEEL": 6239,
    "YEAST": 559292,
    "ARATH": 3702,
    "BOVIN": 9913,
    "CHICK": 9031,
    "PIG": 9823,
}


def from_fasta_headers(headers: Sequence[str]) -> list[Finding]:
    """Organism and genome build from FASTA header lines (without the ``>``): UniProt's ``OX=``
    and ``_HUMAN``-style entry names, NCBI's "Homo sapiens chromosome 1, GRCh38.p14", Ensembl
    ids, and build names."""
    headers = [h.strip() for h in headers if h and h.strip()]
    if not headers:
        return []
    votes: Counter[int] = Counter()
    example: dict[int, str] = {}
    for header in headers:
        taxon = None
        ox = re.search(r"\bOX=(\d+)\b", header)
        mnemonic = re.match(r"^(?:sp|tr)\|[^|]+\|[A-Z0-9]+_([A-Z0-9]+)\b", header)
        if ox and int(ox.group(1)) in ORGANISMS:
            taxon = int(ox.group(1))
        elif mnemonic and mnemonic.group(1) in UNIPROT_MNEMONICS:
            taxon = UNIPROT_MNEMONICS[mnemonic.group(1)]
        else:
            named = next(
                (t for t, n in ORGANISMS.items() if re.search(rf"\b{re.escape(n)}\b", header, re.IGNORECASE)), None
            )
            first = header.split()[0]
            hit = _id_taxon(first.split("|")[0])
            taxon = named or (hit[0] if hit else None)
        if taxon:
            votes[taxon] += 1
            example.setdefault(taxon, header)
    out: list[Finding] = []
    if votes:
        taxon, count = votes.most_common(1)[0]
        if count >= AGREEMENT * sum(votes.values()):
            why = f"{count:,} of {len(headers):,} FASTA headers name {ORGANISMS[taxon]} (e.g. “{example[taxon][:80]}”)"
            out += _organism(taxon, 0.9, "fasta_headers", why)
    builds = [found for header in headers for found in genome_in(header)]
    out += _genome_findings(builds, "fasta_headers", 0.85, "the FASTA headers name")
    return out


def from_read_names(names: Sequence[str]) -> list[Finding]:
    """Platform and instrument from read-name conventions (Illumina instrument ids, MGI, ONT,
    PacBio movie names): every sampled name must agree."""
    names = [n for n in names if n]
    platform, model = platform_from_read_names(names)
    if not platform:
        return []
    why = f"all {len(names):,} sampled read names follow the {platform} convention (e.g. “{names[0][:60]}”)"
    out = [Finding("platform", platform, 0.9, "read_names", why)]
    if model:
        instrument = names[0].split(":")[0].lstrip("@") if platform == "Illumina" else names[0].split("_")[0]
        out.append(
            Finding("instrument_model", model, 0.85, "read_names", f"{why}; instrument id “{instrument}” is a {model}")
        )
    return out


def from_alignment_header(header: dict[str, Any]) -> list[Finding]:
    """Reference genome, organism and platform from a SAM/BAM/CRAM header (pysam's dict): the
    length of chr1 in ``@SQ``, its ``AS`` (assembly) and ``SP`` (species) tags, the reference
    named in ``@PG`` command lines, and ``@RG`` ``PL``/``PM``."""
    out: list[Finding] = []
    sequences = [s for s in header.get("SQ") or [] if isinstance(s, dict)]
    build, name, length = _genome_from_lengths((str(s.get("SN", "")), int(s.get("LN") or 0)) for s in sequences)
    if build:
        out.append(
            Finding("reference_genome", build, 0.95, "bam_header", f"@SQ {name} is {length:,} bp long, as in {build}")
        )
    assemblies = [(b, w) for s in sequences if s.get("AS") for b, w in genome_in(str(s["AS"]))]
    out += _genome_findings(assemblies, "bam_header", 0.9, "the @SQ lines' AS tag says")
    commands = [str(p.get("CL", "")) for p in header.get("PG") or [] if isinstance(p, dict)]
    out += _genome_findings(
        [f for cl in commands for f in genome_in(cl)], "bam_header", 0.8, "the @PG command line names"
    )
    species = Counter(str(s["SP"]) for s in sequences if s.get("SP"))
    if len(species) == 1:
        written = next(iter(species))
        taxon = TAXON_OF.get(written.lower()) or next(
            (t for t, n in ORGANISMS.items() if n.split()[0].lower() == written.lower()), None
        )
        if taxon:
            out += _organism(taxon, 0.9, "bam_header", f"the @SQ lines' SP tag says “{written}”")
    groups = [g for g in header.get("RG") or [] if isinstance(g, dict)]
    platforms = {str(g.get("PL", "")).upper() for g in groups if g.get("PL")}
    pl_map = {"ILLUMINA": "Illumina", "ONT": "ONT", "PACBIO": "PacBio", "DNBSEQ": "MGI", "BGI": "MGI", "MGI": "MGI"}
    if len(platforms) == 1 and next(iter(platforms)) in pl_map:
        written = next(iter(platforms))
        out.append(Finding("platform", pl_map[written], 0.9, "bam_header", f"the read groups say PL:{written}"))
    models = {str(g["PM"]) for g in groups if g.get("PM")}
    if len(models) == 1:
        found = _instruments_in(next(iter(models)))
        out += [
            Finding(f.field, f.value, 0.85, "bam_header", f"the read groups say PM:{next(iter(models))}")
            for f in found
            if f.field == "instrument_model"
        ]
    return out


def from_vcf_header(lines: Sequence[str]) -> list[Finding]:
    """Reference genome (and so organism) from VCF header lines: ``##contig`` lengths and
    ``assembly=``, ``##reference=``, and ``species=`` where a caller wrote it."""
    out: list[Finding] = []
    contigs = []
    assemblies = []
    references = []
    for line in lines:
        if line.startswith("##contig=<"):
            fields = dict(re.findall(r"(\w+)=(\"[^\"]*\"|[^,>]*)", line[10:]))
            if fields.get("length", "").isdigit():
                contigs.append((fields.get("ID", ""), int(fields["length"])))
            if fields.get("assembly"):
                assemblies += genome_in(fields["assembly"].strip('"'))
        elif line.startswith("##reference="):
            references += genome_in(line[12:])
        elif line.startswith("##assembly="):
            assemblies += genome_in(line[11:])
    build, name, length = _genome_from_lengths(contigs)
    if build:
        why = f"##contig {name} is {length:,} bp long, as in {build}"
        out.append(Finding("reference_genome", build, 0.9, "vcf_header", why))
    out += _genome_findings(assemblies, "vcf_header", 0.9, "the ##contig assembly is")
    out += _genome_findings(references, "vcf_header", 0.8, "##reference names")
    return out
