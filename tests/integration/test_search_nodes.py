"""Two nodes, each with its own gunicorn, its own index directory and its own index writer
following the one change feed: after writes, both answer alike, from their indexes, at once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.processes import ROOT, GunicornServer

pytestmark = pytest.mark.django_db(transaction=True)


class Node:
    def __init__(self, data_dir: Path, index_dir: Path, log_dir: Path) -> None:
        env = {"BIOFM_SEARCH_BACKEND": "tantivy", "BIOFM_SEARCH_INDEX_DIR": str(index_dir)}
        self.web = GunicornServer(data_dir, log_dir / f"{index_dir.name}-web.log", extra_env=env)
        self.log = (log_dir / f"{index_dir.name}-writer.log").open("a")
        self.writer = subprocess.Popen(
            [sys.executable, "manage.py", "search_index_writer"],
            cwd=ROOT, env=self.web.env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.web.start()

    def search(self, query: str) -> tuple[str, dict]:
        response = requests.get(f"{self.web.url}/api/files/?{query}", timeout=30)
        assert response.status_code == 200, response.text
        body = response.json()
        return response.headers["X-Search-Backend"], {
            "count": body["count"],
            "ids": [f["id"] for f in body["results"]],
            "facets": body.get("facets"),
        }

    def stop(self) -> None:
        self.web.stop()
        self.writer.terminate()
        self.writer.wait(timeout=30)
        self.log.close()


def test_two_nodes_answer_alike_after_writes(data_dirs, tmp_path, make_user):
    from file_upload import services
    from file_upload.tests.factories import ProjectFactory, make_file

    owner = make_user("owner", password="x")
    project = ProjectFactory(name="Open", owner=owner, access_level="public")
    files = [
        make_file(project, f"s{i}.fastq", owner=owner, organism=["Homo sapiens", "Mus musculus"][i % 2])
        for i in range(6)
    ]
    nodes = [Node(data_dirs, tmp_path / name, tmp_path) for name in ("node-a", "node-b")]
    query = "facets=organism,tags&ordering=name&q=fastq"
    try:
        deadline = time.monotonic() + 60
        while {node.search(query)[0] for node in nodes} != {"tantivy"}:  # first index built
            assert time.monotonic() < deadline, "the writers did not build their indexes"
            time.sleep(0.5)
        first = [node.search(query) for node in nodes]
        assert first[0] == first[1] and first[0][1]["count"] == 6
        services.update_file(files[0], actor=owner, organism="Danio rerio", tags=["new"])
        services.soft_delete_file(files[1], actor=owner)
        make_file(project, "a-new.fastq", owner=owner, organism="Danio rerio")
        after = [node.search(query) for node in nodes]  # at once: each waits for its writer
        assert after[0] == after[1]
        backend, body = after[0]
        assert backend == "tantivy" and after[1][0] == "tantivy"
        assert body["count"] == 6
        assert {item["value"]: item["count"] for item in body["facets"]["organism"]} == {
            "Danio rerio": 2,
            "Mus musculus": 2,
            "Homo sapiens": 2,
        }
        assert {item["value"]: item["count"] for item in body["facets"]["tags"]} == {"new": 1}
    finally:
        for node in nodes:
            node.stop()
