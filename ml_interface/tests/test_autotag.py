"""Metadata suggestions with confidence and evidence, and applying the confident ones."""

from __future__ import annotations

import pytest

from authentication.models import AuditEvent
from file_upload.tests.factories import ProjectMemberFactory

from . import data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]


def suggestions(task):
    assert task["status"] == "done", task["error"]
    return {s["field"]: s for s in task["result"]["suggestions"]}


def test_a_fastq_gets_format_platform_layout_and_sample_from_content_and_name(add_file, run_task):
    file = add_file("PBMC1_S1_L001_R1_001.fastq", data.fastq(reads=20))
    alone = suggestions(run_task("autotag", file.id))
    assert "library_layout" not in alone  # a lone _R1 is no evidence of a pair
    add_file("PBMC1_S1_L001_R2_001.fastq", data.fastq(reads=20))
    found = suggestions(run_task("autotag", file.id))
    assert found["file_format"]["value"] == "fastq" and found["data_type"]["value"] == "raw reads"
    assert found["read_length"]["value"] == 100
    assert found["platform"]["value"] == "Illumina"
    assert found["instrument_model"]["value"] == "Illumina NovaSeq 6000"
    assert "read names" in found["platform"]["evidence"][0]
    assert found["library_layout"]["value"] == "paired"
    assert "PBMC1_S1_L001_R2_001.fastq" in found["library_layout"]["evidence"][0]
    assert found["sample_id"]["value"] == "PBMC1" and "Illumina" in found["sample_id"]["evidence"][0]
    assert all(0 < s["confidence"] <= 1 for s in found.values())


def test_a_bam_header_names_the_reference_and_so_the_organism(add_file, run_task, tmp_path):
    file = add_file("tumour.bam", data.bam(tmp_path / "t.bam"))
    found = suggestions(run_task("autotag", file.id))
    assert found["reference_genome"]["value"] == "GRCh38" and found["reference_genome"]["confidence"] >= 0.9
    assert "248,956,422" in found["reference_genome"]["evidence"][0]
    assert found["organism"]["value"] == "Homo sapiens" and found["taxon_id"]["value"] == 9606
    assert found["data_type"]["value"] == "alignment"


def test_a_vcf_header_and_name_words(add_file, run_task):
    file = add_file("exome_calls.vcf", data.vcf())
    found = suggestions(run_task("autotag", file.id))
    assert found["reference_genome"]["value"] == "GRCh38"
    assert found["assay_type"]["value"] == "WES" and found["assay_type"]["confidence"] < 0.8
    assert found["data_type"]["value"] == "variants"


def test_h5ad_obs_columns_in_the_cellxgene_schema(add_file, run_task, tmp_path):
    import anndata
    import numpy as np
    import pandas as pd

    obs = pd.DataFrame(
        {
            "tissue": pd.Categorical(["blood"] * 20),
            "sex": pd.Categorical(["male", "female"] * 10),
            "disease": pd.Categorical(["normal"] * 20),
            "cell_type": pd.Categorical(["T cell", "B cell"] * 10),
            "assay": pd.Categorical(["10x 3' v3"] * 20),
            "organism_ontology_term_id": pd.Categorical(["NCBITaxon:9606"] * 20),
            "organism": pd.Categorical(["Homo sapiens"] * 20),
        },
        index=[f"c{i}" for i in range(20)],
    )
    anndata.AnnData(np.ones((20, 5), dtype=np.float32), obs=obs).write_h5ad(tmp_path / "donor.h5ad")
    file = add_file("donor.h5ad", (tmp_path / "donor.h5ad").read_bytes())
    found = suggestions(run_task("autotag", file.id))
    assert found["tissue"]["value"] == "blood" and found["disease"]["value"] == "normal"
    assert found["sex"]["value"] == "mixed"
    assert "cell_type" not in found  # two cell types: no single value to suggest
    assert found["assay_type"]["value"] == "scRNA-seq" and found["platform"]["value"] == "10x Genomics"
    assert found["organism"]["value"] == "Homo sapiens" and found["taxon_id"]["value"] == 9606


def test_ncbi_records_are_evidence(add_file, run_task, project, alice):
    from ncbi_bridge.models import NcbiImport

    file = add_file("SRR000001_1.fastq", data.fastq(reads=4))
    NcbiImport.objects.create(
        accession="SRR000001", kind="sra", project=project, requested_by=alice, status="done", file=file,
        file_ids=[file.id], metadata={"organism": "Mus musculus", "taxon_id": 10090, "assay_type": "RNA-seq"},
    )  # fmt: skip
    found = suggestions(run_task("autotag", file.id))
    assert found["organism"]["value"] == "Mus musculus" and found["organism"]["source"] == "ncbi"
    assert "SRR000001" in found["organism"]["evidence"][0]
    assert found["assay_type"]["value"] == "RNA-seq"
    assert found["sra_accession"]["value"] == "SRR000001"


def test_apply_writes_confident_empty_fields_only_and_is_audited(add_file, run_task, alice):
    file = add_file("PBMC1-hg38_S1_L001_R1_001.fastq", data.fastq(reads=20), organism="Danio rerio")
    task = run_task("autotag", file.id, {"apply": True})
    result = task["result"]
    found = {s["field"]: s for s in result["suggestions"]}
    assert "organism" not in found  # a value someone typed is never suggested over
    applied = result["applied"]
    assert applied["platform"] == "Illumina" and applied["sample_id"] == "PBMC1-hg38"
    assert "reference_genome" not in applied  # only the name says so: below the bar
    file.refresh_from_db()
    assert file.organism == "Danio rerio" and file.platform == "Illumina" and file.read_length == 100
    assert file.reference_genome == ""
    event = AuditEvent.objects.get(action="ml.autotag.apply")
    assert event.actor == alice and event.details["task"] == task["id"]
    assert "platform" in event.details["fields"]
    assert AuditEvent.objects.filter(action="file.update", object_id=str(file.id)).exists()


def test_apply_limited_to_some_fields(add_file, run_task):
    file = add_file("PBMC1_S1_L001_R1_001.fastq", data.fastq(reads=20))
    result = run_task("autotag", file.id, {"apply": True, "fields": ["platform"]})["result"]
    assert result["applied"] == {"platform": "Illumina"}


def test_a_viewer_gets_suggestions_but_nothing_is_applied(add_file, run_task, project, bob, client_for):
    ProjectMemberFactory(project=project, user=bob, role="viewer")
    file = add_file("PBMC1_S1_L001_R1_001.fastq", data.fastq(reads=20))
    result = run_task("autotag", file.id, {"apply": True}, client=client_for(bob))["result"]
    assert result["suggestions"] and result["applied"] == {} and "may not edit" in result["apply_error"]
    file.refresh_from_db()
    assert file.platform == ""


def test_bad_params_are_400(add_file, trigger):
    file = add_file("a.fastq", data.fastq(reads=2))
    assert trigger("autotag", file.id, {"fields": ["nonsense"]}).status_code == 400
    assert trigger("autotag", file.id, {"min_confidence": 3}).status_code == 400


# --- the content cases a new user met: each suggestion names its evidence --------------------

HUMAN_GENES = ["CD3E", "CD3D", "ACTB", "MS4A1", "GAPDH", "NKG7", "IL7R", "CD14", "LYZ", "C1orf112", "MT-CO1", "CD8A"]


def _h5ad(tmp_path, var_names, **var_columns):
    import anndata
    import numpy as np
    import pandas as pd

    var = pd.DataFrame(var_columns, index=var_names)
    obs = pd.DataFrame({"louvain": pd.Categorical(["0", "1"] * 5)}, index=[f"c{i}" for i in range(10)])
    path = tmp_path / "pbmc.h5ad"
    anndata.AnnData(np.ones((10, len(var_names)), dtype=np.float32), obs=obs, var=var).write_h5ad(path)
    return path.read_bytes()


def test_an_h5ad_with_an_empty_organism_and_human_gene_symbols(add_file, run_task, tmp_path):
    file = add_file("pbmc.h5ad", _h5ad(tmp_path, HUMAN_GENES))
    assert file.organism == ""
    found = suggestions(run_task("autotag", file.id))
    assert found["organism"]["value"] == "Homo sapiens" and found["taxon_id"]["value"] == 9606
    assert found["organism"]["source"] == "gene_symbols"
    assert "upper-case" in found["organism"]["evidence"][0] and "CD3E" in found["organism"]["evidence"][0]
    assert 0.6 <= found["organism"]["confidence"] < 0.95


def test_an_h5ad_with_ensembl_ids_as_var_names(add_file, run_task, tmp_path):
    ids = [f"ENSMUSG{n:011d}" for n in range(64370, 64382)]
    file = add_file("brain.h5ad", _h5ad(tmp_path, ids, gene_symbols=[f"Gene{n}" for n in range(12)]))
    found = suggestions(run_task("autotag", file.id))
    assert found["organism"]["value"] == "Mus musculus" and found["organism"]["confidence"] >= 0.9
    assert "ENSMUSG" in found["organism"]["evidence"][0]


def test_a_methods_text_names_organism_sex_instrument_and_build(add_file, run_task):
    text = (
        "Methods\n\nEight-week-old female C57BL/6J mice were housed under a 12 h light cycle. RNA-seq "
        "libraries were sequenced on a NovaSeq 6000 (paired-end 150 bp). Reads were aligned to "
        "GRCm39 with STAR.\n"
    )
    file = add_file("methods.txt", text.encode())
    found = suggestions(run_task("autotag", file.id))
    assert found["organism"]["value"] == "Mus musculus" and "C57BL/6J" in found["organism"]["evidence"][0]
    assert found["taxon_id"]["value"] == 10090
    assert found["sex"]["value"] == "female"
    assert found["platform"]["value"] == "Illumina"
    assert found["instrument_model"]["value"] == "Illumina NovaSeq 6000"
    assert "NovaSeq 6000" in found["instrument_model"]["evidence"][0]
    assert found["reference_genome"]["value"] == "GRCm39" and "GRCm39" in found["reference_genome"]["evidence"][0]
    assert found["assay_type"]["value"] == "RNA-seq" and found["data_type"]["value"] == "document"


def test_fasta_headers_name_the_organism(add_file, run_task):
    fasta = b">NC_000001.11 Homo sapiens chromosome 1, GRCh38.p14 Primary Assembly\nACGTNACGT\n" + (
        b">NC_000002.12 Homo sapiens chromosome 2, GRCh38.p14 Primary Assembly\nGGCCTTAA\n"
    )
    file = add_file("contigs.fa", fasta)
    found = suggestions(run_task("autotag", file.id))
    assert found["organism"]["value"] == "Homo sapiens" and "FASTA headers" in found["organism"]["evidence"][0]
    assert found["reference_genome"]["value"] == "GRCh38"


def test_a_bam_header_names_the_reference_from_its_tags(add_file, run_task, tmp_path):
    import pysam

    header = {
        "HD": {"VN": "1.6", "SO": "unsorted"},
        "SQ": [{"SN": "chrX", "LN": 5000, "AS": "GRCm39", "SP": "Mus musculus"}],
        "RG": [{"ID": "rg1", "PL": "ILLUMINA", "SM": "s1"}],
        "PG": [{"ID": "STAR", "PN": "STAR", "CL": "STAR --genomeDir /refs/GRCm39 --readFilesIn r1.fq"}],
    }
    path = tmp_path / "tags.bam"
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        read = pysam.AlignedSegment(out.header)
        read.query_name, read.query_sequence, read.flag = "r1", "ACGT", 4
        read.query_qualities = pysam.qualitystring_to_array("IIII")
        out.write(read)
    file = add_file("tags.bam", path.read_bytes())
    found = suggestions(run_task("autotag", file.id))
    assert found["reference_genome"]["value"] == "GRCm39"
    evidence = " ".join(found["reference_genome"]["evidence"])
    assert "AS tag" in evidence and "@PG" in evidence
    assert found["organism"]["value"] == "Mus musculus" and "SP tag" in " ".join(found["organism"]["evidence"])
    assert found["platform"]["value"] == "Illumina" and "PL:ILLUMINA" in found["platform"]["evidence"][0]


def test_vcf_contigs_and_reference_line(add_file, run_task):
    vcf = (
        "##fileformat=VCFv4.2\n##reference=file:///refs/Homo_sapiens_assembly38.fasta\n"
        "##contig=<ID=chr1,length=248956422>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "chr1\t100\t.\tA\tG\t50\tPASS\t.\n"
    )
    file = add_file("calls.vcf", vcf.encode())
    found = suggestions(run_task("autotag", file.id))
    assert found["reference_genome"]["value"] == "GRCh38" and found["reference_genome"]["confidence"] >= 0.9
    evidence = " ".join(found["reference_genome"]["evidence"])
    assert "248,956,422" in evidence and "Homo_sapiens_assembly38" in evidence
    assert found["organism"]["value"] == "Homo sapiens"


def test_suggestions_reach_autofilled_fields_but_never_typed_ones(add_file, run_task, alice):
    from file_upload import services

    file = add_file("methods.txt", b"Female C57BL/6J mice; NovaSeq 6000; GRCm39.")
    services.update_file(file, actor=alice, platform="PacBio", autofilled=True)  # as if the app guessed
    services.update_file(file, actor=alice, sex="male")  # a person typed it
    file.refresh_from_db()
    assert file.autofilled_fields == ["platform"]
    found = suggestions(run_task("autotag", file.id))
    assert found["platform"]["value"] == "Illumina" and found["platform"]["replaces"] == "PacBio"
    assert "sex" not in found
    result = run_task("autotag", file.id, {"apply": True})["result"]
    assert result["applied"]["platform"] == "Illumina" and "sex" not in result["applied"]
    file.refresh_from_db()
    assert (file.platform, file.sex) == ("Illumina", "male")
    # what the analysis wrote stays marked as the app's, until a person edits it
    assert {"platform", "organism", "reference_genome"} <= set(file.autofilled_fields)
    services.update_file(file, actor=alice, reference_genome="GRCm38")
    file.refresh_from_db()
    assert "reference_genome" not in file.autofilled_fields and "platform" in file.autofilled_fields
