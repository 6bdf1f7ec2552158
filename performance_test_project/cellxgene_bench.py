"""Benchmark: publish-to-ready seconds of the cellxgene bridge, and the embedding step's memory.

    .venv/bin/python performance_test_project/cellxgene_bench.py [--cells 100000] [--genes 2000]
        [--density 0.05] [--json out.json]

Two datasets go through the same path as a user's click (``publish_dataset``: inspect, copy or
hard-link, TruncatedSVD when no layout exists, start the real cellxgene from ``.venv-cellxgene``,
wait until ``/api/v0.2/config`` names the dataset, stop the previous viewer):

1. scanpy's bundled ``pbmc68k_reduced`` as shipped (it has ``X_umap`` and ``X_pca``: no embedding);
2. a generated sparse counts matrix (``--cells`` × ``--genes``, CSR, ``--density`` non-zero)
   without ``obsm``, so the bridge computes ``X_truncated_svd``.

For each it prints the seconds per phase (copy/embedding, launch-to-ready, total) and, measured in
a child process that runs only ``ensure_embedding`` on a copy, the peak RSS (VmHWM) of the
embedding step and what the process held before it started (imports done).

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


def setup_django(workdir: Path, port: int) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "file_project.settings",
            "BIOFM_DATA_DIR": str(workdir / "var"),
            "CELLXGENE_DATA_DIR": str(workdir / "cellxgene_data"),
            "CELLXGENE_LOG_FILE": str(workdir / "cellxgene.log"),
            "CELLXGENE_PORT": str(port),
            "CELLXGENE_AUTO_RESTART": "0",
        }
    )
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def publish(path: Path, owner, project) -> dict:
    from cellxgene_bridge import services
    from cellxgene_bridge.models import Publication
    from file_upload.services import store_file

    with path.open("rb") as handle:
        file = store_file(project=project, folder=None, name=path.name, owner=owner, source=handle)
    publication = Publication.objects.create(file=file, dataset=file.name, requested_by=owner)
    start = time.perf_counter()
    publication = services.publish_dataset(publication.pk)
    total = time.perf_counter() - start
    if publication.status != "ready":
        raise SystemExit(f"publication of {path.name} ended {publication.status}: {publication.error}")
    viewer = services.current_viewer()
    config = services.fetch_config("127.0.0.1", viewer.port, timeout=10)
    return {
        "dataset": path.name,
        "size_mb": round(path.stat().st_size / 1e6, 1),
        "embedding": publication.embedding or "(kept the file's own layouts)",
        "publish_to_ready_s": round(total, 2),
        "viewer_pid": viewer.pid,
        "viewer_names_dataset": services.configured_dataset(config) == file.name,
    }


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
        from cellxgene_bridge.tests.fixtures import free_port_pair  # the tests' helper: p and p + 1 free

        setup_django(workdir, free_port_pair())
        from django.contrib.auth import get_user_model

        from cellxgene_bridge import services
        from file_upload.services import create_project

        owner = get_user_model().objects.create_user("bench", password="bench-password-1")
        project = create_project(name="bench", owner=owner)
        rows = []
        try:
            for path in (pbmc, big):
                rows.append(publish(path, owner, project))
                print(json.dumps(rows[-1]), flush=True)
            first_pid = rows[0]["viewer_pid"]
            first_gone = not services.pid_alive(first_pid)
        finally:
            services.stop_viewers(reason="benchmark finished")

        print()
        print("| dataset | size | embedding | publish → ready |")
        print("| --- | --- | --- | --- |")
        for row in rows:
            print(f"| {row['dataset']} | {row['size_mb']} MB | {row['embedding']} | {row['publish_to_ready_s']} s |")
        print(
            f"\nembedding step on {big.name}: {memory['seconds']:.1f} s, peak RSS {memory['rss_peak_mb']:.0f} MB "
            f"(process before the step: {memory['rss_before_mb']:.0f} MB)"
        )
        print(f"previous viewer replaced (first PID gone): {first_gone}")
        if args.json:
            args.json.write_text(json.dumps({"publications": rows, "embedding": memory}, indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
