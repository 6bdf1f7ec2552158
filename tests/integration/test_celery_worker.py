"""A real Celery worker process (on Redis when ``REDIS_URL`` is set, else the embedded
filesystem broker) picks up the format-detection task and writes its result to the database;
the parse task on both storage backends (the worker reads the object from the store)."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings

from file_project.celery import app
from file_upload.models import File
from file_upload.tasks import parse_file_task
from file_upload.tests.factories import ProjectFactory, make_file
from tests.processes import CeleryWorker, worker_env


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_parse_task(storage_backend, alice, data_dirs, tmp_path):
    queue = f"biofm-test-{uuid.uuid4().hex[:8]}"
    project = ProjectFactory(name="Worker", owner=alice)
    file = make_file(project, "reads.bin", b"@r1\nACGT\n+\nIIII\n")
    assert file.parse_status == "pending"

    with CeleryWorker(worker_env(data_dirs), tmp_path / "worker.log", queue=queue) as worker:
        result = parse_file_task.apply_async(args=[file.id], queue=queue)
        worker.wait_for(file, lambda f: f.parse_status not in ("pending", "running"))
        assert file.parse_status == "done", worker.log()
        assert file.file_format == "fastq"
        if settings.REDIS_URL:
            assert app.conf.broker_url.startswith("redis://")
            assert result.get(timeout=30) == "done"
        assert "succeeded" in worker.wait_for_log("succeeded")
    assert File.objects.filter(id=file.id, parse_status="done", stats__reads=1).exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_writes_the_background_task_record(alice, data_dirs, tmp_path):
    """Publishing records the task queued; the worker's signal handlers record it running and
    then done, with the result summary — nothing in the task body does."""
    from background.models import BackgroundTask

    queue = f"biofm-test-{uuid.uuid4().hex[:8]}"
    file = make_file(ProjectFactory(owner=alice), "reads.bin", b"@r1\nACGT\n+\nIIII\n")
    result = parse_file_task.apply_async(args=[file.id], queue=queue)
    queued = BackgroundTask.objects.get(task_id=result.id)
    assert (queued.name, queued.object_id, queued.state) == ("file_upload.parse_file", str(file.id), "queued")

    with CeleryWorker(worker_env(data_dirs), tmp_path / "worker.log", queue=queue) as worker:
        worker.wait_for(queued, lambda row: row.state not in ("queued", "running"))
    row = BackgroundTask.objects.get(task_id=result.id)
    assert (row.state, row.attempts, row.result, row.error) == ("done", 1, "done", ""), worker.log()
    assert row.queued_at <= row.started_at <= row.finished_at
