"""The real tus-js-client (the SPA's copy, run by Node) with ``parallelUploads: 4`` against a real
gunicorn: the file goes up as four partial uploads over parallel connections, joined by a final
upload (tus concatenation). The stored File's SHA-256 and MD5 equal the source's, and no partial
upload, part file or fragment File is left. On both storage backends: in the object store
(SeaweedFS) the partials are multipart uploads that the final upload completes and joins, and
the bucket keeps nothing but the File's object."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from authentication.services import issue_token
from file_upload import storage, uploads
from file_upload.models import File, Upload
from file_upload.tests.factories import ProjectFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("node") is None, reason="Node.js"),
]
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).parent / "js" / "tus_parallel_upload.cjs"


@pytest.fixture
def tus_js_client():
    if not (ROOT / "frontend" / "node_modules" / "tus-js-client").is_dir():
        pytest.fail("tus-js-client is missing: run `npm --prefix frontend ci` (scripts/test.sh does).")


def test_tus_js_client_parallel_uploads(storage_backend, gunicorn, tus_js_client, alice, tmp_path):
    project = ProjectFactory(name="Parallel", owner=alice)
    source = tmp_path / "sample_R2.fastq.gz"
    source.write_bytes(os.urandom(5 * 1024 * 1024 + 4321))  # four uneven parts
    done = subprocess.run(
        ["node", str(SCRIPT), f"{gunicorn.url}/api/uploads/", issue_token(alice), str(project.id), str(source),
         "4", str(512 * 1024)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    url = json.loads(done.stdout)["url"]

    final = Upload.objects.get(id=url.rstrip("/").rsplit("/", 1)[1])
    assert (final.concat, final.state, len(final.parts)) == ("final", "completed", 4)
    file = File.objects.get()  # one File: no part became one
    data = source.read_bytes()
    assert (file.name, file.size) == (source.name, len(data))
    assert file.sha256 == hashlib.sha256(data).hexdigest()
    assert file.md5 == hashlib.md5(data).hexdigest()
    assert hashlib.sha256(storage.open_blob(file.storage_key).read()).hexdigest() == file.sha256
    assert not Upload.objects.filter(concat="partial").exists()
    assert list(uploads.part_dir().iterdir()) == []
    if storage_backend == "s3":
        client, bucket = storage.s3_client(), storage.s3_bucket()
        assert [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]] == [file.storage_key]
        assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
