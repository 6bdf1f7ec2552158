"""QC on generated inputs with known defects: each metric's verdict, the file's verdict, the
FileQC row and the ``qc:*`` tag that the file list's tag filter finds."""

from __future__ import annotations

import pytest

from authentication.models import AuditEvent
from ml_interface.handlers.qc import judge
from ml_interface.models import FileQC

from . import data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]


def by_metric(result):
    return {m["metric"]: m for m in result["metrics"]}


class TestQcFastq:
    def test_a_clean_fastq_passes(self, add_file, run_task):
        file = add_file("clean.fastq", data.fastq())
        task = run_task("qc", file.id)
        assert task["status"] == "done", task["error"]
        result = task["result"]
        assert result["verdict"] == "pass" and result["format"] == "fastq" and result["reads"] == 200
        metrics = by_metric(result)
        assert metrics["n_rate"]["value"] == 0 and metrics["length_spread"]["value"] == 0
        assert metrics["q30_rate"]["value"] == 100 and metrics["mean_quality"]["value"] == 37.5
        assert metrics["quality_drop"]["value"] == 5.0 and metrics["quality_drop"]["status"] == "pass"
        file.refresh_from_db()
        assert file.tags == ["qc:pass"]

    def test_a_defective_fastq_fails_on_each_defect(self, add_file, run_task, api):
        file = add_file("bad.fastq", data.fastq(defects=True), tags=["lane1", "qc:pass"])
        result = run_task("qc", file.id)["result"]
        metrics = by_metric(result)
        assert result["verdict"] == "fail"
        assert metrics["quality_drop"]["status"] == "fail" and metrics["quality_drop"]["value"] > 20
        assert metrics["n_rate"]["status"] == "fail" and 6 < metrics["n_rate"]["value"] < 10
        assert metrics["length_spread"]["status"] == "fail"
        assert metrics["mean_quality"]["status"] == "warn"  # 25.5: below 28, above 20
        assert metrics["q30_rate"]["status"] == "fail"
        qc = FileQC.objects.get(file=file)
        assert qc.verdict == "fail" and qc.file_format == "fastq"
        file.refresh_from_db()
        assert file.tags == ["lane1", "qc:fail"]  # the old verdict's tag is replaced
        # The flag is what search filters on.
        names = [f["name"] for f in api.get("/api/files/?tags=qc:fail").json()["results"]]
        assert names == ["bad.fastq"]
        assert AuditEvent.objects.filter(action="file.update", object_id=str(file.id)).exists()


class TestQcBam:
    def test_a_bam_with_unmapped_duplicate_and_improper_reads_is_flagged(self, add_file, run_task, tmp_path):
        file = add_file("sample.bam", data.bam(tmp_path / "sample.bam"))
        result = run_task("qc", file.id)["result"]
        metrics = by_metric(result)
        assert metrics["mapping_rate"]["value"] == 60 and metrics["mapping_rate"]["status"] == "fail"
        assert metrics["duplicate_rate"]["value"] == 30 and metrics["duplicate_rate"]["status"] == "warn"
        assert metrics["properly_paired_rate"]["value"] == 50 and metrics["properly_paired_rate"]["status"] == "fail"
        assert result["verdict"] == "fail"

    def test_a_good_bam_passes(self, add_file, run_task, tmp_path):
        file = add_file("good.bam", data.bam(tmp_path / "good.bam", unmapped=0, duplicates=2, improper=0))
        result = run_task("qc", file.id)["result"]
        assert result["verdict"] == "pass", result["metrics"]


class TestQcVcf:
    def test_a_clean_vcf_passes(self, add_file, run_task):
        file = add_file("calls.vcf", data.vcf())
        result = run_task("qc", file.id)["result"]
        metrics = by_metric(result)
        assert metrics["ts_tv"]["value"] == 2.0
        assert metrics["pass_rate"]["value"] == 100 and metrics["missing_genotype_rate"]["value"] == 0
        assert result["verdict"] == "pass", result["metrics"]

    def test_a_defective_vcf_fails(self, add_file, run_task):
        file = add_file("bad.vcf", data.vcf(defects=True))
        result = run_task("qc", file.id)["result"]
        metrics = by_metric(result)
        assert metrics["ts_tv"]["value"] == 0.5 and metrics["ts_tv"]["status"] == "fail"
        assert metrics["pass_rate"]["value"] == 40 and metrics["pass_rate"]["status"] == "fail"
        assert metrics["missing_genotype_rate"]["status"] == "fail"
        assert metrics["het_hom_ratio"]["status"] == "fail"
        assert result["genotypes"]["calls"] == 120
        assert result["verdict"] == "fail"


class TestThresholds:
    @pytest.mark.parametrize(
        ("value", "spec", "expected"),
        [
            (30, {"warn": 28, "fail": 20, "better": "higher"}, "pass"),
            (25, {"warn": 28, "fail": 20, "better": "higher"}, "warn"),
            (19.9, {"warn": 28, "fail": 20, "better": "higher"}, "fail"),
            (0.5, {"warn": 1, "fail": 5, "better": "lower"}, "pass"),
            (3, {"warn": 1, "fail": 5, "better": "lower"}, "warn"),
            (6, {"warn": 1, "fail": 5, "better": "lower"}, "fail"),
            (None, {"warn": 1, "fail": 5}, None),
        ],
    )
    def test_judge(self, value, spec, expected):
        assert judge(value, spec) == expected

    def test_thresholds_come_from_settings(self, settings, add_file, run_task):
        settings.BIOFM_QC_THRESHOLDS = {
            **settings.BIOFM_QC_THRESHOLDS,
            "fastq": {**settings.BIOFM_QC_THRESHOLDS["fastq"], "mean_quality": {"warn": 39, "fail": 38}},
        }
        file = add_file("clean.fastq", data.fastq())
        result = run_task("qc", file.id)["result"]
        assert by_metric(result)["mean_quality"]["status"] == "fail" and result["verdict"] == "fail"
