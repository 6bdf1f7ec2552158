"""Single-cell preprocessing and layouts for ``.h5ad`` files with scanpy, on an in-memory copy
(the stored bytes are never changed): normalise to 10,000 counts per cell → log1p (both skipped
when X is already log-normalised: non-integer or negative values) → highly variable genes → PCA →
neighbour graph → UMAP, and t-SNE when ``params.tsne`` is true.

The embeddings (``X_pca``, ``X_umap``, ``X_tsne``) are kept in an ``.npz`` under
``<data dir>/ml/`` and recorded in ``CellEmbedding``; ``cellxgene_bridge`` adds them to the
published copy instead of computing its TruncatedSVD fallback. The result carries a preview of
the UMAP (at most ``PREVIEW_POINTS`` cells, coloured by a categorical obs column) for the SPA.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from file_upload.models import File

from ..models import CellEmbedding, MLTask
from ..registry import AnalysisError
from .common import blob_path, file_format

PREVIEW_POINTS = 5000
COLOUR_COLUMNS = ("cell_type", "celltype", "bulk_labels", "leiden", "louvain", "clusters", "cluster")


def ml_dir() -> Path:
    path = Path(settings.FILES_DIR).parent / "ml"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _is_log_normalised(x: Any) -> bool:
    from scipy import sparse

    values = x.data if sparse.issparse(x) else np.asarray(x)
    sample = values.ravel()[:1_000_000]
    if sample.size == 0:
        return False
    return bool(np.any(sample < 0) or not np.allclose(sample, np.round(sample)))


def _colour_column(obs: Any, wanted: str | None) -> str | None:
    if wanted and wanted in obs.columns:
        return wanted
    for name in COLOUR_COLUMNS:
        if name in obs.columns:
            return name
    for name in obs.columns:
        column = obs[name]
        if str(column.dtype) == "category" and 1 < len(column.cat.categories) <= 50:
            return name
    return None


def process(path: Path, params: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    import anndata
    import scanpy as sc

    try:
        adata = anndata.read_h5ad(path)
    except Exception as exc:
        raise AnalysisError(f"anndata cannot read this file: {' '.join(str(exc).split())[:300]}") from exc
    n_obs, n_vars = adata.shape
    if n_obs < 10 or n_vars < 10:
        raise AnalysisError(f"Too small for a layout: {n_obs} cells × {n_vars} genes (10 × 10 at least).")
    steps: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adata.X = adata.X.astype(np.float32) if adata.X.dtype != np.float32 else adata.X
        if _is_log_normalised(adata.X):
            steps.append("X is already log-normalised: normalise and log1p skipped")
        else:
            sc.pp.normalize_total(adata, target_sum=1e4)
            sc.pp.log1p(adata)
            steps += ["normalise_total (10,000 per cell)", "log1p"]
        n_top = int(params.get("n_top_genes") or min(2000, n_vars))
        try:
            sc.pp.highly_variable_genes(adata, n_top_genes=min(n_top, n_vars), flavor="seurat")
            hvg = int(adata.var["highly_variable"].sum())
        except Exception:  # degenerate dispersions: keep every gene
            adata.var["highly_variable"] = True
            hvg = n_vars
        steps.append(f"highly variable genes: {hvg}")
        n_pcs = max(2, min(50, n_obs - 1, hvg - 1))
        sc.pp.pca(adata, n_comps=n_pcs, mask_var="highly_variable", random_state=0)
        steps.append(f"PCA: {n_pcs} components")
        n_neighbors = max(2, min(int(params.get("n_neighbors") or 15), n_obs - 1))
        sc.pp.neighbors(adata, n_neighbors=n_neighbors, n_pcs=n_pcs, random_state=0)
        steps.append(f"neighbours: {n_neighbors}")
        sc.tl.umap(adata, random_state=0)
        steps.append("UMAP")
        embeddings = {
            "X_pca": np.asarray(adata.obsm["X_pca"], dtype=np.float32),
            "X_umap": np.asarray(adata.obsm["X_umap"], dtype=np.float32),
        }
        if params.get("tsne"):
            sc.tl.tsne(adata, n_pcs=n_pcs, random_state=0)
            embeddings["X_tsne"] = np.asarray(adata.obsm["X_tsne"], dtype=np.float32)
            steps.append("t-SNE")
    colour = _colour_column(adata.obs, params.get("color"))
    info = {
        "n_obs": int(n_obs),
        "n_vars": int(n_vars),
        "n_hvg": hvg,
        "n_pcs": n_pcs,
        "steps": steps,
        "preview": preview(embeddings["X_umap"], adata.obs[colour] if colour else None, colour),
    }
    return embeddings, info


def preview(umap: np.ndarray, labels: Any, colour: str | None) -> dict[str, Any]:
    n = umap.shape[0]
    rng = np.random.default_rng(0)
    index = np.sort(rng.choice(n, PREVIEW_POINTS, replace=False)) if n > PREVIEW_POINTS else np.arange(n)
    out: dict[str, Any] = {
        "embedding": "X_umap",
        "x": [round(float(v), 3) for v in umap[index, 0]],
        "y": [round(float(v), 3) for v in umap[index, 1]],
        "colour_by": colour,
        "points": int(len(index)),
        "cells": int(n),
    }
    if labels is not None:
        values = labels.astype(str).to_numpy()[index]
        categories = sorted(set(values.tolist()))[:50]
        lookup = {c: i for i, c in enumerate(categories)}
        out["categories"] = categories
        out["label"] = [lookup.get(v, -1) for v in values.tolist()]
    return out


def store_embeddings(file: File, embeddings: dict[str, np.ndarray], task: MLTask | None) -> CellEmbedding:
    target = ml_dir() / f"cells-{file.id}-{file.sha256[:16] or 'nohash'}.npz"
    tmp = target.with_name(target.name + ".tmp.npz")
    np.savez_compressed(tmp, **embeddings)
    tmp.replace(target)
    n_obs = next(iter(embeddings.values())).shape[0]
    row, _ = CellEmbedding.objects.update_or_create(
        file=file,
        defaults={"sha256": file.sha256, "path": str(target), "keys": sorted(embeddings), "n_obs": n_obs, "task": task},
    )
    return row


def embeddings_for(file: File, n_obs: int) -> dict[str, np.ndarray]:
    """The stored layouts of ``file`` (for the cellxgene publication): empty when there are none,
    when they were computed from other bytes, or when the cell count no longer matches."""
    row = CellEmbedding.objects.filter(file=file).first()
    if row is None or (row.sha256 and file.sha256 and row.sha256 != file.sha256) or row.n_obs != n_obs:
        return {}
    try:
        with np.load(row.path) as data:
            return {key: np.ascontiguousarray(data[key]) for key in data.files}
    except (OSError, ValueError):
        return {}


class H5adVisHandler:
    task_type = "h5ad_vis"
    label = "Single-cell layout (UMAP)"
    description = "scanpy preprocessing, PCA and UMAP (t-SNE on request) of an .h5ad file."

    def accepts(self, file: File) -> str | None:
        if file_format(file) != "h5ad" and not file.name.lower().endswith(".h5ad"):
            return "Single-cell layouts are computed for .h5ad (AnnData) files."
        return None

    def validate_params(self, params: dict[str, Any]) -> dict[str, Any]:
        from django.core.exceptions import ValidationError

        def whole(name: str, low: int, high: int) -> None:
            value = params.get(name)
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high
            ):
                raise ValidationError({"params": [f"params.{name} must be a whole number from {low} to {high}."]})

        if "tsne" in params and not isinstance(params["tsne"], bool):
            raise ValidationError({"params": ["params.tsne must be true or false."]})
        whole("n_top_genes", 50, 20000)
        whole("n_neighbors", 2, 200)
        if "color" in params and not isinstance(params["color"], str):
            raise ValidationError({"params": ["params.color must be the name of an obs column."]})
        return params

    def run(self, task: MLTask) -> dict[str, Any]:
        path = blob_path(task.file)
        limit = settings.BIOFM_H5AD_VIS_MAX_BYTES
        if limit and path.stat().st_size > limit:
            raise AnalysisError(f"The file is larger than this server processes in memory ({limit:,} bytes).")
        embeddings, info = process(path, task.params)
        store_embeddings(task.file, embeddings, task)
        return {**info, "embeddings": sorted(embeddings)}
