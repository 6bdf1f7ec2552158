"""The Genome view: what the SPA's igv.js needs to show a BAM, CRAM or VCF file inline.

``genome_view(file, user, base_url)`` returns short-lived signed links (``sign_download``) for
the data file and its index (the signed link's ``<name>.bai|.csi|.tbi|.crai`` form, served by
``responses.serve_index``), and a reference genome for the file's ``reference_genome``: a FASTA
in the same project that the user may download, named by that value (its ``reference_genome``
field, or its name without the extension), with its ``.fai`` beside it in the same folder. No
genome is fetched from outside. When there is none, igv.js is given the contigs of the file's
own header as chromosome sizes (``chrom_sizes``) and the answer says so (``note``): the tracks
draw, without a reference sequence.

Public surface: ``GENOME_VIEW_FORMATS``, ``SIGNED_SECONDS``, ``genome_view``, ``chrom_sizes``.
"""

from __future__ import annotations

import gzip
import io
import re
from typing import Any
from urllib.parse import quote

from django.db.models import Q

from file_upload import storage
from file_upload.models import File

from .services import index_key, sign_download

GENOME_VIEW_FORMATS = {"bam": "alignment", "cram": "alignment", "vcf": "variant"}
SIGNED_SECONDS = 3600  # the view's links last an hour: long enough to browse, short if copied
FASTA_SUFFIXES = (".fa", ".fasta", ".fna")
HEADER_LIMIT = 8 * 1024 * 1024  # a VCF header is read up to this many (decompressed) bytes
_CONTIG = re.compile(r"^##contig=<.*?\bID=([^,>]+).*?\blength=(\d+)", re.IGNORECASE)
_INDEX_KINDS = {"bam": (".bai", ".csi"), "cram": (".crai",), "vcf": (".tbi", ".csi")}


def view_format(file: File) -> str | None:
    """``bam``, ``cram`` or ``vcf`` when the Genome view can show the file, else None."""
    detected = (file.file_format or (file.stats or {}).get("format") or "").lower()
    if detected in GENOME_VIEW_FORMATS:
        return detected
    lower = file.name.lower()
    for suffix, kind in ((".bam", "bam"), (".cram", "cram"), (".vcf", "vcf"), (".vcf.gz", "vcf")):
        if lower.endswith(suffix):
            return kind
    return None


def _signed(file: File, user: Any, base_url: str) -> tuple[str, Any]:
    token, expires_at = sign_download(file, user, SIGNED_SECONDS)
    return f"{base_url}/api/signed/{token}/{quote(file.name, safe='')}", expires_at


def _stem(name: str) -> str:
    lower = name.lower()
    for suffix in FASTA_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def find_reference(file: File, user: Any) -> tuple[File, File] | None:
    """A FASTA (uncompressed) and its ``.fai`` in the file's project, both downloadable by
    ``user``, for the file's ``reference_genome``; one marked ``data_type=reference`` first."""
    wanted = file.reference_genome.strip()
    if not wanted:
        return None
    files = File.objects.restrict(user, "download").alive().filter(project_id=file.project_id)
    by_name = Q()
    for suffix in FASTA_SUFFIXES:
        by_name |= Q(name__iexact=wanted + suffix)
    named = Q(reference_genome__iexact=wanted) & Q(
        Q(name__iendswith=".fa") | Q(name__iendswith=".fasta") | Q(name__iendswith=".fna")
    )
    candidates = sorted(files.filter(by_name | named), key=lambda f: (f.data_type != "reference", f.name, f.id))
    for fasta in candidates:
        fai = files.filter(folder_id=fasta.folder_id, name=fasta.name + ".fai").first()
        if fai is not None:
            return fasta, fai
    return None


def chrom_sizes(file: File) -> list[tuple[str, int]]:
    """The contigs named in the file's header with their lengths: a BAM/CRAM's ``@SQ`` lines (from
    its statistics), a VCF's ``##contig`` lines (read from the header, bounded)."""
    stats = file.stats or {}
    header = stats.get("header") or {}
    if isinstance(header, dict) and header.get("SQ"):
        return [(str(sq["SN"]), int(sq["LN"])) for sq in header["SQ"] if "SN" in sq and "LN" in sq]
    if view_format(file) != "vcf":
        return []
    contigs: list[tuple[str, int]] = []
    with storage.open_blob(file.storage_key) as raw:
        magic = raw.read(2)
        raw.seek(0)
        stream: Any = gzip.GzipFile(fileobj=raw) if magic == b"\x1f\x8b" else raw
        text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace")
        read = 0
        for line in text:
            read += len(line)
            if not line.startswith("##") or read > HEADER_LIMIT:
                break
            match = _CONTIG.match(line)
            if match:
                contigs.append((match.group(1), int(match.group(2))))
    return contigs


def genome_view(file: File, user: Any, base_url: str) -> dict[str, Any]:
    """The Genome view of ``file`` for ``user`` (who may download it): the track, its index, the
    reference or the header's contigs, a starting locus and a note for the user."""
    kind = view_format(file)
    if kind is None:
        raise ValueError("The Genome view shows BAM, CRAM and VCF files.")
    url, expires_at = _signed(file, user, base_url)
    index_ext = next((ext for ext in _INDEX_KINDS[kind] if index_key(file, ext, reader=user) is not None), None)
    track = {
        "name": file.name,
        "type": GENOME_VIEW_FORMATS[kind],
        "format": kind,
        "url": url,
        "index_url": url + index_ext if index_ext else None,
    }
    contigs = chrom_sizes(file)
    reference = None
    notes = []
    found = find_reference(file, user)
    if found is not None:
        fasta, fai = found
        reference = {
            "name": file.reference_genome,
            "file": fasta.id,
            "fasta_url": _signed(fasta, user, base_url)[0],
            "index_url": _signed(fai, user, base_url)[0],
        }
    elif file.reference_genome:
        notes.append(
            f"No FASTA with a .fai for “{file.reference_genome}” in this project: showing the contigs "
            "of the file's header, without the reference sequence."
        )
    else:
        notes.append(
            "The file names no reference genome: showing the contigs of its header, without the reference sequence."
        )
    if kind == "cram" and reference is None:
        notes.append("CRAM reads are decoded against their reference: upload it (FASTA + .fai) to see them.")
    if index_ext is None and kind != "vcf":
        notes.append("This file has no index yet; it is being read whole.")
    first = contigs[0] if contigs else None
    return {
        "track": track,
        "reference": reference,
        "reference_genome": file.reference_genome,
        "contigs": [{"name": name, "length": length} for name, length in contigs],
        "locus": f"{first[0]}:1-{min(first[1], 10_000)}" if first else "",
        "note": " ".join(notes),
        "expires_at": expires_at,
    }
