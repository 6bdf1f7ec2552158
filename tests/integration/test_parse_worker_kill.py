"""A worker killed in the middle of an extraction: the file stays ``running``, the stale sweep
re-queues it, and a new worker takes it to ``done``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from django.conf import settings

from file_upload import services
from file_upload.models import File
from file_upload.tasks import parse_file_task
from file_upload.tests.factories import ProjectFactory, make_file
from tests.processes import ROOT
from tests.processes import test_database_url as database_url_for_tests


def start_worker(queue: str, env: dict[str, str], log_path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "file_project", "worker", "-P", "solo", "-Q", queue]
        + ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
        cwd=ROOT,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
    )


def wait_for(file: File, statuses: set[str], worker: subprocess.Popen, log_path, seconds: float = 90) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        file.refresh_from_db()
        if file.parse_status in statuses:
            return file.parse_status
        assert worker.poll() is None, log_path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"still {file.parse_status}: {log_path.read_text()}")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_killed_worker_is_recovered_by_the_sweep(alice, data_dirs, tmp_path, monkeypatch):
    queue = f"biofm-test-{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "keep-parsing"
    marker.touch()
    project = ProjectFactory(name="Kill", owner=alice)
    file = make_file(project, "slow.txt", b"one\ntwo\n")
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_tests(),
        "BIOFM_DATA_DIR": str(data_dirs),
        "BIOFM_BROKER_DIR": str(settings.BROKER_DIR),
        "SECRET_KEY": "worker-test",
        "BIOFM_EXTRA_PARSERS": "file_upload.tests.slow_parser.SlowTextParser",
        "BIOFM_TEST_SLOW_MARKER": str(marker),
    }
    first_log, second_log = tmp_path / "worker1.log", tmp_path / "worker2.log"
    first = start_worker(queue, env, first_log)
    second = None
    try:
        parse_file_task.apply_async(args=[file.id], queue=queue)
        assert wait_for(file, {"running", "done", "failed"}, first, first_log) == "running"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=20)
        file.refresh_from_db()
        assert file.parse_status == "running"  # nobody will finish it: the worker is gone
        marker.unlink()

        monkeypatch.setattr(
            services.queueing, "enqueue_parse", lambda file_id: parse_file_task.apply_async(args=[file_id], queue=queue)
        )
        assert services.requeue_stale_parses(older_than=timedelta(0)) == [file.id]
        assert File.objects.get(id=file.id).parse_status == "pending"

        second = start_worker(queue, env, second_log)
        assert wait_for(file, {"done", "failed"}, second, second_log) == "done", second_log.read_text()
        assert file.stats == {"lines": 2}
    finally:
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                worker.terminate()
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()
