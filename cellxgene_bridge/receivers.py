"""What cellxgene_bridge does when the workspace signals (``file_upload.signals``), and the
layouts other apps offer it (``layouts_for``).

- ``file_purging``: stop the viewers still serving the file and name the published copies
  (``CELLXGENE_DATA_DIR/<file id>__<name>.h5ad``, ``.<file id>__*.tmp`` left by a publication cut
  short, and the data paths the publications and viewers recorded) for the purge to erase.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.dispatch import receiver

from file_upload.models import File
from file_upload.signals import PurgePath, file_purging

log = logging.getLogger(__name__)


def _shown(path: Path, root: Path) -> str:
    try:
        return f"cellxgene/{path.resolve().relative_to(root.resolve())}"
    except ValueError:
        return path.name


@receiver(file_purging, sender=File, dispatch_uid="cellxgene_bridge.file_purging")
def on_file_purging(sender: Any, file: File, actor: Any = None, **kwargs: Any) -> list[PurgePath]:
    from . import pool
    from .models import Publication, Viewer, ViewerStatus

    for viewer in Viewer.objects.filter(file_id=file.id).exclude(status=ViewerStatus.STOPPED):
        try:
            pool.stop(viewer, actor=actor, reason="purged")
        except Exception:  # the copy is removed anyway; a dead viewer cannot serve it
            log.exception("could not stop cellxgene viewer %s before purging file %s", viewer.pk, file.id)
    root = Path(settings.CELLXGENE_DATA_DIR)
    paths: list[Path] = []
    if root.is_dir():
        paths += sorted(root.glob(f"{file.id}__*.h5ad"))
        paths += sorted(root.glob(f".{file.id}__*.tmp"))  # a publication cut short
    for data_path in [
        *Publication.objects.filter(file_id=file.id).values_list("data_path", flat=True),
        *Viewer.objects.filter(file_id=file.id).values_list("data_path", flat=True),
    ]:
        path = Path(data_path) if data_path else None
        if path is not None and path.resolve().parent == root.resolve() and path not in paths:
            paths.append(path)
    return [PurgePath(path, _shown(path, root)) for path in paths]
