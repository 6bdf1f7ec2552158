"""Benchmark: the cellxgene viewer pool — publish-to-ready, reopen after eviction, RSS per viewer.

    .venv/bin/python performance_test_project/cellxgene_bench.py [--cells 100000] [--genes 2000]
        [--density 0.05] [--json out.json]

Two datasets go through the same path as a user's click (``publish_dataset``: inspect, copy or
hard-link, TruncatedSVD when no layout exists, ``pool.launch`` of the real cellxgene from
``.venv-cellxgene``, ready once ``/api/v0.2/config`` names the dataset):

1. scanpy's bundled ``pbmc68k_reduced`` as shipped (it has ``X_umap`` and ``X_pca``: no embedding);
2. a generated sparse counts matrix (``--cells`` × ``--genes``, CSR, ``--density`` non-zero)
   without ``obsm``, so the bridge computes ``X_truncated_svd``.

The pool holds one viewer here (``CELLXGENE_MAX_VIEWERS=1``), so publishing the second evicts
the first; each is then reopened after its eviction (what a request for a stopped dataset does:
``reopen``, then the task's work), which reuses the copy. Per dataset it prints, side by side:
the baseline — cellxgene itself launched on the same copy with the same flags, no bridge, until
its config answers — then publish → ready, reopen after eviction → ready, and the RSS of the
viewer (measured by the pool, and of the bare launch). Measured in a child process that runs only
``ensure_embedding`` on a copy: the embedding step's time and peak RSS (VmHWM).

Everything runs against a throw-away SQLite database and data directory under a temporary folder,
on free ports; the viewers it starts are stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
sys.path.insert(0, str(ROOT))

# Child process: imports first (as a worker has them), then one ensure_embedding call on a copy.
EMBED_CHILD = """
import json, shutil, sys, time
sys.path.insert(0, {root!r})
import h5py, numpy, scipy.sparse, sklearn.decomposition, anndata
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "file_project.settings")
django.setup()
from pathlib import Path
from cellxgene_bridge.services import ensure_embedding

def hwm():
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))
    return int(line.split()[1]) / 1024

before = hwm()
start = time.perf_counter()
key = ensure_embedding(Path({path!r}))
print(json.dumps({{"seconds": time.perf_counter() - start, "key": key, "rss_before_mb": before,
                  "rss_peak_mb": hwm()}}))
"""


def generate_sparse(path: Path, cells: int, genes: int, density: float) -> None:
    import anndata
    import numpy as np
    import pandas as pd
    from scipy import sparse

    rng = np.random.default_rng(0)
    nnz_per_row = max(1, int(genes * density))
    indptr = np.arange(0, (cells + 1) * nnz_per_row, nnz_per_row, dtype=np.int64)
    # Genes drawn with a skew (a few highly expressed), counts from a geometric distribution.
    weights = 1.0 / np.arange(1, genes + 1) ** 0.8
    weights /= weights.sum()
    indices = np.empty(cells * nnz_per_row, dtype=np.int32)
    for row in range(0, cells, 10_000):
        block = min(10_000, cells - row)
        for i in range(block):
            chosen = rng.choice(genes, size=nnz_per_row, replace=False, p=weights)
            chosen.sort()
            start = (row + i) * nnz_per_row
            indices[start : start + nnz_per_row] = chosen
    data = rng.geometric(0.3, size=cells * nnz_per_row).astype(np.float32)
    matrix = sparse.csr_matrix((data, indices, indptr), shape=(cells, genes))
    obs = pd.DataFrame(
        {"cluster": pd.Categorical(rng.integers(0, 12, cells).astype(str))},
        index=[f"cell{i}" for i in range(cells)],
    )
    var = pd.DataFrame(index=[f"gene{j}" for j in range(genes)])
    anndata.AnnData(X=matrix, obs=obs, var=var).write_h5ad(path)


def embedding_memory(path: Path, workdir: Path) -> dict:
    copy = workdir / f"embed-{path.name}"
    shutil.copyfile(path, copy)
    try:
        code = EMBED_CHILD.format(root=str(ROOT), path=str(copy))
        out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True, env=os.environ.copy())
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        copy.unlink(missing_ok=True)


def setup_django(workdir: Path, ports: str) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "file_project.settings",
            "BIOFM_DATA_DIR": str(workdir / "var"),
            "CELLXGENE_DATA_DIR": str(workdir / "cellxgene_data"),
            "CELLXGENE_LOG_DIR": str(workdir / "logs"),
            "CELLXGENE_PORT_RANGE": ports,
            "CELLXGENE_MAX_VIEWERS": "1",
            "CELLXGENE_AUTO_RESTART": "1",
        }
    )
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from cellxgene_bridge import services

    services._queue = lambda publication_id: None  # no worker: the task's work is done here


def timed_publish(publication_id: int):
    from cellxgene_bridge import pool, services

    start = time.perf_counter()
    publication = services.publish_dataset(publication_id)
    seconds = time.perf_counter() - start
    if publication.status != "ready":
        raise SystemExit(f"publication of {publication.dataset} ended {publication.status}: {publication.error}")
    return publication, seconds, pool.viewer_for(publication.pk)


def publish(path: Path, owner, project) -> tuple[dict, object]:
    from cellxgene_bridge import pool
    from cellxgene_bridge.models import Publication
    from file_upload.services import store_file

    with path.open("rb") as handle:
        file = store_file(project=project, folder=None, name=path.name, owner=owner, source=handle)
    publication = Publication.objects.create(file=file, dataset=file.name, requested_by=owner)
    publication, seconds, viewer = timed_publish(publication.pk)
    config = pool.fetch_config(viewer.host, viewer.port, timeout=10)
    row = {
        "dataset": path.name,
        "size_mb": round(path.stat().st_size / 1e6, 1),
        "embedding": publication.embedding or "(kept the file's own layouts)",
        "publish_to_ready_s": round(seconds, 2),
        "viewer_rss_mb": viewer.rss_mb,
        "viewer_names_dataset": pool.configured_dataset(config) == file.name,
    }
    return row, publication


def reopen_after_eviction(publication) -> dict:
    from cellxgene_bridge import services

    publication.refresh_from_db()
    if publication.status != "stopped":
        raise SystemExit(f"{publication.dataset} was not evicted (status {publication.status})")
    start = time.perf_counter()
    services.reopen(publication, reason="benchmark")
    publication, _, viewer = timed_publish(publication.pk)
    return {"reopen_to_ready_s": round(time.perf_counter() - start, 2), "reopened_rss_mb": viewer.rss_mb}


def bare_launch(data_path: str, title: str, log: Path) -> dict:
    """The baseline: cellxgene alone on the same copy and flags, until its config names the title."""
    from cellxgene_bridge import pool
    from cellxgene_bridge.tests.fixtures import free_port_range

    port = free_port_range(1)[0]  # a fresh one: cellxgene refuses a port still in TIME_WAIT

    command = [
        os.environ.get("CELLXGENE_CMD") or str(ROOT / ".venv-cellxgene" / "bin" / "cellxgene"),
        "--no-upgrade-check",
        "launch",
        data_path,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--title",
        title,
        "--disable-annotations",
        "--disable-gene-sets-save",
    ]
    start = time.perf_counter()
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        while pool.configured_dataset(pool.fetch_config("127.0.0.1", port)) != title:
            if process.poll() is not None:
                raise SystemExit(f"bare cellxgene exited on {title}; see {log}")
            time.sleep(0.1)
        seconds = time.perf_counter() - start
        return {"bare_launch_s": round(seconds, 2), "bare_rss_mb": pool.process_rss_mb(process.pid)}
    finally:
        pool.terminate(process.pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--genes", type=int, default=2_000)
    parser.add_argument("--density", type=float, default=0.05)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    if not (ROOT / ".venv-cellxgene" / "bin" / "cellxgene").exists():
        raise SystemExit("cellxgene is not installed: run ./scripts/install_cellxgene.sh")

    workdir = Path(tempfile.mkdtemp(prefix="cellxgene-bench-"))
    try:
        import scanpy

        pbmc = workdir / "pbmc68k_reduced.h5ad"
        scanpy.datasets.pbmc68k_reduced().write_h5ad(pbmc)
        big = workdir / f"sparse_{args.cells}x{args.genes}.h5ad"
        start = time.perf_counter()
        generate_sparse(big, args.cells, args.genes, args.density)
        print(f"generated {big.name} ({big.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - start:.1f} s")

        memory = embedding_memory(big, workdir)
        from cellxgene_bridge.tests.fixtures import free_port_range  # the tests' helper

        first, last = free_port_range(4)
        setup_django(workdir, f"{first}-{last}")
        import anndata.io  # noqa: F401 - a worker has these loaded after its first task
        import sklearn.decomposition  # noqa: F401
        from django.contrib.auth import get_user_model

        from cellxgene_bridge import pool
        from file_upload.services import create_project

        owner = get_user_model().objects.create_user("bench", password="bench-password-1")
        project = create_project(name="bench", owner=owner)
        rows, publications = [], []
        try:
            for path in (pbmc, big):  # the second evicts the first (a pool of one)
                row, publication = publish(path, owner, project)
                rows.append(row)
                publications.append(publication)
                print(json.dumps(row), flush=True)
            for row, publication in zip(rows, publications, strict=True):  # each reopen evicts the other
                row.update(reopen_after_eviction(publication))
                # The baseline right after, so both see the same load: cellxgene alone, same copy.
                pool.stop_all(reason="benchmark baseline")
                publication.refresh_from_db()
                row.update(bare_launch(publication.data_path, publication.dataset, workdir / "bare.log"))
                print(json.dumps(row), flush=True)
        finally:
            pool.stop_all(reason="benchmark finished")

        print()
        print(
            "| dataset | size | embedding | baseline: cellxgene alone → ready | publish → ready "
            "| reopen after eviction → ready | RSS per viewer (bridge / alone) |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for row in rows:
            print(
                f"| {row['dataset']} | {row['size_mb']} MB | {row['embedding']} | {row['bare_launch_s']} s "
                f"| {row['publish_to_ready_s']} s | {row['reopen_to_ready_s']} s "
                f"| {row['viewer_rss_mb']} MB / {row['bare_rss_mb']} MB |"
            )
        print(
            f"\nembedding step on {big.name}: {memory['seconds']:.1f} s, peak RSS {memory['rss_peak_mb']:.0f} MB "
            f"(process before the step: {memory['rss_before_mb']:.0f} MB)"
        )
        if args.json:
            args.json.write_text(json.dumps({"publications": rows, "embedding": memory}, indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
