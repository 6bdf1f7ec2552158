"""Mapping NCBI records to the workspace's metadata fields, free of Django (import-linter
contract ``pure``): runinfo CSV rows (``sra_metadata``), BioSample esummary records
(``biosample_metadata``), SRA esummary records (``sra_summary``), and the platform and assay
vocabularies (``map_platform``, ``map_assay_type``). Values outside the controlled
vocabularies and malformed accessions are dropped, never guessed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from file_upload.metadata import ACCESSION_PATTERNS, Vocabulary

from .clients import NcbiBadResponse

_PLATFORMS = {
    "ILLUMINA": "Illumina",
    "OXFORD_NANOPORE": "ONT",
    "PACBIO_SMRT": "PacBio",
    "BGISEQ": "MGI",
    "DNBSEQ": "MGI",
}
_ASSAYS = {
    "RNA-SEQ": "RNA-seq",
    "SSRNA-SEQ": "RNA-seq",
    "MIRNA-SEQ": "RNA-seq",
    "NCRNA-SEQ": "RNA-seq",
    "WGS": "WGS",
    "WXS": "WES",
    "CHIP-SEQ": "ChIP-seq",
    "ATAC-SEQ": "ATAC-seq",
    "BISULFITE-SEQ": "Bisulfite-seq",
    "HI-C": "Hi-C",
    "AMPLICON": "Amplicon",
}


def map_platform(value: str) -> str:
    value = (value or "").strip().upper()
    if not value:
        return ""
    return _PLATFORMS.get(value, "Other")


def map_assay_type(strategy: str, source: str = "") -> str:
    strategy = (strategy or "").strip().upper()
    if not strategy:
        return ""
    assay = _ASSAYS.get(strategy, "Other")
    if assay == "RNA-seq" and "SINGLE CELL" in (source or "").upper():
        return "scRNA-seq"
    return assay


def positive_int(value: Any) -> int | None:
    try:
        number = int(float(str(value).strip()))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def valid_accession(kind: str, value: str) -> str:
    """``value`` when it is a well-formed accession of ``kind`` (``ACCESSION_PATTERNS``), else ""."""
    value = (value or "").strip()
    return value if value and ACCESSION_PATTERNS[kind].fullmatch(value) else ""


def clean_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Drop empty values and values outside the controlled vocabularies."""
    vocab = {
        "assay_type": Vocabulary.ASSAY_TYPE,
        "data_type": Vocabulary.DATA_TYPE,
        "platform": Vocabulary.PLATFORM,
        "library_layout": Vocabulary.LIBRARY_LAYOUT,
        "sex": Vocabulary.SEX,
    }
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        if value in (None, ""):
            continue
        if key in vocab and value not in vocab[key]:
            continue
        if isinstance(value, str):
            value = value.strip()[:255]
        out[key] = value
    return out


def sra_metadata(row: dict[str, str]) -> dict[str, Any]:
    """Metadata fields from one runinfo CSV row.

    ``read_length`` is per mate: runinfo's ``avgLength`` counts both mates of a paired spot
    (202 for 2 × 101), so it is halved for paired runs."""
    layout = (row.get("LibraryLayout") or "").strip().upper()
    read_length = positive_int(row.get("avgLength"))
    if read_length and layout == "PAIRED":
        read_length //= 2
    sex = (row.get("Sex") or "").strip().lower()
    return clean_metadata(
        {
            "organism": row.get("ScientificName", ""),
            "taxon_id": positive_int(row.get("TaxID")),
            "bioproject_accession": valid_accession("bioproject", row.get("BioProject", "")),
            "biosample_accession": valid_accession("biosample", row.get("BioSample", "")),
            "sra_accession": valid_accession("sra", row.get("Run", "")),
            "platform": map_platform(row.get("Platform", "")),
            "instrument_model": row.get("Model", ""),
            "library_layout": {"PAIRED": "paired", "SINGLE": "single"}.get(layout, ""),
            "assay_type": map_assay_type(row.get("LibraryStrategy", ""), row.get("LibrarySource", "")),
            "data_type": "raw reads",
            "read_length": read_length,
            "sample_id": row.get("SampleName", ""),
            "sex": sex if sex in Vocabulary.SEX else "",
            "disease": row.get("Disease", ""),
        }
    )


def _xml(fragment: str) -> ET.Element:
    """Parse an XML fragment with no single root (esummary ``expxml``/``runs``/``sampledata``)."""
    try:
        return ET.fromstring(f"<r>{(fragment or '').strip()}</r>")
    except ET.ParseError as exc:
        raise NcbiBadResponse(f"NCBI sent XML that does not parse: {exc}") from exc


_SAMPLE_FIELDS = {
    "tissue": "tissue",
    "cell_type": "cell_type",
    "cell type": "cell_type",
    "sex": "sex",
    "disease": "disease",
    "dev_stage": "developmental_stage",
    "developmental stage": "developmental_stage",
    "age": "",
    "genotype": "genotype",
    "treatment": "treatment",
}


def biosample_metadata(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str], str]:
    """Metadata fields, all sample attributes and the BioProject accession of a BioSample
    esummary record (the attributes live only in the ``sampledata`` XML string)."""
    root = _xml(record.get("sampledata", ""))
    attributes: dict[str, str] = {}
    for attr in root.iter("Attribute"):
        name = attr.get("harmonized_name") or attr.get("attribute_name") or attr.get("display_name") or ""
        if name:
            attributes[name] = (attr.text or "").strip()
    bioproject = ""
    for link in root.iter("Link"):
        if (link.get("target") or "").lower() == "bioproject":
            bioproject = link.get("label") or ""
    sample_name = attributes.get("sample_name", "")
    for ident in root.iter("Id"):
        if (ident.get("db_label") or "").lower() == "sample name" and not sample_name:
            sample_name = (ident.text or "").strip()
    organism = root.find(".//Organism")
    org = organism.attrib if organism is not None else {}
    metadata: dict[str, Any] = {
        "organism": record.get("organism") or org.get("taxonomy_name", ""),
        "taxon_id": positive_int(record.get("taxonomy")) or positive_int(org.get("taxonomy_id")),
        "biosample_accession": valid_accession("biosample", record.get("accession", "")),
        "bioproject_accession": valid_accession("bioproject", bioproject),
        "sample_id": sample_name,
        "data_type": "document",
    }
    for name, value in attributes.items():
        target = _SAMPLE_FIELDS.get(name.lower())
        if target:
            metadata[target] = value.lower() if target == "sex" else value
    return clean_metadata(metadata), attributes, bioproject


def sra_summary(record: dict[str, Any]) -> dict[str, Any]:
    """Readable fields of an SRA esummary record (``expxml``/``runs`` are rootless XML)."""
    exp = _xml(record.get("expxml", ""))
    runs = _xml(record.get("runs", ""))

    def text(path: str) -> str:
        node = exp.find(path)
        return (node.text or "").strip() if node is not None else ""

    platform = exp.find(".//Platform")
    organism = exp.find(".//Organism")
    layout = exp.find(".//LIBRARY_LAYOUT")
    experiment = exp.find(".//Experiment")
    study = exp.find(".//Study")
    return {
        "title": text(".//Summary/Title"),
        "platform": map_platform((platform.text or "") if platform is not None else ""),
        "instrument_model": platform.get("instrument_model", "") if platform is not None else "",
        "organism": organism.get("ScientificName", "") if organism is not None else "",
        "taxon_id": positive_int(organism.get("taxid")) if organism is not None else None,
        "library_strategy": text(".//LIBRARY_STRATEGY"),
        "library_source": text(".//LIBRARY_SOURCE"),
        "assay_type": map_assay_type(text(".//LIBRARY_STRATEGY"), text(".//LIBRARY_SOURCE")),
        "library_layout": (layout[0].tag.lower() if layout is not None and len(layout) else ""),
        "experiment": experiment.get("acc", "") if experiment is not None else "",
        "study": study.get("acc", "") if study is not None else "",
        "bioproject": text(".//Bioproject"),
        "biosample": text(".//Biosample"),
        "runs": [run.get("acc", "") for run in runs.iter("Run")],
    }
