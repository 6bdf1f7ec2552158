"""Metadata suggestions for a file's empty fields, each with a confidence (0–1) and the evidence.

Sources, strongest first:
- an NCBI record the file was imported from (``ncbi_bridge.NcbiImport``) or whose accession the
  file carries: the metadata NCBI gave;
- the content, through ``file_upload.parsers.autofill`` (the rules the upload-time autofill
  uses): format and data type, read length, paired layout (interleaved mates, or the other
  mate's file in the folder);
- what ``ml_interface.inference`` reads in the content (pure rules, each finding with its
  evidence): platform and instrument from read-name conventions; reference genome, organism and
  platform from an alignment header (``@SQ`` lengths, ``AS``/``SP``, ``@PG`` command lines,
  ``@RG`` ``PL``/``PM``) and a VCF header (contig lengths, ``assembly=``, ``##reference``);
  organism from an h5ad's gene ids (Ensembl prefixes) or gene-symbol case, and from FASTA
  headers; organism, sex, platform, instrument, genome build and assay from a text document;
- an h5ad's ``obs`` columns named as the CELLxGENE schema names them (organism, tissue,
  cell_type, disease, sex, development_stage, assay), used when the file holds one value
  (``sex``: ``mixed`` when several);
- the file name: Illumina's ``<sample>_S<n>_L<lane>_R1_001.fastq.gz``, accessions, assembly
  names (hg38, GRCm39, ...) and assay words (scRNA, ATAC, ChIP, exome, ...), with less weight.

``params.apply = true`` writes the suggestions at or above ``BIOFM_AUTOTAG_MIN_CONFIDENCE``
(``params.min_confidence`` may raise it; ``params.fields`` limits it to some fields) through
``file_upload.services.update_file`` — only into fields still empty or holding a value the app
filled in itself (``autofilled_fields``; such values stay marked as autofilled), and only for a
submitter who may edit the file; each write is audited (``file.update`` and
``ml.autotag.apply``). Suggestions too are made only for empty or autofilled fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction

from access.policy import Action, can
from authentication import audit
from file_upload import services as file_services
from file_upload.metadata import METADATA_FIELD_NAMES, METADATA_FIELDS
from file_upload.models import File
from file_upload.parsers import autofill

from .. import inference
from ..models import MLTask
from ..registry import AnalysisError
from .common import TEXT_FORMATS, blob_path, file_format, read_names, read_text, stats_for

SPECS = {spec.name: spec for spec in METADATA_FIELDS}
NAME_ASSAYS = (
    (r"sc[-_]?rna|scrnaseq|single[-_]?cell|10x", "scRNA-seq"),
    (r"atac", "ATAC-seq"),
    (r"chip[-_]?seq|chip", "ChIP-seq"),
    (r"wgbs|bisulfite|bs[-_]?seq|rrbs", "Bisulfite-seq"),
    (r"hi[-_]?c", "Hi-C"),
    (r"exome|wes", "WES"),
    (r"wgs|whole[-_]?genome", "WGS"),
    (r"amplicon|16s", "Amplicon"),
    (r"rna[-_]?seq|rnaseq|transcriptom", "RNA-seq"),
)
NAME_ACCESSIONS = (
    (r"(?:SRR|ERR|DRR)\d{5,}", "sra_accession"),
    (r"PRJ(?:NA|EB|DB)\d+", "bioproject_accession"),
    (r"SAM(?:N|EA|D)\d+", "biosample_accession"),
)
ILLUMINA_SAMPLE = re.compile(r"^(?P<sample>.+?)_S\d+(?:_L\d{3})?_[RI][12]_001\.f(?:ast)?q(?:\.gz)?$", re.IGNORECASE)
CELLXGENE_COLUMNS = {
    "tissue": "tissue",
    "cell_type": "cell_type",
    "disease": "disease",
    "development_stage": "developmental_stage",
    "sex": "sex",
}
CONFIDENCE = {
    "ncbi": 0.95,
    "content": 0.95,
    "read_names": 0.9,
    "h5ad": 0.9,
    "vcf_header": 0.9,
    "name_convention": 0.85,
    "name_accession": 0.85,
    "derived": 0.85,
    "name_words": 0.6,
}
MAX_TEXT_BYTES = 2 * 1024 * 1024  # of a document read for words
MAX_FASTA_HEADERS = 500
MAX_GENE_NAMES = 5000
GENE_ID_COLUMNS = ("gene_ids", "gene_id", "feature_id", "ensembl_id", "gene_symbols", "feature_name", "gene_name",
                   "gene_symbol", "symbol")  # fmt: skip


@dataclass
class Suggestion:
    field: str
    value: Any
    confidence: float
    source: str
    evidence: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "label": SPECS[self.field].label,
            "value": self.value,
            "confidence": round(self.confidence, 3),
            "source": self.source,
            "evidence": self.evidence,
        }


def _valid(field_name: str, value: Any) -> Any:
    """The value in the field's type, or None when it does not fit (vocabularies, integers)."""
    spec = SPECS.get(field_name)
    if spec is None or value in (None, ""):
        return None
    if spec.kind == "integer":
        try:
            number = int(value)
        except (TypeError, ValueError):
            return None
        return number if number > 0 else None
    if spec.kind == "choice":
        text = str(value).strip()
        return next((choice for choice in spec.choices or () if choice.lower() == text.lower()), None)
    if spec.kind == "date":
        return None  # dates are never guessed
    return str(value).strip()[:255] or None


class Collector:
    """Merges suggestions per field: agreeing sources raise the confidence, disagreeing ones
    keep the strongest value at a lower confidence."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[Suggestion]] = {}

    def add(self, field_name: str, value: Any, source: str, evidence: str, confidence: float | None = None) -> None:
        value = _valid(field_name, value)
        if value is None:
            return
        suggestion = Suggestion(field_name, value, confidence or CONFIDENCE[source], source, [evidence])
        self.by_field.setdefault(field_name, []).append(suggestion)

    def merged(self) -> list[Suggestion]:
        out = []
        for field_name, items in self.by_field.items():
            items.sort(key=lambda s: -s.confidence)
            best = items[0]
            agreeing = [s for s in items if str(s.value).lower() == str(best.value).lower()]
            other = [s for s in items if s not in agreeing]
            confidence = best.confidence
            for extra in agreeing[1:]:
                confidence = 1 - (1 - confidence) * (1 - extra.confidence * 0.5)
            if other:
                confidence *= 0.7
            evidence = [e for s in agreeing for e in s.evidence]
            evidence += [f"but {s.source} says “{s.value}”: {s.evidence[0]}" for s in other]
            out.append(Suggestion(field_name, best.value, min(confidence, 0.99), best.source, evidence))
        return sorted(out, key=lambda s: list(METADATA_FIELD_NAMES).index(s.field))


# --- sources -------------------------------------------------------------------------------------


def from_ncbi(file: File, found: Collector) -> None:
    from ncbi_bridge.models import ImportStatus, NcbiImport

    accessions = [a for a in (file.sra_accession, file.biosample_accession, file.bioproject_accession) if a]
    rows = NcbiImport.objects.filter(status=ImportStatus.DONE).filter(project=file.project)
    for row in rows.order_by("-updated_at")[:500]:
        if file.id in (row.file_ids or []) or row.file_id == file.id or row.accession in accessions:
            for name, value in (row.metadata or {}).items():
                if name in METADATA_FIELD_NAMES:
                    found.add(name, value, "ncbi", f"NCBI {row.get_kind_display()} record {row.accession}")


def take(found: Collector, findings: Iterable[inference.Finding]) -> None:
    for f in findings:
        found.add(f.field, f.value, f.source, f.evidence, f.confidence)


def from_content(file: File, fmt: str, stats: dict[str, Any], hints: dict[str, Any], found: Collector) -> None:
    if fmt == "fastq" and "read_names" not in hints:
        hints = {**hints, "read_names": read_names(file)}
    from file_upload.services import mate_files

    mates = mate_files(file) if fmt == "fastq" else []
    values = autofill.suggest(fmt, stats, hints, file.name, mate_present=bool(mates))
    for name, value in values.items():
        if name == "file_format":
            found.add(name, value, "content", f"the content is {value.upper()} (magic bytes and first records)")
        elif name == "data_type":
            found.add(name, value, "content", f"{fmt.upper()} files hold {value}")
        elif name == "read_length":
            found.add(name, value, "content", f"the longest read has {value} bases")
        elif name == "library_layout":
            if mates:
                found.add(
                    name, value, "name_convention", f"“{file.name}” and its mate “{mates[0].name}” are in this folder"
                )
            else:
                found.add(name, value, "content", "every read is paired (flags or interleaved mates)")
        elif name in ("organism", "taxon_id"):
            found.add(name, value, "h5ad", "obs organism columns (CELLxGENE schema) hold one organism")
        # platform, instrument and reference genome: the inference rules below say why
    if fmt == "fastq":
        take(found, inference.from_read_names(hints.get("read_names") or []))
    elif fmt in ("sam", "bam", "cram"):
        header = stats.get("header") or {}
        if not header.get("SQ") and stats.get("references"):
            header = {**header, "SQ": [{"SN": r["name"], "LN": r["length"]} for r in stats["references"]]}
        take(found, inference.from_alignment_header(header))


def from_vcf_header(file: File, found: Collector) -> None:
    import pysam

    try:
        with pysam.VariantFile(str(blob_path(file))) as variants:
            header = variants.header
            lines = str(header).splitlines()
            samples = list(header.samples)
    except (OSError, ValueError):
        return
    take(found, inference.from_vcf_header(lines))
    if len(samples) == 1:
        found.add("sample_id", samples[0], "vcf_header", f"the only sample column is “{samples[0]}”", 0.7)


def from_fasta(file: File, found: Collector) -> None:
    try:
        text = read_text(file, MAX_TEXT_BYTES)
    except AnalysisError:
        return
    headers = [line[1:] for line in text.splitlines() if line.startswith(">")][:MAX_FASTA_HEADERS]
    take(found, inference.from_fasta_headers(headers))


def from_document(file: File, found: Collector) -> None:
    try:
        text = read_text(file, MAX_TEXT_BYTES)
    except AnalysisError:
        return
    findings = inference.from_text(text)
    take(found, findings)
    if findings:  # prose that speaks of samples and runs, not a table of numbers
        found.add("data_type", "document", "content", "the file is prose describing the samples or the run", 0.7)


def gene_names(handle: Any) -> dict[str, list[str]]:
    """The var index and the var columns that hold gene ids or symbols (a bounded sample)."""
    import h5py

    var = handle.get("var")
    out: dict[str, list[str]] = {}
    if not isinstance(var, h5py.Group):
        return out
    index = var.attrs.get("_index", "_index")
    index = index.decode() if isinstance(index, bytes) else str(index)
    for key, where in [(index, "var_names"), *((c, f"var['{c}']") for c in GENE_ID_COLUMNS)]:
        node = var.get(key)
        if isinstance(node, h5py.Group) and "categories" in node:
            node = node["categories"]
        if isinstance(node, h5py.Dataset) and node.dtype.kind in ("S", "O", "U") and node.ndim == 1:
            raw = node[: min(node.shape[0], MAX_GENE_NAMES)]
            out[where] = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in raw]
    return out


def from_h5ad(file: File, found: Collector) -> None:
    import h5py
    from anndata.io import read_elem

    try:
        with h5py.File(blob_path(file), "r") as handle:
            obs = read_elem(handle["obs"]) if "obs" in handle else None
            genes = gene_names(handle)
    except Exception:  # not readable AnnData: the content source already says what it is
        return
    for where, values in genes.items():
        findings = inference.from_gene_ids(values, where)
        take(found, findings)
        if findings and findings[0].source == "gene_ids":
            break  # ids are the stronger evidence; symbols in another column add nothing
    if obs is None or len(obs) == 0:
        return
    for column, field_name in CELLXGENE_COLUMNS.items():
        if column not in obs.columns:
            continue
        values = [str(v) for v in obs[column].dropna().unique().tolist() if str(v) not in ("", "unknown", "na")]
        if len(values) == 1:
            found.add(field_name, values[0], "h5ad", f"obs['{column}'] is “{values[0]}” for all {len(obs):,} cells")
        elif field_name == "sex" and values:
            found.add("sex", "mixed", "h5ad", f"obs['sex'] holds {', '.join(sorted(values)[:4])}")
    if "assay" in obs.columns:
        assays = [str(v) for v in obs["assay"].dropna().unique().tolist()]
        if assays and all("10x" in a.lower() for a in assays):
            found.add("assay_type", "scRNA-seq", "h5ad", f"obs['assay'] is {', '.join(assays[:3])}")
            found.add("platform", "10x Genomics", "h5ad", f"obs['assay'] is {', '.join(assays[:3])}")
    if "organism_ontology_term_id" not in obs.columns and "organism" in obs.columns:
        organisms = obs["organism"].dropna().unique().tolist()
        if len(organisms) == 1:
            found.add("organism", str(organisms[0]), "h5ad", f"obs['organism'] is “{organisms[0]}”")


def from_name(file: File, found: Collector) -> None:
    name = file.name
    lowered = name.lower()
    match = ILLUMINA_SAMPLE.match(name)
    if match:
        found.add("sample_id", match.group("sample"), "name_convention",
                  f"“{name}” follows Illumina's <sample>_S<n>_L<lane>_R<n>_001 naming")  # fmt: skip
    for pattern, field_name in NAME_ACCESSIONS:
        hit = re.search(pattern, name)
        if hit:
            found.add(field_name, hit.group(0), "name_accession", f"the name contains the accession {hit.group(0)}")
    tokens = re.split(r"[^a-z0-9]+", lowered)
    genomes = inference.genome_in(" ".join(tokens))
    if genomes:
        found.add("reference_genome", genomes[0][0], "name_words", f"the name mentions {genomes[0][1]}")
    stem = re.sub(r"\.(fastq|fq|bam|sam|cram|vcf|bcf|h5ad|gz|txt|md)$", "", lowered)
    for pattern, assay in NAME_ASSAYS:
        if re.search(rf"(?:^|[^a-z0-9]){pattern}", stem):
            found.add("assay_type", assay, "name_words", f"the name mentions {assay}")
            break


def derived(found: Collector) -> None:
    """Organism from an assembly that was suggested with good confidence."""
    genomes = [s for s in found.merged() if s.field == "reference_genome" and s.confidence >= 0.8]
    if genomes and genomes[0].value in inference.GENOME_ORGANISM:
        taxon = inference.GENOME_ORGANISM[genomes[0].value]
        organism = inference.ORGANISMS[taxon]
        why = f"{genomes[0].value} is a {organism} assembly"
        found.add("organism", organism, "derived", why)
        found.add("taxon_id", taxon, "derived", why)
    organisms = [s for s in found.merged() if s.field == "organism" and s.confidence >= 0.8]
    if organisms:
        taxon = inference.TAXON_OF.get(str(organisms[0].value).lower())
        if taxon:
            found.add("taxon_id", taxon, "derived", f"NCBI Taxonomy ID of {organisms[0].value}")


def suggest(file: File) -> list[Suggestion]:
    """Suggestions for the file's empty metadata fields, strongest evidence merged per field."""
    fmt = file_format(file)
    found = Collector()
    from_ncbi(file, found)
    stats: dict[str, Any] = {}
    hints: dict[str, Any] = {}
    if fmt in ("fastq", "bam", "sam", "cram", "vcf", "bcf", "h5ad", "fasta"):
        try:
            fmt, stats, hints = stats_for(file)
        except AnalysisError:
            stats, hints = {}, {}
    if fmt:
        from_content(file, fmt, stats, hints, found)
    if fmt in ("vcf", "bcf"):
        from_vcf_header(file, found)
    if fmt == "h5ad":
        from_h5ad(file, found)
    if fmt == "fasta":
        from_fasta(file, found)
    if fmt in TEXT_FORMATS:
        from_document(file, found)
    from_name(file, found)
    derived(found)
    return [s for s in found.merged() if open_to_suggestion(file, s.field, s.value)]


def open_to_suggestion(file: File, field_name: str, value: Any) -> bool:
    """A field is open to a suggestion when it is empty, or holds a different value the app
    filled in itself; a value a person typed is never suggested over."""
    current = getattr(file, field_name)
    if current in ("", None):
        return True
    return field_name in (file.autofilled_fields or []) and str(current).lower() != str(value).lower()


def replacing(file: File, suggestion: dict[str, Any]) -> dict[str, Any]:
    """A suggestion for a field the app filled in names the value it would replace."""
    current = getattr(file, suggestion["field"])
    return {**suggestion, "replaces": current} if current not in ("", None) else suggestion


def apply_suggestions(
    file: File,
    suggestions: Iterable[Suggestion],
    actor: Any,
    min_confidence: float,
    fields: list[str] | None,
    task: Any,
) -> dict[str, Any]:
    if not can(actor, Action.EDIT, file):
        return {"applied": {}, "apply_error": "You may not edit this file's metadata, so nothing was applied."}
    with transaction.atomic():
        current = File.objects.select_for_update().get(pk=file.pk)
        changes = {
            s.field: s.value
            for s in suggestions
            if s.confidence >= min_confidence
            and (fields is None or s.field in fields)
            and open_to_suggestion(current, s.field, s.value)  # never over a value someone typed meanwhile
        }
        if changes:
            file_services.update_file(current, actor=actor, autofilled=True, **changes)
            audit.record(actor, "ml.autotag.apply", current, task=task.id, fields=sorted(changes))
    return {"applied": changes}


class AutotagHandler:
    task_type = "autotag"
    label = "Suggest metadata"
    description = (
        "Suggests values for empty (or automatically filled) metadata fields from the content, the name and NCBI "
        "records, each with a confidence and its evidence."
    )

    def accepts(self, file: File) -> str | None:
        return None

    def validate_params(self, params: dict[str, Any]) -> dict[str, Any]:
        from django.core.exceptions import ValidationError

        fields = params.get("fields")
        if fields is not None and (not isinstance(fields, list) or not set(fields) <= set(METADATA_FIELD_NAMES)):
            raise ValidationError({"params": ["params.fields must be a list of metadata field names."]})
        minimum = params.get("min_confidence")
        if minimum is not None and (not isinstance(minimum, int | float) or not 0 <= minimum <= 1):
            raise ValidationError({"params": ["params.min_confidence must be a number from 0 to 1."]})
        return params

    def run(self, task: MLTask) -> dict[str, Any]:
        file = task.file
        suggestions = suggest(file)
        minimum = max(settings.BIOFM_AUTOTAG_MIN_CONFIDENCE, float(task.params.get("min_confidence") or 0))
        result: dict[str, Any] = {
            "suggestions": [replacing(file, s.as_dict()) for s in suggestions],
            "min_confidence": minimum,
            "applied": {},
        }
        if task.params.get("apply") is True:
            if task.submitter is None:
                raise AnalysisError("The task has no submitter to apply the suggestions as.")
            result.update(
                apply_suggestions(file, suggestions, task.submitter, minimum, task.params.get("fields"), task)
            )
        return result
