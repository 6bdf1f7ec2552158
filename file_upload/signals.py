"""Signals the workspace sends so that plugins listen instead of being reached into: the core
imports no plugin (import-linter contract ``core-knows-no-plugin``).

- ``file_purging(sender=File, file=, actor=)``: a trashed file is about to be erased for good
  (``retention.purge_file``). Each receiver stops what still serves the file and returns the
  paths of the copies or derived data it keeps of its bytes, as ``PurgePath``s; the purge
  overwrites (when asked) and removes them with the file's own bytes, and lists them in the
  ``file.purge`` audit event. Receivers: cellxgene_bridge (viewers, published copies),
  ml_interface (stored cell embeddings). The search index learns of the deletion from its change
  feed (the row's delete), so it needs no receiver.
- ``cell_layouts_wanted(sender=File, file=, n_obs=)``: an app about to show an ``.h5ad`` file's
  cells (cellxgene_bridge publishing it) asks for layouts another app computed; each receiver
  returns ``{obsm key: array}`` (ml_interface: the ``h5ad_vis`` analysis's UMAP/PCA/t-SNE), empty
  when it has none for these bytes and this cell count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.dispatch import Signal

file_purging = Signal()
cell_layouts_wanted = Signal()


@dataclass(frozen=True)
class PurgePath:
    path: Path
    # How the audit event names it: relative to a root a reader knows ("cellxgene/<name>").
    shown: str = ""
