"""The gateway: trigger → queued → running → done/failed written by the Celery signal handlers,
the task list and detail, permissions (invisible files and other users' tasks are 404), errors as
JSON, the audit trail, and replacing a handler through the registry."""

from __future__ import annotations

from typing import Any

import pytest

from authentication.models import AuditEvent
from file_upload.tests.factories import ProjectFactory, make_file
from ml_interface import registry, services
from ml_interface.models import MLTask, TaskStatus
from ml_interface.registry import AnalysisError

pytestmark = pytest.mark.django_db


class EchoHandler:
    task_type = "echo"
    label = "Echo"
    description = "Returns its params."
    runs: list[tuple[str, str]] = []

    def accepts(self, file: Any) -> str | None:
        return None if file.name.endswith(".txt") else "Echo reads .txt files only."

    def run(self, task: MLTask) -> dict[str, Any]:
        # The row as the body sees it: the prerun signal has already marked it running.
        EchoHandler.runs.append((task.status, MLTask.objects.get(pk=task.pk).status))
        if task.params.get("fail"):
            raise AnalysisError("asked to fail")
        if task.params.get("crash"):
            raise RuntimeError("boom")
        return {"echo": task.params, "file": task.file.name}


@pytest.fixture
def echo():
    registry.register_defaults()
    registry.register(EchoHandler())
    EchoHandler.runs = []
    return EchoHandler


class TestTriggerLifecycle:
    def test_trigger_returns_202_and_the_signals_record_the_run(self, echo, add_file, trigger, api):
        file = add_file("notes.txt", b"hello")
        response = trigger("echo", file.id, {"x": 1})
        assert response.status_code == 202
        body = response.json()
        assert body["status"] == "queued" and isinstance(body["task_id"], int)
        task = MLTask.objects.get(pk=body["task_id"])
        assert echo.runs == [(TaskStatus.RUNNING, TaskStatus.RUNNING)]
        assert task.status == TaskStatus.DONE
        assert task.result == {"echo": {"x": 1}, "file": "notes.txt"}
        assert task.started_at and task.finished_at and task.finished_at >= task.started_at
        detail = api.get(f"/api/ml/tasks/{task.id}/").json()
        assert detail["status"] == "done" and detail["label"] == "Echo" and detail["file_name"] == "notes.txt"
        assert detail["submitter"] == "alice"

    def test_a_handler_error_fails_the_task_with_its_message(self, echo, add_file, run_task):
        file = add_file("notes.txt", b"hello")
        task = run_task("echo", file.id, {"fail": True})
        assert task["status"] == "failed" and task["error"] == "asked to fail" and task["result"] is None

    def test_an_unexpected_exception_fails_the_task_and_names_it(self, echo, add_file, run_task):
        file = add_file("notes.txt", b"hello")
        task = run_task("echo", file.id, {"crash": True})
        assert task["status"] == "failed" and "RuntimeError: boom" in task["error"]

    def test_without_a_worker_the_task_stays_queued(self, echo, add_file, trigger):
        from file_project.celery import app

        app.conf.task_always_eager = False
        file = add_file("notes.txt", b"hello")
        sent = []
        original = services._local_task

        class Fake:
            def apply_async(self, **options):
                sent.append(options)

        services._local_task = lambda: Fake()
        try:
            response = trigger("echo", file.id)
        finally:
            services._local_task = original
        task = MLTask.objects.get(pk=response.json()["task_id"])
        assert task.status == TaskStatus.QUEUED
        assert sent == [{"args": [task.id], "task_id": str(task.celery_task_id), "queue": None}]

    @pytest.mark.django_db(transaction=True)
    def test_a_broker_failure_is_a_503_and_a_failed_task(self, echo, add_file, trigger):
        file = add_file("notes.txt", b"hello")
        original = services._local_task

        class Broken:
            def apply_async(self, **options):
                raise ConnectionError("broker down")

        services._local_task = lambda: Broken()
        try:
            response = trigger("echo", file.id)
        finally:
            services._local_task = original
        assert response.status_code == 503 and response.json()["code"] == "queue_unavailable"
        task = MLTask.objects.get()
        assert task.status == TaskStatus.FAILED and "broker down" in task.error

    def test_every_trigger_is_audited(self, echo, add_file, trigger, alice):
        file = add_file("notes.txt", b"hello")
        task_id = trigger("echo", file.id, {"x": 2}).json()["task_id"]
        event = AuditEvent.objects.filter(action="ml.trigger").get()
        assert event.actor == alice and event.object_id == str(file.id)
        assert event.details == {"task": task_id, "task_type": "echo", "params": {"x": 2}}


class TestTriggerErrors:
    def test_unknown_task_type_is_400_json(self, add_file, trigger):
        file = add_file("notes.txt", b"hello")
        response = trigger("nonsense", file.id)
        assert response.status_code == 400
        body = response.json()
        assert "Unknown task type" in body["detail"] and body["code"] and "qc" in body["detail"]
        assert not MLTask.objects.exists()

    def test_a_file_the_handler_cannot_read_is_400(self, add_file, trigger):
        file = add_file("notes.txt", b"just text")
        response = trigger("qc", file.id)
        assert response.status_code == 400 and "FASTQ" in response.json()["detail"]

    def test_unknown_file_is_404_json(self, trigger):
        response = trigger("qc", 999999)
        assert response.status_code == 404 and response.json()["code"] == "not_found"

    def test_invisible_file_is_404(self, add_file, trigger, bob, client_for):
        file = add_file("reads.fastq", b"@r\nACGT\n+\nIIII\n")  # restricted project of alice
        response = trigger("qc", file.id, client=client_for(bob))
        assert response.status_code == 404
        assert not MLTask.objects.exists()

    def test_deleted_file_is_404(self, add_file, trigger, alice):
        from file_upload.services import soft_delete_file

        file = add_file("reads.fastq", b"@r\nACGT\n+\nIIII\n")
        soft_delete_file(file, actor=alice)
        assert trigger("qc", file.id).status_code == 404

    def test_missing_fields_and_bad_params_are_400(self, add_file, api, trigger):
        file = add_file("abstract.txt", b"Some text. More text here. And again.")
        assert api.post("/api/ml/trigger/", {"task_type": "qc"}, format="json").status_code == 400
        response = trigger("summary", file.id, params={"sentences": 0})
        assert response.status_code == 400 and "sentences" in response.json()["detail"]

    def test_anonymous_is_refused(self, anon, add_file):
        file = add_file("reads.fastq", b"@r\nACGT\n+\nIIII\n")
        assert anon.post("/api/ml/trigger/", {"task_type": "qc", "file_id": file.id}, format="json").status_code == 401
        assert anon.get("/api/ml/tasks/").status_code == 401


class TestTaskVisibility:
    def test_users_see_their_own_tasks_and_other_users_tasks_are_404(
        self, echo, project, add_file, run_task, client_for, bob, make_user
    ):
        project.access_level = "internal"
        project.save()
        file = add_file("notes.txt", b"hello")
        mine = run_task("echo", file.id)
        bobs = run_task("echo", file.id, client=client_for(bob))
        alice_client = client_for(project.owner)
        listed = alice_client.get("/api/ml/tasks/").json()
        assert [t["id"] for t in listed["results"]] == [mine["id"]]
        response = alice_client.get(f"/api/ml/tasks/{bobs['id']}/")
        assert response.status_code == 404 and response.json()["code"] == "not_found"
        # Staff operate the service; they read others' tasks no more than anyone (a task names its
        # file, its result other files). Superusers read every task.
        staff = make_user("carol", is_staff=True)
        assert client_for(staff).get("/api/ml/tasks/").json()["results"] == []
        root = make_user("dave", is_staff=True, is_superuser=True)
        assert {t["id"] for t in client_for(root).get("/api/ml/tasks/").json()["results"]} == {mine["id"], bobs["id"]}

    def test_a_task_on_a_file_no_longer_visible_is_hidden(self, echo, project, add_file, run_task, client_for, bob):
        project.access_level = "internal"
        project.save()
        file = add_file("notes.txt", b"hello")
        task = run_task("echo", file.id, client=client_for(bob))
        project.access_level = "restricted"
        project.save()
        from file_upload.services import refresh_effective_levels

        refresh_effective_levels(project)
        assert client_for(bob).get(f"/api/ml/tasks/{task['id']}/").status_code == 404

    def test_filters_by_status_type_and_file(self, echo, add_file, run_task, api):
        a = add_file("a.txt", b"hello")
        b = add_file("b.txt", b"hello")
        run_task("echo", a.id)
        failed = run_task("echo", b.id, {"fail": True})
        assert [t["id"] for t in api.get("/api/ml/tasks/?status=failed").json()["results"]] == [failed["id"]]
        assert [t["id"] for t in api.get(f"/api/ml/tasks/?file={b.id}").json()["results"]] == [failed["id"]]
        assert api.get("/api/ml/tasks/?task_type=qc").json()["count"] == 0
        for wrong in ("-9.47e228", "1e30", "abc"):  # found by fuzzing: an overflow was a 500
            assert api.get(f"/api/ml/tasks/?file={wrong}").status_code == 400

    def test_task_types_are_listed(self, api):
        types = {t["task_type"] for t in api.get("/api/ml/task-types/").json()}
        assert types == {"autotag", "qc", "summary", "embedding", "h5ad_vis"}


class TestRegistry:
    def test_a_handler_is_replaced_by_configuration(self, settings, add_file, run_task):
        settings.BIOFM_ML_HANDLERS = {"summary": "ml_interface.tests.test_gateway.EchoHandler"}
        registry.reset()
        file = add_file("notes.txt", b"hello")
        task = run_task("summary", file.id, {"y": 3})
        assert task["status"] == "done" and task["result"]["echo"] == {"y": 3}

    def test_a_task_type_routes_to_another_queue_and_task_name(self, settings, add_file, trigger, monkeypatch):
        from file_project.celery import app

        settings.BIOFM_ML_QUEUES = {"embedding": "gpu"}
        sent = []
        monkeypatch.setattr(app, "send_task", lambda name, **options: sent.append((name, options)))
        handler = registry.handler_for("embedding")
        monkeypatch.setattr(handler, "celery_task", "remote.embed", raising=False)
        file = add_file("notes.txt", b"hello")
        response = trigger("embedding", file.id)
        assert response.status_code == 202
        task = MLTask.objects.get()
        assert sent == [("remote.embed", {"args": [task.id], "task_id": str(task.celery_task_id), "queue": "gpu"})]
        assert task.status == TaskStatus.QUEUED

    def test_signals_ignore_other_celery_tasks(self, alice):
        project = ProjectFactory(name="P", owner=alice)
        file = make_file(project, "reads.fastq", b"@r1\nACGT\n+\nIIII\n")
        from file_upload.tasks import parse_file_task

        parse_file_task.apply(args=[file.id])
        assert not MLTask.objects.exists()


def test_the_sweep_fails_tasks_a_dead_worker_left_running(add_file, alice):
    from datetime import timedelta

    from django.utils import timezone

    file = add_file("notes.txt", b"hello")
    old = MLTask.objects.create(task_type="qc", file=file, submitter=alice, status=TaskStatus.RUNNING,
                                started_at=timezone.now() - timedelta(hours=7))  # fmt: skip
    fresh = MLTask.objects.create(task_type="qc", file=file, submitter=alice, status=TaskStatus.RUNNING,
                                  started_at=timezone.now())  # fmt: skip
    from ml_interface.tasks import sweep_stale_tasks_task

    assert sweep_stale_tasks_task.apply().get() == [old.id]
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == TaskStatus.FAILED and "stopped" in old.error and old.finished_at
    assert fresh.status == TaskStatus.RUNNING
