"""Quality control in the spirit of FastQC/MultiQC: a few metrics per format, each judged
pass/warn/fail against ``BIOFM_QC_THRESHOLDS``, and the worst of them as the file's verdict.

- FASTQ (from the parser's statistics): mean base quality, Q30 rate, N rate, read-length spread
  ((max − min) / max) and the per-position quality drop (mean quality of the first tenth of the
  cycles minus that of the last tenth).
- BAM/SAM/CRAM (flagstat figures): mapping rate, duplicate rate, properly-paired rate (paired
  data only).
- VCF/BCF: Ts/Tv (the parser's, equal to ``bcftools stats``), PASS rate, and from the genotypes
  (the first ``BIOFM_QC_MAX_VCF_RECORDS`` records) the het/hom-alt ratio and the missing
  genotype rate.

The verdict is stored in ``FileQC`` and shown on the file as one tag, ``qc:pass``, ``qc:warn`` or
``qc:fail`` (replacing an earlier ``qc:*`` tag, through ``file_upload.services.update_file``, so
the change is audited), which the file list's ``tags`` filter finds.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from file_upload import services as file_services
from file_upload.models import File

from ..models import FileQC, MLTask, QcVerdict
from ..registry import AnalysisError
from .common import blob_path, file_format, stats_for

FORMATS = {"fastq": "fastq", "bam": "bam", "sam": "bam", "cram": "bam", "vcf": "vcf", "bcf": "vcf"}
QC_TAG_PREFIX = "qc:"

LABELS = {
    "mean_quality": ("Mean base quality", "Phred"),
    "q30_rate": ("Bases with Q ≥ 30", "%"),
    "n_rate": ("N bases", "%"),
    "length_spread": ("Read length spread", "%"),
    "quality_drop": ("Quality drop along the read", "Phred"),
    "mapping_rate": ("Mapped reads", "%"),
    "duplicate_rate": ("Duplicate reads", "%"),
    "properly_paired_rate": ("Properly paired reads", "%"),
    "ts_tv": ("Transition/transversion ratio", ""),
    "het_hom_ratio": ("Het/hom-alt genotype ratio", ""),
    "missing_genotype_rate": ("Missing genotypes", "%"),
    "pass_rate": ("Records with FILTER=PASS", "%"),
}


def thresholds() -> dict[str, dict[str, dict[str, Any]]]:
    return settings.BIOFM_QC_THRESHOLDS


def judge(value: float | None, spec: dict[str, Any]) -> str | None:
    """pass/warn/fail for a value against ``{"warn": w, "fail": f, "better": "higher"|"lower"}``."""
    if value is None:
        return None
    if spec.get("better", "higher") == "higher":
        if value < spec["fail"]:
            return QcVerdict.FAIL
        return QcVerdict.WARN if value < spec["warn"] else QcVerdict.PASS
    if value > spec["fail"]:
        return QcVerdict.FAIL
    return QcVerdict.WARN if value > spec["warn"] else QcVerdict.PASS


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 3) if whole else None


def fastq_metrics(stats: dict[str, Any]) -> dict[str, float | None]:
    per_position = [float(q) for q in stats.get("per_position_mean_quality") or []]
    drop = None
    if len(per_position) >= 2:
        window = max(1, len(per_position) // 10)
        head = sum(per_position[:window]) / window
        tail = sum(per_position[-window:]) / window
        drop = round(head - tail, 3)
    max_length = stats.get("max_length") or 0
    spread = round(100.0 * (max_length - (stats.get("min_length") or 0)) / max_length, 3) if max_length else None
    return {
        "mean_quality": _round(stats.get("mean_quality")),
        "q30_rate": _round(stats.get("q30_percent")),
        "n_rate": _round(stats.get("n_percent")),
        "length_spread": spread,
        "quality_drop": drop,
    }


def bam_metrics(stats: dict[str, Any]) -> dict[str, float | None]:
    reads = stats.get("reads") or 0
    return {
        "mapping_rate": _pct(stats.get("mapped") or 0, reads),
        "duplicate_rate": _pct(stats.get("duplicates") or 0, reads),
        "properly_paired_rate": _pct(stats.get("properly_paired") or 0, stats.get("paired") or 0),
    }


def genotype_counts(path: Any, max_records: int) -> dict[str, int]:
    """Het, hom-alt, hom-ref and missing genotype calls over the first ``max_records`` records."""
    import pysam

    counts = {"het": 0, "hom_alt": 0, "hom_ref": 0, "missing": 0, "calls": 0, "records": 0}
    try:
        variants = pysam.VariantFile(str(path))
    except (OSError, ValueError) as exc:
        raise AnalysisError(f"The variants could not be read: {exc}") from exc
    with variants:
        samples = list(variants.header.samples)
        if not samples:
            return counts
        for record in variants.fetch():
            counts["records"] += 1
            for call in record.samples.values():
                genotype = call.get("GT")
                counts["calls"] += 1
                if not genotype or any(allele is None for allele in genotype):
                    counts["missing"] += 1
                elif len(set(genotype)) > 1:
                    counts["het"] += 1
                elif genotype[0] == 0:
                    counts["hom_ref"] += 1
                else:
                    counts["hom_alt"] += 1
            if counts["records"] >= max_records:
                break
    return counts


def vcf_metrics(stats: dict[str, Any], path: Any) -> tuple[dict[str, float | None], dict[str, int]]:
    counts = genotype_counts(path, settings.BIOFM_QC_MAX_VCF_RECORDS)
    het_hom = None
    if counts["het"] or counts["hom_alt"]:
        het_hom = round(counts["het"] / counts["hom_alt"], 3) if counts["hom_alt"] else float(counts["het"])
    return {
        "ts_tv": _round(stats.get("ts_tv")),
        "het_hom_ratio": het_hom,
        "missing_genotype_rate": _pct(counts["missing"], counts["calls"]),
        "pass_rate": _pct(stats.get("pass") or 0, stats.get("records") or 0),
    }, counts


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def evaluate(kind: str, values: dict[str, float | None]) -> tuple[str, list[dict[str, Any]]]:
    table = thresholds()[kind]
    metrics = []
    for name, value in values.items():
        spec = table[name]
        label, unit = LABELS[name]
        metrics.append(
            {
                "metric": name,
                "label": label,
                "unit": unit,
                "value": value,
                "status": judge(value, spec) or "n/a",
                "warn": spec["warn"],
                "fail": spec["fail"],
                "better": spec.get("better", "higher"),
            }
        )
    statuses = {m["status"] for m in metrics}
    if QcVerdict.FAIL in statuses:
        verdict = QcVerdict.FAIL
    elif QcVerdict.WARN in statuses:
        verdict = QcVerdict.WARN
    elif QcVerdict.PASS in statuses:
        verdict = QcVerdict.PASS
    else:
        raise AnalysisError("None of the QC metrics could be computed for this file (is it empty?).")
    return str(verdict), metrics


def flag_file(file: File, verdict: str, actor: Any) -> list[str]:
    """Replace the file's ``qc:*`` tag with ``qc:<verdict>``; returns the new tags."""
    current = list(file.tags or [])
    tags = [t for t in current if not str(t).startswith(QC_TAG_PREFIX)] + [f"{QC_TAG_PREFIX}{verdict}"]
    if tags != current:
        file_services.update_file(file, actor=actor, tags=tags)
    return tags


class QcHandler:
    task_type = "qc"
    label = "Quality control"
    description = "FASTQ, BAM and VCF quality metrics with pass/warn/fail verdicts; flags the file."

    def accepts(self, file: File) -> str | None:
        if file_format(file) not in FORMATS:
            return "Quality control reads FASTQ, SAM/BAM/CRAM and VCF/BCF files."
        return None

    def run(self, task: MLTask) -> dict[str, Any]:
        file = task.file
        fmt, stats, _hints = stats_for(file)
        kind = FORMATS.get(fmt)
        if kind is None:
            raise AnalysisError("Quality control reads FASTQ, SAM/BAM/CRAM and VCF/BCF files.")
        extra: dict[str, Any] = {}
        if kind == "fastq":
            values = fastq_metrics(stats)
            extra = {"reads": stats.get("reads"), "bases": stats.get("bases")}
        elif kind == "bam":
            if not stats.get("reads"):
                raise AnalysisError("The alignment file holds no reads.")
            values = bam_metrics(stats)
            extra = {"reads": stats.get("reads")}
        else:
            values, counts = vcf_metrics(stats, blob_path(file))
            extra = {"records": stats.get("records"), "genotypes": counts}
        if stats.get("truncated"):  # the extraction stopped at its budget: figures cover a prefix
            extra["truncated"] = True
            extra["bytes_covered"] = stats.get("bytes_covered")
        verdict, metrics = evaluate(kind, values)
        with transaction.atomic():
            FileQC.objects.update_or_create(
                file=file, defaults={"verdict": verdict, "file_format": fmt, "metrics": metrics, "task": task}
            )
            tags = flag_file(file, verdict, task.submitter)
        return {"format": fmt, "verdict": verdict, "metrics": metrics, "tag": f"{QC_TAG_PREFIX}{verdict}",
                "tags": tags, **extra}  # fmt: skip
