"""AnnData (``.h5ad``) summary read straight from the HDF5 layout with h5py: shapes, column
names and keys only; ``X`` and the layers are never loaded.

Public surface: ``H5adParser``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .base import ParseError

# obs/uns fields the metadata autofill looks at (CELLxGENE schema names).
HINT_COLUMNS = ("organism", "organism_ontology_term_id", "tissue", "assay", "disease", "cell_type")
HINT_VALUES = 20


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _columns(group: Any) -> list[str]:
    import h5py

    if isinstance(group, h5py.Dataset):  # anndata < 0.7 wrote a compound dataset
        return [name for name in (group.dtype.names or ()) if name != "index"]
    order = group.attrs.get("column-order")
    if order is not None:
        return [_text(c) for c in (order.tolist() if hasattr(order, "tolist") else order)]
    index = _text(group.attrs.get("_index", "_index"))
    return [k for k in group.keys() if k != index and k != "__categories"]


def _length(group: Any) -> int | None:
    import h5py

    if isinstance(group, h5py.Dataset):
        return int(group.shape[0])
    index = group.get(_text(group.attrs.get("_index", "_index")))
    return int(index.shape[0]) if isinstance(index, h5py.Dataset) else None


def _keys(handle: Any, name: str) -> list[str]:
    import h5py

    node = handle.get(name)
    if isinstance(node, h5py.Group):
        return sorted(node.keys())
    if isinstance(node, h5py.Dataset) and node.dtype.names:
        return list(node.dtype.names)
    return []


def _distinct_values(group: Any, column: str) -> list[str]:
    """A few distinct values of a (categorical or string) obs column, for metadata hints."""
    import h5py
    import numpy as np

    node = group.get(column)
    if isinstance(node, h5py.Group) and "categories" in node:
        return [_text(v) for v in node["categories"][:HINT_VALUES]]
    if isinstance(node, h5py.Dataset):
        if node.dtype.kind in ("S", "O", "U"):
            values = node[: min(node.shape[0], 10000)] if node.shape else [node[()]]
            return [_text(v) for v in list(dict.fromkeys(np.asarray(values).ravel().tolist()))[:HINT_VALUES]]
        categories = group.get("__categories", {}).get(column) if "__categories" in group else None
        if categories is not None:
            return [_text(v) for v in categories[:HINT_VALUES]]
    return []


class H5adParser:
    formats = ("h5ad",)

    def parse(self, path: Path) -> dict[str, Any]:
        import h5py

        try:
            handle = h5py.File(path, "r")
        except OSError as exc:
            raise ParseError(f"not an HDF5/AnnData file: {' '.join(str(exc).split())[:200]}") from exc
        with handle:
            if "obs" not in handle or "var" not in handle:
                raise ParseError("an .h5ad file needs 'obs' and 'var' (this HDF5 file is not AnnData)")
            obs, var = handle["obs"], handle["var"]
            n_obs, n_vars = _length(obs), _length(var)
            x = handle.get("X")
            if x is not None and (n_obs is None or n_vars is None):
                shape = x.attrs.get("shape", getattr(x, "shape", None))
                if shape is not None and len(shape) == 2:
                    n_obs, n_vars = int(shape[0]), int(shape[1])
            obs_columns = _columns(obs)
            hints: dict[str, list[str]] = {}
            if isinstance(obs, h5py.Group):
                for column in HINT_COLUMNS:
                    if column in obs_columns:
                        hints[column] = _distinct_values(obs, column)
            uns = handle.get("uns")
            if isinstance(uns, h5py.Group):
                for column in HINT_COLUMNS:
                    node = uns.get(column)
                    if isinstance(node, h5py.Dataset) and node.dtype.kind in ("S", "O", "U") and node.size <= 1:
                        hints.setdefault(column, [_text(node[()])])
            return {
                "n_obs": n_obs or 0,
                "n_vars": n_vars or 0,
                "obs_columns": obs_columns,
                "var_columns": _columns(var),
                "obsm_keys": _keys(handle, "obsm"),
                "layers": _keys(handle, "layers"),
                "uns_keys": _keys(handle, "uns"),
                "_hints": hints,
            }
