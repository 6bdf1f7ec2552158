"""Background work: sending by name, the task record the Celery signals write, the one
sweeper, and the staff listing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from celery import shared_task
from django.utils import timezone

from background import enqueue as enqueue_module
from background import sweep
from background.enqueue import enqueue, enqueue_on_commit, task_named
from background.models import BackgroundTask, TaskState
from file_project.celery import app
from file_upload.tests.factories import ProjectFactory, UserFactory, make_file

pytestmark = pytest.mark.django_db


@shared_task(name="background.tests.echo")
def echo_task(value: int) -> dict[str, int]:
    return {"value": value}


@shared_task(name="background.tests.boom")
def boom_task(value: int) -> None:
    raise RuntimeError(f"boom {value}")


class TestEnqueue:
    def test_sends_the_registered_task_by_name(self, monkeypatch):
        sent: list[int] = []
        monkeypatch.setattr(app.tasks["background.tests.echo"], "delay", sent.append)
        assert enqueue("background.tests.echo", 7) is True
        assert sent == [7]

    def test_a_name_no_task_here_defines_goes_by_name(self, monkeypatch):
        sent: list[tuple[str, dict]] = []
        monkeypatch.setattr(app, "send_task", lambda name, **options: sent.append((name, options)))
        assert enqueue("elsewhere.analyse", 3, queue="gpu") is True
        assert sent == [("elsewhere.analyse", {"args": [3], "queue": "gpu"})]

    def test_a_broker_failure_is_logged_and_reported_not_raised(self, monkeypatch, caplog):
        def down(*args):
            raise ConnectionError("broker down")

        monkeypatch.setattr(app.tasks["background.tests.echo"], "delay", down)
        errors: list[Exception] = []
        assert enqueue("background.tests.echo", 1, on_error=errors.append) is False
        assert [str(e) for e in errors] == ["broker down"]
        assert "could not queue background.tests.echo" in caplog.text

    def test_on_commit_waits_for_the_transaction(self, monkeypatch, django_capture_on_commit_callbacks):
        sent: list[int] = []
        monkeypatch.setattr(enqueue_module, "enqueue", lambda name, *args, on_error=None: sent.append(args[0]))
        with django_capture_on_commit_callbacks(execute=True):
            enqueue_on_commit("background.tests.echo", 5)
            assert sent == []
        assert sent == [5]


class TestRecord:
    def test_a_successful_run_is_recorded_done_with_its_result(self):
        result = echo_task.apply(args=[4])
        row = BackgroundTask.objects.get(task_id=result.id)
        assert (row.name, row.object_id, row.state, row.attempts) == ("background.tests.echo", "4", "done", 1)
        assert row.result == "{'value': 4}" and row.error == ""
        assert row.started_at is not None and row.finished_at >= row.started_at

    def test_a_failed_run_is_recorded_with_its_error(self):
        result = boom_task.apply(args=[9])
        row = BackgroundTask.objects.get(task_id=result.id)
        assert row.state == TaskState.FAILED and row.error == "RuntimeError: boom 9"
        assert row.finished_at is not None

    def test_publishing_records_a_queued_row(self):
        # A queue of its own that no worker consumes: the message stays on the broker.
        result = echo_task.apply_async(args=[11], queue=f"biofm-unconsumed-{uuid.uuid4().hex[:8]}")
        row = BackgroundTask.objects.get(task_id=result.id)
        assert (row.name, row.object_id, row.state, row.attempts) == ("background.tests.echo", "11", "queued", 0)
        assert row.queued_at is not None and row.started_at is None

    def test_the_same_task_id_run_again_counts_an_attempt(self):
        task_id = str(uuid.uuid4())
        echo_task.apply(args=[1], task_id=task_id)
        echo_task.apply(args=[1], task_id=task_id)
        assert BackgroundTask.objects.get(task_id=task_id).attempts == 2

    def test_a_real_service_task_is_recorded(self, alice):
        file = make_file(ProjectFactory(owner=alice), "reads.fastq")
        result = task_named("file_upload.parse_file").apply(args=[file.id])
        row = BackgroundTask.objects.get(task_id=result.id)
        assert (row.name, row.object_id) == ("file_upload.parse_file", str(file.id))
        assert (row.state, row.result) == ("done", "done")


class TestSweep:
    def test_every_app_rule_runs_and_stale_rows_are_lost(self, settings):
        settings.BIOFM_TASK_STALE_SECONDS = {"default": 3600, "background.tests.echo": 60}
        now = timezone.now()

        def row(name: str, state: str, **times):
            return BackgroundTask.objects.create(task_id=str(uuid.uuid4()), name=name, state=state, **times)

        short = row("background.tests.echo", "running", started_at=now - timedelta(seconds=120))
        long_ok = row("other.task", "running", started_at=now - timedelta(seconds=120))
        long_stale = row("other.task", "running", started_at=now - timedelta(hours=2))
        never = row("other.task", "queued", queued_at=now - timedelta(days=2))
        old_done = row("other.task", "done")
        BackgroundTask.objects.filter(pk=old_done.pk).update(created_at=now - timedelta(days=60))

        done = sweep.sweep()

        assert {"ncbi_bridge.imports", "ml_interface.tasks"} <= set(done)
        assert done["background.lost"] == 3 and done["background.pruned"] == 1
        states = dict(BackgroundTask.objects.values_list("pk", "state"))
        assert states == {short.pk: "lost", long_ok.pk: "running", long_stale.pk: "lost", never.pk: "lost"}

    def test_one_broken_rule_does_not_stop_the_others(self, monkeypatch):
        rules = {"a.broken": "no.such.module.rule", "a.fine": "builtins.list"}
        monkeypatch.setattr(sweep, "stale_rules", lambda: rules)
        done = sweep.sweep()
        assert done["a.broken"].startswith("failed:") and done["a.fine"] == []

    def test_the_beat_schedule_runs_the_one_sweeper(self, settings):
        assert settings.CELERY_BEAT_SCHEDULE["background-sweep"]["task"] == "background.sweep"
        assert "background.sweep" in app.tasks


class TestListing:
    def test_staff_see_every_row_others_none(self, api, anon):
        echo_task.apply(args=[1])
        staff = UserFactory(is_staff=True)
        from rest_framework.test import APIClient

        client = APIClient()
        client.force_authenticate(staff)
        rows = client.get("/api/background-tasks/", {"name": "background.tests.echo"}).json()["results"]
        assert [(r["name"], r["object_id"], r["state"]) for r in rows] == [("background.tests.echo", "1", "done")]
        assert api.get("/api/background-tasks/").json()["results"] == []
        assert anon.get("/api/background-tasks/").status_code in (401, 403)
