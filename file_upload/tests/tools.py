"""Run the reference tools (seqkit, samtools, bcftools) and read their figures."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

TOOLS = ("seqkit", "samtools", "bcftools")
missing = [tool for tool in TOOLS if shutil.which(tool) is None]
requires_tools = pytest.mark.skipif(bool(missing), reason=f"missing reference tools: {missing}")


def seqkit_stats(path: Path, encoding: str | None = None) -> dict[str, float]:
    cmd = ["seqkit", "stats", "-a", "-T", "-j", "1"]
    if encoding == "phred+64":
        cmd += ["-E", "illumina-1.3+"]
    out = subprocess.run([*cmd, str(path)], capture_output=True, text=True, check=True).stdout
    header, row = out.splitlines()[:2]
    values = dict(zip(header.split("\t"), row.split("\t"), strict=True))
    return {k: float(v) for k, v in values.items() if k not in ("file", "format", "type")}


def flagstat(path: Path) -> dict[str, int]:
    out = subprocess.run(["samtools", "flagstat", "-O", "json", str(path)], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    passed, failed = data["QC-passed reads"], data["QC-failed reads"]
    return {k: passed[k] + failed[k] for k in passed if isinstance(passed[k], int)}


def idxstats(path: Path) -> dict[str, tuple[int, int, int]]:
    out = subprocess.run(["samtools", "idxstats", str(path)], capture_output=True, text=True, check=True).stdout
    rows = (line.split("\t") for line in out.splitlines())
    return {name: (int(length), int(mapped), int(unmapped)) for name, length, mapped, unmapped in rows}


def bcftools_stats(path: Path) -> dict[str, int]:
    out = subprocess.run(["bcftools", "stats", str(path)], capture_output=True, text=True, check=True).stdout
    figures: dict[str, int] = {}
    for line in out.splitlines():
        fields = line.split("\t")
        if fields[0] == "SN":
            figures[fields[2].rstrip(":")] = int(fields[3])
        elif fields[0] == "TSTV":
            figures["ts"], figures["tv"] = int(fields[2]), int(fields[3])
    return figures


def bcftools_lines(path: Path, *args: str) -> list[str]:
    out = subprocess.run(["bcftools", *args, str(path)], capture_output=True, text=True, check=True).stdout
    return out.splitlines()
