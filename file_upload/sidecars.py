"""Index sidecars: ``x.bam.bai``/``x.bai``, ``x.cram.crai``/``x.crai``, ``x.vcf.gz.tbi`` and
``x.<bam|vcf.gz|bcf>.csi`` uploaded into the same folder as their data file become that file's
index, whichever of the two arrives first.

The pairing is one nullable relation, ``File.index_of``: the index file's row points at the data
file. ``pair`` is called after every store (and after a move or restore); it links an arriving
index to its data file, or an arriving data file to an index already there. A data file has at
most one index per kind; ``index_for(file)`` returns its live index, the one served beside it
(``file_download.services.index_key``) and used by the index task instead of building one.
The index moves, goes to the trash and comes back with its data file.

Public surface: ``INDEX_EXTENSIONS``, ``is_index_name``, ``data_names_for``, ``index_names_for``,
``pair``, ``index_for``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from .models import File

# index suffix -> the data suffixes it can index
INDEX_EXTENSIONS: dict[str, tuple[str, ...]] = {
    ".bai": (".bam",),
    ".crai": (".cram",),
    ".tbi": (".vcf.gz", ".gff.gz", ".bed.gz"),
    ".csi": (".bam", ".vcf.gz", ".bcf"),
}


def is_index_name(name: str) -> bool:
    return any(name.lower().endswith(suffix) and len(name) > len(suffix) for suffix in INDEX_EXTENSIONS)


def data_names_for(index_name: str) -> list[str]:
    """Names of the data files an index of this name belongs to, most specific first:
    ``x.bam.bai`` → ``x.bam``; ``x.bai`` → ``x.bam``."""
    lower = index_name.lower()
    for suffix, data_suffixes in INDEX_EXTENSIONS.items():
        if not lower.endswith(suffix):
            continue
        stem = index_name[: -len(suffix)]
        names = [stem] if stem.lower().endswith(data_suffixes) else []
        names += [stem + data_suffix for data_suffix in data_suffixes if not stem.lower().endswith(data_suffix)]
        return [name for name in names if name]
    return []


def index_names_for(data_name: str) -> list[str]:
    """Names an index of this data file may carry: ``x.bam`` → ``x.bam.bai``, ``x.bai``, ``x.bam.csi``."""
    lower = data_name.lower()
    names = []
    for suffix, data_suffixes in INDEX_EXTENSIONS.items():
        for data_suffix in data_suffixes:
            if lower.endswith(data_suffix):
                names.append(data_name + suffix)
                if data_suffix in (".bam", ".cram"):
                    names.append(data_name[: -len(data_suffix)] + suffix)
    return names


def _siblings(file: File) -> Q:
    return Q(project_id=file.project_id, folder_id=file.folder_id, deleted_at__isnull=True)


def pair(file: File) -> File | None:
    """Link ``file`` with its partner in the same folder, if there is one; returns the partner.
    An index keeps an existing link while its data file is still beside it."""
    if file.deleted_at is not None:
        return None
    if is_index_name(file.name):
        data = (
            File.objects.filter(_siblings(file), name__in=data_names_for(file.name))
            .exclude(id=file.id)
            .order_by("id")
            .first()
        )
        target_id = data.id if data else None
        if file.index_of_id != target_id:
            File.objects.filter(id=file.id).update(index_of_id=target_id)
            file.index_of_id = target_id
        return data
    names = index_names_for(file.name)
    if not names:
        return None
    index = File.objects.filter(_siblings(file), name__in=names).exclude(id=file.id).order_by("id").first()
    if index is not None and index.index_of_id != file.id:
        File.objects.filter(id=index.id).update(index_of_id=file.id)
        index.index_of_id = file.id
    return index


_UNCHECKED = object()


def index_for(file: File, *, reader: Any = _UNCHECKED) -> File | None:
    """The live index uploaded for ``file`` (same folder), if any. With ``reader`` (a user, or
    None for an anonymous caller) only one the reader may download: an index is a file of its
    own, with its own level, and one the reader cannot see is, for them, no index at all."""
    files = File.objects.all() if reader is _UNCHECKED else File.objects.restrict(reader, "download")
    return files.filter(index_of_id=file.id, deleted_at__isnull=True, folder_id=file.folder_id).order_by("id").first()
