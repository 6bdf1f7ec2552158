"""Fixtures for tests that publish to a real cellxgene: a range of free ports, an isolated data
directory and logs, h5ad files made from scanpy's bundled ``pbmc68k_reduced``, and a teardown
that stops every viewer the test started. The pool holds two viewers at most
(``CELLXGENE_MAX_VIEWERS=2``), to keep memory low. Import the fixtures into a test module."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CELLXGENE = ROOT / ".venv-cellxgene" / "bin" / "cellxgene"


def free_port_range(count: int = 6) -> tuple[int, int]:
    """``count`` consecutive free ports (the pool's range for one test)."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            first = sock.getsockname()[1]
        if first + count > 65535:
            continue
        if all(_free(port) for port in range(first, first + count)):
            return first, first + count - 1
    raise RuntimeError(f"no {count} consecutive free ports")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def viewer_pids(marker: str) -> list[int]:
    """PIDs of cellxgene processes whose command line mentions ``marker`` (a test's directory)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = [arg.decode("utf-8", "replace") for arg in args]
        if "launch" in text and any(marker in arg for arg in text) and any(arg.endswith("cellxgene") for arg in text):
            pids.append(int(entry.name))
    return pids


def kill_leftovers(marker: str) -> None:
    for pid in viewer_pids(marker):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    deadline = time.monotonic() + 10
    while viewer_pids(marker) and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.fixture
def cellxgene_env(tmp_path) -> dict[str, str]:
    """Environment for child processes (gunicorn, a Celery worker) to use the same viewer setup."""
    if not CELLXGENE.exists():
        pytest.fail("cellxgene is not installed: run ./scripts/install_cellxgene.sh (scripts/test.sh does).")
    return {
        "CELLXGENE_PORT_RANGE": "{}-{}".format(*free_port_range()),
        "CELLXGENE_DATA_DIR": str(tmp_path / "cellxgene_data"),
        "CELLXGENE_LOG_DIR": str(tmp_path / "logs" / "cellxgene"),
        "CELLXGENE_MAX_VIEWERS": "2",
        "CELLXGENE_CMD": str(CELLXGENE),
        "CELLXGENE_READY_TIMEOUT": "120",
        "CELLXGENE_AUTO_RESTART": "1",
    }


@pytest.fixture
def cellxgene_settings(settings, cellxgene_env, tmp_path) -> Iterator:
    """This test's viewer settings; every viewer it started is stopped afterwards."""
    settings.CELLXGENE_PORT_RANGE = cellxgene_env["CELLXGENE_PORT_RANGE"]
    settings.CELLXGENE_DATA_DIR = Path(cellxgene_env["CELLXGENE_DATA_DIR"])
    settings.CELLXGENE_LOG_DIR = Path(cellxgene_env["CELLXGENE_LOG_DIR"])
    settings.CELLXGENE_CMD = cellxgene_env["CELLXGENE_CMD"]
    settings.CELLXGENE_MAX_VIEWERS = 2
    settings.CELLXGENE_READY_TIMEOUT = 120
    settings.CELLXGENE_AUTO_RESTART = True
    try:
        yield settings
    finally:
        from cellxgene_bridge import pool

        try:
            pool.stop_all(reason="test teardown")
        except Exception:  # the database may already be gone; the sweep below still runs
            pass
        kill_leftovers(str(tmp_path))


@pytest.fixture(scope="session")
def h5ad_files(tmp_path_factory) -> dict[str, bytes]:
    """Bytes of .h5ad files: ``pbmc`` (pbmc68k_reduced as shipped: X_pca, X_umap), ``no_obsm``
    (the same with obsm emptied), ``duplicates`` (valid AnnData that cellxgene refuses: repeated
    cell names), ``truncated`` (the first half of ``pbmc``)."""
    import warnings

    import numpy as np
    import scanpy as sc

    folder = tmp_path_factory.mktemp("h5ad")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adata = sc.datasets.pbmc68k_reduced()
        adata.write_h5ad(folder / "pbmc.h5ad")
        bare = adata.copy()
        for key in list(bare.obsm.keys()):
            del bare.obsm[key]
        bare.write_h5ad(folder / "no_obsm.h5ad")
        twins = adata[:50].copy()
        twins.obs_names = ["cell"] * 25 + [f"c{i}" for i in range(25)]
        twins.obsm["X_umap"] = np.asarray(twins.obsm["X_umap"])
        twins.write_h5ad(folder / "duplicates.h5ad")
    files = {name: (folder / f"{name}.h5ad").read_bytes() for name in ("pbmc", "no_obsm", "duplicates")}
    files["truncated"] = files["pbmc"][: len(files["pbmc"]) // 2]
    return files
