"""Embeddings and search by similarity: a near-duplicate description ranks first, with the LSA
fallback and (when the extra is installed) the MiniLM model; only visible files are ranked."""

from __future__ import annotations

import pytest

from file_upload.tests.factories import ProjectFactory, make_file
from ml_interface.handlers import embedding
from ml_interface.models import FileEmbedding

pytestmark = pytest.mark.django_db

DESCRIPTIONS = {
    "pbmc_a.h5": "Single-cell RNA-seq of peripheral blood mononuclear cells from a healthy human donor, 10x Chromium",
    "pbmc_b.h5": "Single cell RNA sequencing of human peripheral blood mononuclear cells (healthy donor), 10x Chromium",
    "maize.h5": "Whole genome resequencing of maize inbred lines grown under drought stress in the field",
    "ecoli.h5": "Amplicon 16S rRNA sequencing of soil bacterial communities after nitrogen fertilisation",
    "mouse.h5": "ChIP-seq of H3K27ac in mouse embryonic stem cells during differentiation to neurons",
}


@pytest.fixture
def files(add_file):
    return {name: add_file(name, b"\x00binary", description=text) for name, text in DESCRIPTIONS.items()}


def embed_all(files, run_task):
    results = {}
    for name, file in files.items():
        task = run_task("embedding", file.id)
        assert task["status"] == "done", task["error"]
        results[name] = task["result"]
    return results


def test_lsa_puts_the_near_duplicate_first(settings, files, run_task, api):
    settings.BIOFM_EMBEDDING_BACKEND = "lsa"
    results = embed_all(files, run_task)
    last = results["mouse.h5"]
    assert last["backend"] == "lsa" and last["model"].startswith("lsa-tfidf-svd@")
    assert last["corpus_files"] == 5
    # Every LSA row was re-projected onto the newest basis, so all compare.
    assert FileEmbedding.objects.filter(model=last["model"]).count() == 5
    response = api.get(f"/api/files/{files['pbmc_a.h5'].id}/similar/")
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == last["model"] and body["count"] == 4
    assert body["results"][0]["file"]["name"] == "pbmc_b.h5"
    assert body["results"][0]["score"] > body["results"][1]["score"]


@pytest.mark.skipif(not embedding.minilm_available(), reason="the ML extra (requirements-ml.txt) is not installed")
def test_minilm_puts_the_near_duplicate_first(settings, files, run_task, api):
    settings.BIOFM_EMBEDDING_BACKEND = "minilm"
    results = embed_all(files, run_task)
    assert results["pbmc_a.h5"]["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert results["pbmc_a.h5"]["dimensions"] == 384
    body = api.get(f"/api/files/{files['pbmc_b.h5'].id}/similar/").json()
    assert [r["file"]["name"] for r in body["results"]][0] == "pbmc_a.h5"
    assert body["results"][0]["score"] > 0.8


def test_auto_names_the_model_it_used(settings, add_file, run_task):
    settings.BIOFM_EMBEDDING_BACKEND = "auto"
    file = add_file("notes.txt", b"Sequencing run notes for the liver samples.")
    result = run_task("embedding", file.id)["result"]
    expected = "minilm" if embedding.minilm_available() else "lsa"
    assert result["backend"] == expected and result["model"]
    assert "liver samples" in FileEmbedding.objects.get(file=file).text


def test_similar_ranks_only_files_the_user_may_see(settings, files, run_task, alice, bob, client_for, project):
    settings.BIOFM_EMBEDDING_BACKEND = "lsa"
    open_project = ProjectFactory(name="Open", owner=bob, access_level="internal")
    visible = make_file(open_project, "open.h5", b"\x00", description=DESCRIPTIONS["pbmc_b.h5"])
    files["open.h5"] = visible
    embed_all(files, run_task)
    body = client_for(bob).get(f"/api/files/{visible.id}/similar/").json()
    assert body["results"] == []  # alice's restricted files stay hidden
    assert client_for(bob).get(f"/api/files/{files['pbmc_a.h5'].id}/similar/").status_code == 404
    names = [r["file"]["name"] for r in client_for(alice).get(f"/api/files/{visible.id}/similar/").json()["results"]]
    assert names[0] in ("pbmc_a.h5", "pbmc_b.h5")


def test_similar_without_an_embedding_is_409(add_file, api):
    file = add_file("x.txt", b"text")
    response = api.get(f"/api/files/{file.id}/similar/")
    assert response.status_code == 409 and response.json()["code"] == "not_embedded"
