"""Download as zip: one streamed archive of a selection of files and folders.

The archive is written while it is sent (``stream-zip``), never built in memory or on disk:
each member is read from the store in 1 MiB chunks and passes through deflate once. ZIP64
structures wherever needed (``ZIP_AUTO``), so members and archives past 4 GiB work (``unzip``, Python's
``zipfile``, 7-Zip and the operating systems' archive tools read them). Formats that are
already compressed (gz, bgzf, BAM, CRAM, BCF, h5ad, zip…) are stored with deflate level 0
(framing only, at disk speed); the rest with level 1, which is several times faster than the
default level 6 and gets most of its gain on FASTQ/FASTA/VCF text. See
docs/decisions/0008-streamed-zip-downloads.md.

A member is a visible live file: a selected file at the archive's top level, a selected
folder's visible files under ``<folder name>/<subfolder path>/``. Duplicate paths get
`` (2)`` before the extension. Nothing is resumable (no Range); the response has no length.

Public surface: ``ZipMember``, ``zip_members``, ``stream_archive``, ``archive_name``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stream_zip import ZIP_AUTO, stream_zip

from file_upload import storage
from file_upload.models import File, Folder

CHUNK = 1024 * 1024
STORED_SUFFIXES = (
    ".gz", ".bgz", ".bam", ".cram", ".bcf", ".h5ad", ".zip", ".bz2", ".xz", ".zst", ".7z", ".png", ".jpg",
    ".jpeg", ".pdf", ".bai", ".crai", ".csi", ".tbi", ".loom", ".h5",
)  # fmt: skip


@dataclass(frozen=True)
class ZipMember:
    path: str
    file_id: int
    storage_key: str
    size: int
    modified: datetime


def _unique(path: str, taken: set[str]) -> str:
    if path not in taken:
        taken.add(path)
        return path
    head, slash, name = path.rpartition("/")
    stem, dot, ext = name.partition(".")
    for n in range(2, 100_000):
        candidate = f"{head}{slash}{stem} ({n}){dot}{ext}"
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise ValueError(f"too many members named {path!r}")


def zip_members(user: Any, file_ids: Iterable[int], folder_ids: Iterable[int]) -> list[ZipMember]:
    """The members the user may download, in a stable order (selected files first, then each
    folder's files by path). Ids the user cannot see are left out (the caller answers 404 when
    nothing is left)."""
    visible = File.objects.restrict(user, "download")
    members: list[ZipMember] = []
    taken: set[str] = set()
    fields = ("id", "name", "storage_key", "size", "updated_at", "folder__name_path")
    for row in visible.filter(id__in=list(file_ids)).order_by("name", "id").values(*fields):
        members.append(_member(_unique(row["name"], taken), row))
    for folder in Folder.objects.restrict(user, "view").filter(id__in=list(folder_ids)).order_by("name", "id"):
        prefix_len = len(folder.name_path)
        rows = (
            visible.filter(folder__tree_path__startswith=folder.tree_path, folder__project_id=folder.project_id)
            .order_by("folder__name_path", "name", "id")
            .values(*fields)
        )
        for row in rows.iterator(chunk_size=2000):
            inner = row["folder__name_path"][prefix_len:].strip("/")
            path = "/".join(part for part in (folder.name, inner, row["name"]) if part)
            members.append(_member(_unique(path, taken), row))
    return members


def _member(path: str, row: dict[str, Any]) -> ZipMember:
    return ZipMember(path, row["id"], row["storage_key"], row["size"], row["updated_at"])


def _chunks(member: ZipMember) -> Iterator[bytes]:
    with storage.open_blob(member.storage_key) as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _level(path: str) -> int:
    return 0 if path.lower().endswith(STORED_SUFFIXES) else 1


def stream_archive(members: list[ZipMember]) -> Iterator[bytes]:
    """The archive's bytes, produced as they are sent. ``ZIP_AUTO`` writes ZIP64 records for a
    member past 4 GiB or beyond the 4 GiB offset, and carries each member's deflate level."""
    entries = (
        (member.path, member.modified, 0o100644, ZIP_AUTO(member.size, level=_level(member.path)), _chunks(member))
        for member in members
    )
    yield from stream_zip(entries, chunk_size=CHUNK)


def archive_name(user: Any, file_ids: list[int], folder_ids: list[int]) -> str:
    """``<folder>.zip`` for one folder, ``files.zip`` otherwise."""
    if len(folder_ids) == 1 and not file_ids:
        folder = Folder.objects.restrict(user, "view").filter(id=folder_ids[0]).first()
        if folder is not None:
            return f"{folder.name}.zip"
    return "files.zip"
