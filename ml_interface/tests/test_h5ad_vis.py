"""scanpy layouts on pbmc68k_reduced (bundled with scanpy): stored embeddings, the UMAP preview,
t-SNE on request, and the cellxgene publication using them instead of its SVD."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import h5py
import numpy as np
import pytest

from cellxgene_bridge import pool
from cellxgene_bridge import services as cellxgene
from cellxgene_bridge.models import Publication
from ml_interface.models import CellEmbedding

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]


@pytest.fixture(scope="module")
def pbmc_bytes(tmp_path_factory):
    """pbmc68k_reduced with its own layouts removed, and a raw-count variant of it."""
    import scanpy as sc

    folder = tmp_path_factory.mktemp("pbmc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adata = sc.datasets.pbmc68k_reduced()
        for key in list(adata.obsm.keys()):
            del adata.obsm[key]
        adata.write_h5ad(folder / "pbmc.h5ad")
        counts = adata.copy()
        counts.X = np.random.default_rng(0).poisson(1.0, size=adata.shape).astype(np.float32)
        counts.write_h5ad(folder / "counts.h5ad")
    return {name: (folder / f"{name}.h5ad").read_bytes() for name in ("pbmc", "counts")}


def test_h5ad_vis_on_pbmc68k_reduced_stores_pca_and_umap(
    add_file, run_task, pbmc_bytes, settings, monkeypatch, tmp_path
):
    file = add_file("pbmc68k.h5ad", pbmc_bytes["pbmc"])
    task = run_task("h5ad_vis", file.id)
    assert task["status"] == "done", task["error"]
    result = task["result"]
    assert result["n_obs"] == 700 and result["n_vars"] == 765
    assert result["embeddings"] == ["X_pca", "X_umap"]
    assert "X is already log-normalised: normalise and log1p skipped" in result["steps"]
    preview = result["preview"]
    assert preview["points"] == 700 and len(preview["x"]) == len(preview["y"]) == len(preview["label"]) == 700
    assert preview["colour_by"] == "bulk_labels" and len(preview["categories"]) == 10
    stored = CellEmbedding.objects.get(file=file)
    assert stored.keys == ["X_pca", "X_umap"] and stored.n_obs == 700
    with np.load(stored.path) as arrays:
        assert arrays["X_umap"].shape == (700, 2) and np.all(np.isfinite(arrays["X_umap"]))
        assert arrays["X_pca"].shape[0] == 700 and arrays["X_pca"].shape[1] == result["n_pcs"]

    # The cellxgene publication copies these layouts in and computes no SVD.
    settings.CELLXGENE_DATA_DIR = tmp_path / "cxg"
    viewer = SimpleNamespace(pid=None, port=None, rss_mb=None, started_at=None)
    monkeypatch.setattr(pool, "launch", lambda publication: viewer)
    publication = Publication.objects.create(file=file, dataset=file.name, requested_by=file.owner)
    cellxgene.publish_dataset(publication.id)
    publication.refresh_from_db()
    assert publication.embedding == "X_pca,X_umap" and publication.error == ""
    with h5py.File(publication.data_path, "r") as handle:
        assert set(handle["obsm"].keys()) == {"X_pca", "X_umap"}
        assert np.allclose(handle["obsm"]["X_umap"][()], np.load(stored.path)["X_umap"])


def test_raw_counts_are_normalised_and_tsne_is_added_on_request(add_file, run_task, pbmc_bytes):
    file = add_file("counts.h5ad", pbmc_bytes["counts"])
    result = run_task("h5ad_vis", file.id, {"tsne": True})["result"]
    assert result["steps"][:2] == ["normalise_total (10,000 per cell)", "log1p"]
    assert result["embeddings"] == ["X_pca", "X_tsne", "X_umap"]
    assert CellEmbedding.objects.get(file=file).keys == ["X_pca", "X_tsne", "X_umap"]


def test_not_an_h5ad_is_refused_and_a_broken_one_fails(add_file, trigger, run_task):
    assert trigger("h5ad_vis", add_file("reads.fastq", b"@r\nACGT\n+\nIIII\n").id).status_code == 400
    h5ad = add_file("x.h5ad", b"\x89HDF\r\n\x1a\n")
    assert trigger("h5ad_vis", h5ad.id, {"tsne": "yes"}).status_code == 400
    assert trigger("h5ad_vis", h5ad.id, {"n_neighbors": 1}).status_code == 400
    broken = add_file("broken.h5ad", b"\x89HDF\r\n\x1a\nnot really")
    task = run_task("h5ad_vis", broken.id)
    assert task["status"] == "failed" and "anndata cannot read" in task["error"]
