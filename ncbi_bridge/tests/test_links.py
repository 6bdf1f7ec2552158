"""Link detection: what users paste, valid and invalid (table-driven)."""

from __future__ import annotations

import pytest

from ncbi_bridge.links import SUPPORTED_PATTERNS, UnsupportedLink, parse_link

VALID = [
    # Gene
    ("https://www.ncbi.nlm.nih.gov/gene/7157", "gene", "7157"),
    ("https://www.ncbi.nlm.nih.gov/gene/7157/", "gene", "7157"),
    ("https://www.ncbi.nlm.nih.gov/gene/7157#summary", "gene", "7157"),
    ("https://www.ncbi.nlm.nih.gov/gene/?term=7157", "gene", "7157"),
    ("http://ncbi.nlm.nih.gov/gene/7157?report=full_report", "gene", "7157"),
    ("www.ncbi.nlm.nih.gov/gene/7157", "gene", "7157"),
    ("GeneID:7157", "gene", "7157"),
    ("geneid 7157", "gene", "7157"),
    ("Gene ID: 7157", "gene", "7157"),
    # Protein
    ("https://www.ncbi.nlm.nih.gov/protein/NP_000537.3", "protein", "NP_000537.3"),
    ("https://www.ncbi.nlm.nih.gov/protein/NP_000537.3?report=fasta", "protein", "NP_000537.3"),
    ("https://www.ncbi.nlm.nih.gov/protein/120407068", "protein", "120407068"),
    ("NP_000537.3", "protein", "NP_000537.3"),
    ("np_000537", "protein", "NP_000537"),
    ("XP_011522652.1", "protein", "XP_011522652.1"),
    ("WP_000123456.1", "protein", "WP_000123456.1"),
    ("AAA12345.1", "protein", "AAA12345.1"),
    ("QJD12345", "protein", "QJD12345"),
    # Nucleotide
    ("https://www.ncbi.nlm.nih.gov/nuccore/NM_000546.6", "nucleotide", "NM_000546.6"),
    ("https://www.ncbi.nlm.nih.gov/nuccore/NM_000546.6?report=genbank&log$=seqview", "nucleotide", "NM_000546.6"),
    ("NM_000546.6", "nucleotide", "NM_000546.6"),
    ("NC_000017.11", "nucleotide", "NC_000017.11"),
    ("AF123456.1", "nucleotide", "AF123456.1"),
    # SRA
    ("https://www.ncbi.nlm.nih.gov/sra/SRR25056225", "sra", "SRR25056225"),
    ("https://www.ncbi.nlm.nih.gov/sra/SRX20810436[accn]", "sra", "SRX20810436"),
    ("https://www.ncbi.nlm.nih.gov/sra?term=SRR25056225", "sra", "SRR25056225"),
    ("https://www.ncbi.nlm.nih.gov/sra/?term=SRP446371", "sra", "SRP446371"),
    ("https://trace.ncbi.nlm.nih.gov/Traces/?run=SRR25056225", "sra", "SRR25056225"),
    ("https://trace.ncbi.nlm.nih.gov/Traces/sra/?run=SRR1972976#reads", "sra", "SRR1972976"),
    ("https://www.ebi.ac.uk/ena/browser/view/ERR1234567", "sra", "ERR1234567"),
    ("SRR25056225", "sra", "SRR25056225"),
    ("  srr25056225  ", "sra", "SRR25056225"),
    ("ERR1234567", "sra", "ERR1234567"),
    ("DRR012345", "sra", "DRR012345"),
    ("SRX20810436", "sra", "SRX20810436"),
    ("SRP446371", "sra", "SRP446371"),
    # PubMed
    ("https://pubmed.ncbi.nlm.nih.gov/22294463/", "pubmed", "22294463"),
    ("https://pubmed.ncbi.nlm.nih.gov/22294463", "pubmed", "22294463"),
    ("https://pubmed.ncbi.nlm.nih.gov/22294463/?from_single_result=1#abstract", "pubmed", "22294463"),
    ("https://www.ncbi.nlm.nih.gov/pubmed/22294463", "pubmed", "22294463"),
    ("PMID:22294463", "pubmed", "22294463"),
    ("pmid 22294463", "pubmed", "22294463"),
    ("<https://pubmed.ncbi.nlm.nih.gov/22294463/>", "pubmed", "22294463"),
    # BioProject
    ("https://www.ncbi.nlm.nih.gov/bioproject/PRJNA988806", "bioproject", "PRJNA988806"),
    ("https://www.ncbi.nlm.nih.gov/bioproject/988806", "bioproject", "988806"),
    ("https://www.ncbi.nlm.nih.gov/bioproject/?term=PRJNA988806", "bioproject", "PRJNA988806"),
    ("PRJNA988806", "bioproject", "PRJNA988806"),
    ("PRJEB12345", "bioproject", "PRJEB12345"),
    ("prjdb1234", "bioproject", "PRJDB1234"),
    # BioSample
    ("https://www.ncbi.nlm.nih.gov/biosample/SAMN36028301", "biosample", "SAMN36028301"),
    ("https://www.ncbi.nlm.nih.gov/biosample/36028301/", "biosample", "36028301"),
    ("SAMN36028301", "biosample", "SAMN36028301"),
    ("SAMEA1234567", "biosample", "SAMEA1234567"),
    ("SAMD00012345", "biosample", "SAMD00012345"),
]

INVALID = [
    "",
    "   ",
    "7157",  # a bare number: GeneID or PMID?
    "hello world",
    "TP53",
    "https://www.google.com/search?q=SRR25056225",
    "https://www.ncbi.nlm.nih.gov/",
    "https://www.ncbi.nlm.nih.gov/gene/?term=TP53",
    "https://www.ncbi.nlm.nih.gov/gene/TP53",
    "https://www.ncbi.nlm.nih.gov/geo/query/acc.cgi?acc=GSE236084",
    "https://www.ncbi.nlm.nih.gov/taxonomy/9606",
    "https://www.ncbi.nlm.nih.gov/sra/SRS18093899",
    "https://www.ncbi.nlm.nih.gov/sra/PRJNA988806",
    "https://pubmed.ncbi.nlm.nih.gov/",
    "https://pubmed.ncbi.nlm.nih.gov/abc/",
    "https://trace.ncbi.nlm.nih.gov/Traces/?view=study",
    "https://www.ncbi.nlm.nih.gov/bioproject/SAMN36028301",
    "https://www.ncbi.nlm.nih.gov/biosample/PRJNA988806",
    "https://www.ncbi.nlm.nih.gov/protein/SRR25056225",
    "SRR123",  # too short for a run
    "SRS18093899",  # SRA sample: not importable on its own
    "GSE236084",
    "PRJXX12345",
    "SAMX123",
    "PMID:abc",
    "ftp://ftp.sra.ebi.ac.uk/vol1/fastq/SRR197/006/SRR1972976/SRR1972976_1.fastq.gz",
    "javascript:alert(1)",
    "x" * 3000,
]


@pytest.mark.parametrize(("text", "kind", "accession"), VALID, ids=[v[0][:60] for v in VALID])
def test_valid_forms(text, kind, accession):
    link = parse_link(text)
    assert (link.kind, link.accession) == (kind, accession)


@pytest.mark.parametrize("text", INVALID, ids=[t[:60] or "empty" for t in INVALID])
def test_invalid_forms_list_the_supported_patterns(text):
    with pytest.raises(UnsupportedLink) as info:
        parse_link(text)
    assert list(info.value.patterns) == list(SUPPORTED_PATTERNS)
    assert "Supported:" in str(info.value)


def test_table_is_big_enough():
    assert len(VALID) + len(INVALID) >= 40


def test_bare_number_asks_for_a_prefix():
    with pytest.raises(UnsupportedLink, match="GeneID:7157 or PMID"):
        parse_link("22294463")


def test_links_know_their_database():
    assert parse_link("NM_000546.6").db == "nuccore"
    assert parse_link("PRJNA988806").label == "BioProject"
    assert parse_link("https://www.ncbi.nlm.nih.gov/biosample/36028301").is_numeric_uid
