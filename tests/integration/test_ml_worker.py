"""An analysis triggered through the API runs on a real Celery worker process (Redis when
``REDIS_URL`` is set, else the embedded filesystem broker); the worker's signal handlers write
the task's status, timestamps and result, and QC flags the file. On both storage backends."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from file_upload.models import File
from file_upload.tests.factories import ProjectFactory, make_file
from ml_interface.models import FileQC, MLTask
from ml_interface.tests import data
from tests.processes import CeleryWorker, worker_env


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_qc_trigger_runs_on_a_real_worker(storage_backend, alice, data_dirs, tmp_path, settings):
    queue = f"biofm-ml-test-{uuid.uuid4().hex[:8]}"
    settings.BIOFM_ML_QUEUES = {"qc": queue}
    project = ProjectFactory(name="Worker QC", owner=alice)
    file = make_file(project, "bad.fastq", data.fastq(defects=True))

    with CeleryWorker(worker_env(data_dirs), tmp_path / "worker.log", queue=queue) as worker:
        client = APIClient()
        client.force_authenticate(alice)
        response = client.post("/api/ml/trigger/", {"task_type": "qc", "file_id": file.id}, format="json")
        assert response.status_code == 202, response.content
        assert response.json()["status"] == "queued"
        task = MLTask.objects.get(pk=response.json()["task_id"])
        worker.wait_for(task, lambda t: t.status in ("done", "failed"), timeout=120)
        assert task.status == "done", f"{task.status} {task.error}\n{worker.log()}"
        assert task.started_at and task.finished_at and task.worker
        assert task.result["verdict"] == "fail"
        detail = client.get(f"/api/ml/tasks/{task.id}/").json()
        assert detail["status"] == "done" and detail["result"]["tag"] == "qc:fail"
        assert "succeeded" in worker.wait_for_log("succeeded")
    assert FileQC.objects.get(file=file).verdict == "fail"
    assert File.objects.get(pk=file.pk).tags == ["qc:fail"]
