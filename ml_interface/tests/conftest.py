"""Fixtures for the analysis gateway: Celery runs tasks eagerly in-process (the signal handlers
fire as on a worker), the handler registry is fresh, and projects and files come ready."""

from __future__ import annotations

import pytest

from file_project.celery import app
from file_upload.tests.factories import ProjectFactory, make_file
from ml_interface import registry


@pytest.fixture(autouse=True)
def eager_celery():
    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    registry.reset()
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved
    registry.reset()


@pytest.fixture
def project(alice):
    return ProjectFactory(name="Analyses", owner=alice, access_level="restricted")


@pytest.fixture
def add_file(project):
    def add(name: str, content: bytes, **kwargs):
        return make_file(kwargs.pop("project", project), name, content, **kwargs)

    return add


@pytest.fixture
def trigger(api, django_capture_on_commit_callbacks):
    """POST /api/ml/trigger/ as ``client`` (default alice) with the after-commit send executed;
    returns the response."""

    def run(task_type: str, file_id: int, params: dict | None = None, client=None):
        payload = {"task_type": task_type, "file_id": file_id}
        if params is not None:
            payload["params"] = params
        with django_capture_on_commit_callbacks(execute=True):
            return (client or api).post("/api/ml/trigger/", payload, format="json")

    return run


@pytest.fixture
def run_task(trigger, api):
    """Trigger and return the finished task's JSON (eager Celery finishes it in the request)."""

    def run(task_type: str, file_id: int, params: dict | None = None, client=None):
        response = trigger(task_type, file_id, params, client)
        assert response.status_code == 202, response.json()
        detail = (client or api).get(f"/api/ml/tasks/{response.json()['task_id']}/")
        assert detail.status_code == 200
        return detail.json()

    return run
