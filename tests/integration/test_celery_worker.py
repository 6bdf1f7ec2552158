"""A real Celery worker process (on Redis when ``REDIS_URL`` is set, else the embedded
filesystem broker) picks up the format-detection task and writes its result to the database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings

from file_project.celery import app
from file_upload.models import File, Project
from file_upload.tasks import parse_file_task
from file_upload.tests.factories import make_file
from tests.processes import ROOT
from tests.processes import test_database_url as database_url_for_tests


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_parse_task(alice, data_dirs, tmp_path):
    queue = f"biofm-test-{uuid.uuid4().hex[:8]}"
    project = Project.objects.create(name="Worker", owner=alice)
    file = make_file(project, "reads.bin", b"@r1\nACGT\n+\nIIII\n")
    assert file.parse_status == "pending"

    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_tests(),
        "BIOFM_DATA_DIR": str(data_dirs),
        "BIOFM_BROKER_DIR": str(settings.BROKER_DIR),
        "SECRET_KEY": "worker-test",
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "file_project",
            "worker",
            "-P",
            "solo",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "info",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        result = parse_file_task.apply_async(args=[file.id], queue=queue)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            file.refresh_from_db()
            if file.parse_status not in ("pending", "running"):
                break
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(0.3)
        assert file.parse_status == "done", (tmp_path / "worker.log").read_text()
        assert file.file_format == "fastq"
        if settings.REDIS_URL:
            assert app.conf.broker_url.startswith("redis://")
            assert result.get(timeout=30) == "done"
        assert "succeeded" in (tmp_path / "worker.log").read_text()
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
    assert File.objects.filter(id=file.id, parse_status="done", stats__reads=1).exists()
