"""A data volume with no free byte at all, in the default layout: the SQLite database, the cache,
the broker folder and the file store all on it (a size-capped tmpfs, filled to the last block by
another process). Reads keep working; writes answer 507 JSON; nothing answers 500.
Root only (mounting); skipped elsewhere."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.processes import ROOT, GunicornServer
from tests.storage_capacity_stress.conftest import tmpfs

pytestmark = pytest.mark.timeout(180)

SETUP = """
import json
from authentication.services import issue_token
from file_upload.tests.factories import ProjectFactory, UserFactory, make_file
user = UserFactory(username="filler", password="filler-pass-123")
project = ProjectFactory(name="Full", owner=user)
file = make_file(project, content=b"@r1\\nACGT\\n+\\nIIII\\n")
print("IDS", json.dumps({"token": issue_token(user), "project": project.id, "file": file.id}))
"""


@pytest.fixture
def volume(tmp_path):
    with tmpfs(tmp_path / "volume", "24m") as mount:
        yield mount


def fill(path: Path) -> None:
    """Write zeros until the volume refuses another byte."""
    with open(path / "filler", "wb") as handle:
        block = b"\0" * 65536
        try:
            while True:
                handle.write(block)
                handle.flush()
        except OSError:
            pass
    with open(path / "filler", "ab", buffering=0) as handle:
        try:
            while handle.write(b"\0"):
                pass
        except OSError:
            pass


def test_a_completely_full_volume_reads_on_and_refuses_writes_with_507(volume, tmp_path):
    env = {"BIOFM_DATA_DIR": str(volume), "DATABASE_URL": f"sqlite:///{volume / 'db.sqlite3'}", "REDIS_URL": ""}
    env |= {"BIOFM_THROTTLE_AUTH": "20/min"}
    server = GunicornServer(volume, tmp_path / "gunicorn.log", env)
    server.env["BIOFM_LOG_DIR"] = str(tmp_path / "logs")  # the logs live elsewhere, as in production
    for command in (["migrate", "-v0"], ["shell", "-c", SETUP]):
        done = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=server.env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
    ids = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("IDS"))[4:])
    server.start()
    try:
        auth = {"Authorization": f"Token {ids['token']}"}
        base = server.url
        fill(volume)
        assert os.statvfs(volume).f_bavail == 0

        reads = {
            "files": requests.get(f"{base}/api/files/", headers=auth, timeout=30),
            "file": requests.get(f"{base}/api/files/{ids['file']}/", headers=auth, timeout=30),
            "projects": requests.get(f"{base}/api/projects/", headers=auth, timeout=30),
            "me": requests.get(f"{base}/api/auth/me/", headers=auth, timeout=30),
            "folders": requests.get(f"{base}/api/folders/?project={ids['project']}", headers=auth, timeout=30),
        }
        for name, response in reads.items():
            assert response.status_code == 200, (name, response.status_code, response.text[:300])
        assert reads["files"].json()["count"] == 1

        tus_meta = "filename YS50eHQ=,project " + base64.b64encode(str(ids["project"]).encode()).decode()
        writes = {
            "folder": requests.post(
                f"{base}/api/folders/", json={"project": ids["project"], "name": "x"}, headers=auth, timeout=30
            ),  # fmt: skip
            "edit": requests.patch(
                f"{base}/api/files/{ids['file']}/", json={"description": "y"}, headers=auth, timeout=30
            ),  # fmt: skip
            "multipart": requests.post(
                f"{base}/api/files/",
                data={"project": ids["project"]},
                files={"file": ("b.txt", b"hello")},
                headers=auth,
                timeout=30,
            ),  # fmt: skip
            "tus": requests.post(
                f"{base}/api/uploads/",
                timeout=30,
                headers={**auth, "Tus-Resumable": "1.0.0", "Upload-Length": "5", "Upload-Metadata": tus_meta},
            ),  # fmt: skip
            "delete": requests.delete(f"{base}/api/files/{ids['file']}/", headers=auth, timeout=30),
            # A download is audited before a byte is sent: with the audit trail's database full, it waits.
            "download": requests.get(f"{base}/api/files/{ids['file']}/download/", headers=auth, timeout=30),
            "token": requests.post(
                f"{base}/api/auth/token/", json={"username": "filler", "password": "x"}, timeout=30
            ),  # fmt: skip
        }
        for name, response in writes.items():
            assert response.status_code in (503, 507), (name, response.status_code, response.text[:300])
            assert response.json()["code"] in ("insufficient_storage", "service_unavailable"), name
        health = requests.get(f"{base}/healthz", timeout=30)
        assert health.status_code == 503 and health.json()["checks"]["database"] == "ok"

        (volume / "filler").unlink()  # room again: the same server writes again
        again = requests.post(f"{base}/api/folders/", json={"project": ids["project"], "name": "x"}, headers=auth,
                              timeout=30)  # fmt: skip
        assert again.status_code == 201, again.text
        assert requests.get(f"{base}/api/files/{ids['file']}/", headers=auth, timeout=30).status_code == 200
        assert "Internal Server Error" not in (tmp_path / "gunicorn.log").read_text()
    finally:
        server.stop()
