"""Reading and amending ``.h5ad`` files for cellxgene, free of Django (import-linter contract
``pure``): ``inspect_h5ad`` (cell and gene counts, the ``obsm`` layouts cellxgene accepts, X's
encoding, without loading X), ``usable_layouts``, ``ensure_embedding`` (a 2-D TruncatedSVD of X
as ``obsm['X_truncated_svd']``, computed on the sparse matrix as stored), ``add_layouts``, and
``PublishError``, the one error for "this publication cannot go on" (the pool raises it too)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EMBEDDING_KEY = "X_truncated_svd"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class PublishError(Exception):
    """A publication or viewer that cannot go on; the message is for the user, ``log_tail`` for
    the curious."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.log_tail = log_tail


@dataclass
class H5adInfo:
    n_obs: int
    n_vars: int
    layouts: list[str] = field(default_factory=list)  # obsm keys cellxgene accepts
    x_encoding: str = ""


def _valid_layout(value: Any, n_obs: int) -> bool:
    """cellxgene's rule: an ndarray of f/i/u dtype, shape (n_obs, >= 2), no ±Inf, not all NaN."""
    import numpy as np

    if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiu" or value.ndim != 2:
        return False
    if value.shape[0] != n_obs or value.shape[1] < 2:
        return False
    if value.dtype.kind == "f":
        return not np.any(np.isinf(value)) and not np.all(np.isnan(value))
    return True


def usable_layouts(obsm: Any, n_obs: int) -> list[str]:
    """The ``X_*`` keys of an h5py ``obsm`` group (or a mapping of arrays) cellxgene would show."""
    import h5py
    import numpy as np

    names = []
    for key in obsm.keys():
        if not key.startswith("X_"):
            continue
        value = obsm[key]
        if isinstance(value, h5py.Group):  # sparse matrices and data frames are not layouts
            continue
        if isinstance(value, h5py.Dataset):
            if value.ndim != 2 or value.dtype.kind not in "fiu":
                continue
            value = value[()]
        if _valid_layout(np.asarray(value) if not isinstance(value, np.ndarray) else value, n_obs):
            names.append(key)
    return names


def _x_shape(x: Any) -> tuple[int, int]:
    import h5py

    if isinstance(x, h5py.Dataset):
        if x.ndim != 2:
            raise PublishError("The expression matrix X is not two-dimensional.")
        return int(x.shape[0]), int(x.shape[1])
    shape = x.attrs.get("shape", x.attrs.get("h5sparse_shape"))
    if shape is None or len(shape) != 2:
        raise PublishError("The expression matrix X has no shape (not an AnnData sparse matrix).")
    return int(shape[0]), int(shape[1])


def inspect_h5ad(path: Path) -> H5adInfo:
    """Open the AnnData parts cellxgene needs (obs, var, X's shape, obsm) without loading X."""
    import h5py
    from anndata.io import read_elem

    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise PublishError(f"anndata cannot open this file: {exc}") from exc
    with handle:
        for part in ("obs", "var", "X"):
            if part not in handle:
                raise PublishError(f"This HDF5 file is not AnnData: it has no '{part}'.")
        try:
            obs = read_elem(handle["obs"])
            var = read_elem(handle["var"])
            n_obs, n_vars = _x_shape(handle["X"])
            layouts = usable_layouts(handle["obsm"], n_obs) if "obsm" in handle else []
            encoding = str(handle["X"].attrs.get("encoding-type", "array"))
        except PublishError:
            raise
        except Exception as exc:  # anndata's errors are many; each means "cannot read"
            raise PublishError(f"anndata cannot read this file: {_one_line(exc)}") from exc
    if len(obs) != n_obs or len(var) != n_vars:
        raise PublishError(f"X is {n_obs} × {n_vars} but obs has {len(obs)} rows and var {len(var)}.")
    if n_obs == 0 or n_vars == 0:
        raise PublishError("The dataset is empty (no cells or no genes).")
    return H5adInfo(n_obs=n_obs, n_vars=n_vars, layouts=layouts, x_encoding=encoding)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


def truncated_svd_2d(matrix: Any) -> Any:
    """2-D TruncatedSVD of a cells × genes matrix. Sparse input stays sparse (randomized SVD
    only multiplies by it); the result is float32 (n_obs, 2)."""
    import numpy as np
    from scipy import sparse
    from sklearn.decomposition import TruncatedSVD

    n_obs, n_vars = matrix.shape
    if n_vars < 2 or n_obs < 2:
        raise PublishError("At least 2 cells and 2 genes are needed to compute an embedding.")
    if sparse.issparse(matrix):
        matrix = sparse.csr_matrix(matrix) if matrix.format not in ("csr", "csc") else matrix
        if matrix.dtype.kind != "f":
            matrix = matrix.astype(np.float32)
        values = matrix.data
    else:
        matrix = np.asarray(matrix)
        if matrix.dtype.kind != "f":
            matrix = matrix.astype(np.float32)
        values = matrix
    if not np.all(np.isfinite(values)):
        raise PublishError("X holds NaN or infinite values, so no embedding can be computed.")
    svd = TruncatedSVD(n_components=2, algorithm="randomized", n_iter=5, random_state=0)
    embedding = svd.fit_transform(matrix).astype(np.float32, copy=False)
    if n_vars == 2 and embedding.shape[1] < 2:  # pragma: no cover - sklearn keeps 2 columns
        embedding = np.column_stack([embedding, np.zeros(n_obs, dtype=np.float32)])
    return np.ascontiguousarray(embedding)


def ensure_embedding(path: Path) -> str | None:
    """Give the h5ad at ``path`` a layout cellxgene can show. Returns the obsm key added
    (``X_truncated_svd``), or None when it already had one. Writes in place with h5py, so only
    X (as stored: sparse stays sparse) and the new 2-column array are in memory."""
    import h5py
    from anndata.io import read_elem, write_elem

    with h5py.File(path, "r+") as handle:
        n_obs, _ = _x_shape(handle["X"])
        if "obsm" in handle and usable_layouts(handle["obsm"], n_obs):
            return None
        try:
            matrix = read_elem(handle["X"])
        except Exception as exc:
            raise PublishError(f"anndata cannot read X: {_one_line(exc)}") from exc
        embedding = truncated_svd_2d(matrix)
        del matrix
        if "obsm" not in handle:
            write_elem(handle, "obsm", {})
        obsm = handle["obsm"]
        if EMBEDDING_KEY in obsm:
            del obsm[EMBEDDING_KEY]
        write_elem(obsm, EMBEDDING_KEY, embedding)
    return EMBEDDING_KEY


def add_layouts(path: Path, layouts: dict[str, Any]) -> str:
    """Write ``layouts`` into ``obsm`` of the h5ad copy at ``path``; returns the keys, comma-joined."""
    import h5py
    from anndata.io import write_elem

    with h5py.File(path, "r+") as handle:
        if "obsm" not in handle:
            write_elem(handle, "obsm", {})
        obsm = handle["obsm"]
        for key, value in layouts.items():
            if key in obsm:
                del obsm[key]
            write_elem(obsm, key, value)
    return ",".join(sorted(layouts))[:64]
