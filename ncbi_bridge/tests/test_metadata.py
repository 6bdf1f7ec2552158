"""Mapping NCBI's words onto our metadata fields and vocabularies."""

from __future__ import annotations

import pytest

from ncbi_bridge.services import biosample_metadata, map_assay_type, map_platform, sra_metadata, sra_summary
from tests.fake_ncbi import BIOSAMPLES, RUNINFO_HEADER, RUNS_BY_ACC


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("ILLUMINA", "Illumina"),
        ("OXFORD_NANOPORE", "ONT"),
        ("PACBIO_SMRT", "PacBio"),
        ("BGISEQ", "MGI"),
        ("DNBSEQ", "MGI"),
        ("ION_TORRENT", "Other"),
        ("", ""),
    ],
)
def test_platforms(platform, expected):
    assert map_platform(platform) == expected


@pytest.mark.parametrize(
    ("strategy", "source", "expected"),
    [
        ("RNA-Seq", "TRANSCRIPTOMIC", "RNA-seq"),
        ("RNA-Seq", "TRANSCRIPTOMIC SINGLE CELL", "scRNA-seq"),
        ("WGS", "GENOMIC", "WGS"),
        ("WXS", "GENOMIC", "WES"),
        ("ChIP-Seq", "GENOMIC", "ChIP-seq"),
        ("ATAC-seq", "GENOMIC", "ATAC-seq"),
        ("Bisulfite-Seq", "GENOMIC", "Bisulfite-seq"),
        ("Hi-C", "GENOMIC", "Hi-C"),
        ("AMPLICON", "METAGENOMIC", "Amplicon"),
        ("miRNA-Seq", "TRANSCRIPTOMIC", "RNA-seq"),
        ("OTHER", "OTHER", "Other"),
        ("", "", ""),
    ],
)
def test_assay_types(strategy, source, expected):
    assert map_assay_type(strategy, source) == expected


def row_of(run: str) -> dict[str, str]:
    return dict(zip(RUNINFO_HEADER, RUNS_BY_ACC[run].runinfo_row(), strict=True))


def test_runinfo_row_to_metadata():
    assert sra_metadata(row_of("SRR25056225")) == {
        "organism": "Mus musculus",
        "taxon_id": 10090,
        "bioproject_accession": "PRJNA988806",
        "biosample_accession": "SAMN36028297",
        "sra_accession": "SRR25056225",
        "platform": "Illumina",
        "instrument_model": "Illumina NovaSeq 6000",
        "library_layout": "paired",
        "assay_type": "scRNA-seq",
        "data_type": "raw reads",
        "read_length": 50,  # avgLength 100 counts both mates
        "sample_id": "liver_1",
        "sex": "female",
    }
    single = sra_metadata(row_of("SRR1972976"))
    assert (single["platform"], single["library_layout"], single["read_length"], single["assay_type"]) == (
        "ONT",
        "single",
        50,
        "WGS",
    )


def test_sra_summary_parses_rootless_xml():
    info = sra_summary(RUNS_BY_ACC["SRR25056225"].esummary())
    assert info["experiment"] == "SRX20810436" and info["runs"] == ["SRR25056225"]
    assert info["platform"] == "Illumina" and info["library_layout"] == "paired"
    assert info["assay_type"] == "scRNA-seq" and info["organism"] == "Mus musculus"


def test_biosample_attributes_from_sampledata():
    metadata, attributes, bioproject = biosample_metadata(BIOSAMPLES["36028301"])
    assert attributes["tissue"] == "liver" and attributes["strain"] == "C57BL/6J"
    assert bioproject == "PRJNA988806"
    assert metadata == {
        "organism": "Mus musculus",
        "taxon_id": 10090,
        "biosample_accession": "SAMN36028301",
        "bioproject_accession": "PRJNA988806",
        "sample_id": "liver_1",
        "data_type": "document",
        "tissue": "liver",
        "cell_type": "hepatocyte",
        "sex": "female",
        "developmental_stage": "adult",
        "treatment": "CCl4",
    }
