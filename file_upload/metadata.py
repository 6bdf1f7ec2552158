"""The 22 metadata fields: names, human labels, groups and controlled vocabularies.

This module is the single description of the fields; the model, the serializers, the filters,
the ``/api/metadata/fields/`` endpoint and the SPA's form are all built from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Accession formats (the validators in validators.py and the NCBI mapping use these).
ACCESSION_PATTERNS = {
    "bioproject": re.compile(r"PRJ(NA|EB|DB)\d+"),
    "biosample": re.compile(r"SAM(N|EA|D)\d+"),
    "sra": re.compile(r"[SED]R[RXSP]\d+"),
}


class Vocabulary:
    ASSAY_TYPE = [
        "WGS",
        "WES",
        "RNA-seq",
        "scRNA-seq",
        "ChIP-seq",
        "ATAC-seq",
        "Bisulfite-seq",
        "Hi-C",
        "Amplicon",
        "Other",
    ]
    DATA_TYPE = [
        "raw reads",
        "alignment",
        "variants",
        "expression matrix",
        "reference",
        "annotation",
        "document",
        "other",
    ]
    PLATFORM = ["Illumina", "ONT", "PacBio", "MGI", "10x Genomics", "Other"]
    LIBRARY_LAYOUT = ["single", "paired"]
    SEX = ["female", "male", "mixed", "unknown"]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    group: str  # "biological" | "technical"
    kind: str  # "text" | "choice" | "integer" | "date"
    choices: tuple[str, ...] | None = None
    help: str = ""


BIOLOGICAL = "biological"
TECHNICAL = "technical"

METADATA_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("organism", "Organism", BIOLOGICAL, "text", help="Scientific name, e.g. Homo sapiens"),
    FieldSpec("taxon_id", "Taxon ID", BIOLOGICAL, "integer", help="NCBI Taxonomy ID, e.g. 9606"),
    FieldSpec("tissue", "Tissue", BIOLOGICAL, "text"),
    FieldSpec("cell_type", "Cell type", BIOLOGICAL, "text"),
    FieldSpec("disease", "Disease", BIOLOGICAL, "text"),
    FieldSpec("sex", "Sex", BIOLOGICAL, "choice", tuple(Vocabulary.SEX)),
    FieldSpec("developmental_stage", "Developmental stage", BIOLOGICAL, "text"),
    FieldSpec("sample_id", "Sample ID", BIOLOGICAL, "text"),
    FieldSpec("treatment", "Treatment", BIOLOGICAL, "text"),
    FieldSpec("genotype", "Genotype", BIOLOGICAL, "text"),
    FieldSpec("assay_type", "Assay type", TECHNICAL, "choice", tuple(Vocabulary.ASSAY_TYPE)),
    FieldSpec("data_type", "Data type", TECHNICAL, "choice", tuple(Vocabulary.DATA_TYPE)),
    FieldSpec("file_format", "File format", TECHNICAL, "text", help="Detected from the content; e.g. fastq, bam"),
    FieldSpec("platform", "Platform", TECHNICAL, "choice", tuple(Vocabulary.PLATFORM)),
    FieldSpec("instrument_model", "Instrument model", TECHNICAL, "text", help="e.g. Illumina NovaSeq 6000"),
    FieldSpec("library_layout", "Library layout", TECHNICAL, "choice", tuple(Vocabulary.LIBRARY_LAYOUT)),
    FieldSpec("read_length", "Read length", TECHNICAL, "integer"),
    FieldSpec("reference_genome", "Reference genome", TECHNICAL, "text", help="e.g. GRCh38, GRCm39"),
    FieldSpec("sequencing_date", "Sequencing date", TECHNICAL, "date"),
    FieldSpec("bioproject_accession", "BioProject accession", TECHNICAL, "text", help="PRJNA…, PRJEB…, PRJDB…"),
    FieldSpec("biosample_accession", "BioSample accession", TECHNICAL, "text", help="SAMN…, SAMEA…, SAMD…"),
    FieldSpec("sra_accession", "SRA accession", TECHNICAL, "text", help="SRR/ERR/DRR run, SRX experiment, SRP study"),
)

METADATA_FIELD_NAMES: tuple[str, ...] = tuple(spec.name for spec in METADATA_FIELDS)
TEXT_FIELD_MAX_LENGTH = 255

# Metadata whose values free-text search reads (dates are left out: their text form depends on
# the database's DateStyle, which a generated column may not).
SEARCH_TEXT_FIELDS: tuple[str, ...] = tuple(spec.name for spec in METADATA_FIELDS if spec.kind != "date")

# Facet fields the pre-aggregated count table holds (low-cardinality fields; identifiers such as
# sample ids and accessions would make it as large as the file table).
PRECOUNTED_FACETS: tuple[str, ...] = (
    "organism",
    "tissue",
    "cell_type",
    "disease",
    "sex",
    "developmental_stage",
    "treatment",
    "genotype",
    "assay_type",
    "data_type",
    "file_format",
    "platform",
    "instrument_model",
    "library_layout",
    "reference_genome",
)


def choices_for(values: list[str]) -> list[tuple[str, str]]:
    return [(value, value) for value in values]
