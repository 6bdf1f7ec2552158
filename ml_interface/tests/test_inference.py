"""The content rules behind "Suggest metadata", on literals: each finding has a value, a
confidence and evidence a person can check, and thin or mixed evidence gives nothing."""

from __future__ import annotations

import pytest

from ml_interface import inference

HUMAN_SYMBOLS = ["CD3E", "ACTB", "MS4A1", "GAPDH", "C1orf112", "MT-CO1", "LINC00115", "NKG7", "IL7R", "CD14", "LYZ"]
MOUSE_SYMBOLS = ["Cd3e", "Actb", "Ms4a1", "Gapdh", "mt-Co1", "1700016K19Rik", "Nkg7", "Il7r", "Cd14", "Lyz2", "Gm42418"]


def by_field(findings):
    out = {}
    for finding in findings:
        assert finding.evidence and 0 < finding.confidence <= 1, finding
        out.setdefault(finding.field, finding)
    return out


class TestGeneIds:
    @pytest.mark.parametrize(
        ("ids", "organism", "taxon", "prefix"),
        [
            (["ENSG00000141510", "ENSG00000012048.23", "ENSG00000139618"] * 3, "Homo sapiens", 9606, "ENSG"),
            (["ENSMUSG00000064370", "ENSMUSG00000059552"] * 4, "Mus musculus", 10090, "ENSMUSG"),
            (["ENSDARG00000036008", "ENSDARG00000019815"] * 4, "Danio rerio", 7955, "ENSDARG"),
            (["ENSRNOG00000000001", "ENSRNOG00000000007"] * 4, "Rattus norvegicus", 10116, "ENSRNOG"),
            (["ENSDART00000012345", "ENSDART00000054321"] * 4, "Danio rerio", 7955, "ENSDART"),
            (["FBgn0000008", "FBgn0000014", "FBgn0000015"] * 2, "Drosophila melanogaster", 7227, "FlyBase"),
        ],
    )
    def test_ensembl_and_other_prefixes_name_the_species(self, ids, organism, taxon, prefix):
        found = by_field(inference.from_gene_ids(ids, "var_names"))
        assert found["organism"].value == organism and found["taxon_id"].value == taxon
        assert found["organism"].confidence >= 0.9 and found["organism"].source == "gene_ids"
        assert prefix in found["organism"].evidence and "var_names" in found["organism"].evidence

    def test_upper_case_symbols_are_human_and_capitalised_ones_mouse(self):
        human = by_field(inference.from_gene_ids(HUMAN_SYMBOLS, "var_names"))
        assert human["organism"].value == "Homo sapiens" and human["taxon_id"].value == 9606
        assert "upper-case" in human["organism"].evidence and "CD3E" in human["organism"].evidence
        mouse = by_field(inference.from_gene_ids(MOUSE_SYMBOLS))
        assert mouse["organism"].value == "Mus musculus" and "capitalised" in mouse["organism"].evidence
        assert mouse["organism"].confidence < human["organism"].confidence + 0.01  # rat symbols look alike

    def test_mixed_or_few_names_say_nothing(self):
        assert inference.from_gene_ids(HUMAN_SYMBOLS[:6] + MOUSE_SYMBOLS[:6]) == []
        assert inference.from_gene_ids(HUMAN_SYMBOLS[:4]) == []
        assert inference.from_gene_ids(["ENSG00000141510", "ENSMUSG00000064370"] * 5) == []
        assert inference.from_gene_ids(["0", "1", "2"] * 10) == []  # a numeric index says nothing


class TestText:
    METHODS = (
        "Methods. Eight-week-old female C57BL/6J mice were purchased from Jackson. Libraries were "
        "sequenced on an Illumina NovaSeq 6000 (2 × 150 bp) and reads were aligned to GRCm39 with STAR."
    )

    def test_the_issues_methods_text(self):
        found = by_field(inference.from_text(self.METHODS))
        assert found["organism"].value == "Mus musculus" and found["taxon_id"].value == 10090
        assert "C57BL/6J" in found["organism"].evidence
        assert found["sex"].value == "female" and "female" in found["sex"].evidence
        assert found["platform"].value == "Illumina"
        assert found["instrument_model"].value == "Illumina NovaSeq 6000"
        assert "NovaSeq 6000" in found["instrument_model"].evidence
        assert found["reference_genome"].value == "GRCm39" and "GRCm39" in found["reference_genome"].evidence

    @pytest.mark.parametrize(
        ("text", "build"),
        [("aligned to hg19", "GRCh37"), ("the mm10 index", "GRCm38"), ("GRCh38.p14 primary", "GRCh38")],
    )
    def test_ucsc_names_map_to_their_assembly(self, text, build):
        found = by_field(inference.from_text(text))
        assert found["reference_genome"].value == build

    def test_both_sexes_are_mixed_at_low_confidence_and_no_sex_is_nothing(self):
        found = by_field(inference.from_text("Male and female donors were recruited."))
        assert found["sex"].value == "mixed" and found["sex"].confidence < 0.8
        assert "sex" not in by_field(inference.from_text("Human cells were sequenced."))

    def test_other_instruments_and_platforms(self):
        assert by_field(inference.from_text("run on a DNBSEQ-G400"))["platform"].value == "MGI"
        ont = by_field(inference.from_text("Sequenced on a PromethION flow cell"))
        assert (ont["platform"].value, ont["instrument_model"].value) == ("ONT", "PromethION")
        two = by_field(inference.from_text("NovaSeq 6000 and MiSeq runs"))
        assert two["platform"].value == "Illumina" and "instrument_model" not in two
        assert "platform" not in by_field(inference.from_text("NovaSeq 6000 reads polished with PromethION data"))

    def test_conflicting_species_say_nothing(self):
        assert "organism" not in by_field(inference.from_text("Homo sapiens and Mus musculus cells were mixed."))

    def test_nothing_in_plain_prose(self):
        assert inference.from_text("The meeting is on Tuesday; bring the slides.") == []


class TestSequenceFiles:
    def test_fasta_headers(self):
        ncbi = [
            "NC_000001.11 Homo sapiens chromosome 1, GRCh38.p14 Primary Assembly",
            "NC_000002.12 Homo sapiens chr 2",
        ]
        found = by_field(inference.from_fasta_headers(ncbi))
        assert found["organism"].value == "Homo sapiens" and "2 of 2 FASTA headers" in found["organism"].evidence
        assert found["reference_genome"].value == "GRCh38"
        uniprot = ["sp|P60709|ACTB_HUMAN Actin OS=Homo sapiens OX=9606 GN=ACTB", "sp|P68134|ACTS_MOUSE Actin OX=10090"]
        assert "organism" not in by_field(inference.from_fasta_headers(uniprot))  # two species
        mouse = ["tr|Q9X|Q9X_MOUSE Thing", "ENSMUST00000193812.2 cdna chromosome:GRCm39:1:1:2:1"]
        found = by_field(inference.from_fasta_headers(mouse))
        assert found["organism"].value == "Mus musculus" and found["reference_genome"].value == "GRCm39"
        assert inference.from_fasta_headers(["chr1", "chr2"]) == []

    def test_read_names(self):
        found = by_field(
            inference.from_read_names([f"A00123:8:HFWTLDSXY:1:1101:{i}:1000 1:N:0:ACGT" for i in range(5)])
        )
        assert (found["platform"].value, found["instrument_model"].value) == ("Illumina", "Illumina NovaSeq 6000")
        assert "A00123" in found["instrument_model"].evidence and "5 sampled read names" in found["platform"].evidence
        pacbio = by_field(inference.from_read_names(["m64011_190830_220126/1/ccs", "m64011_190830_220126/2/ccs"]))
        assert (pacbio["platform"].value, pacbio["instrument_model"].value) == ("PacBio", "PacBio Sequel II")
        assert by_field(inference.from_read_names(["V300012345L1C001R0010000001/1"]))["platform"].value == "MGI"
        assert inference.from_read_names(["read1", "read2"]) == []

    def test_alignment_header(self):
        header = {
            "SQ": [{"SN": "1", "LN": 195154279, "AS": "GRCm39", "SP": "Mus musculus"}, {"SN": "2", "LN": 181755017}],
            "PG": [{"ID": "bwa", "CL": "bwa mem -t 8 /refs/GRCm39/genome.fa r1.fq r2.fq"}],
            "RG": [{"ID": "rg1", "PL": "ILLUMINA", "PM": "NovaSeq 6000"}],
        }
        findings = inference.from_alignment_header(header)
        found = by_field(findings)
        assert found["reference_genome"].value == "GRCm39" and "195,154,279" in found["reference_genome"].evidence
        genome_evidence = " ".join(f.evidence for f in findings if f.field == "reference_genome")
        assert "AS tag" in genome_evidence and "@PG" in genome_evidence
        assert found["organism"].value == "Mus musculus" and "SP tag" in found["organism"].evidence
        assert found["platform"].value == "Illumina" and "PL:ILLUMINA" in found["platform"].evidence
        assert found["instrument_model"].value == "Illumina NovaSeq 6000"
        assert inference.from_alignment_header({"SQ": [{"SN": "contig7", "LN": 5000}]}) == []

    def test_vcf_header(self):
        lines = [
            "##fileformat=VCFv4.2",
            "##contig=<ID=chr1,length=249250621,assembly=hg19>",
            "##reference=file:///refs/human_g1k_v37.fasta",
        ]
        findings = inference.from_vcf_header(lines)
        assert {f.value for f in findings} == {"GRCh37"}
        evidence = " ".join(f.evidence for f in findings)
        assert "249,250,621" in evidence and "hg19" in evidence and "human_g1k_v37" in evidence
        assert inference.from_vcf_header(["##contig=<ID=scaffold_1,length=1000>"]) == []
