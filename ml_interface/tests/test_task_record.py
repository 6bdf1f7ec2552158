"""An analysis's result is read through the gate (``/api/ml/tasks/``, the reader's current
access); the staff listing of background work (``/api/background-tasks/``) records that the
analysis ran, not what it found: staff see data only as any other user would."""

from __future__ import annotations

import pytest

from background.models import BackgroundTask

from . import data

pytestmark = pytest.mark.django_db


def test_the_background_record_of_an_analysis_holds_no_result(add_file, run_task, make_user, client_for):
    file = add_file("abstract.txt", data.ABSTRACT.encode())
    task = run_task("summary", file.id, {"sentences": 2})
    assert task["status"] == "done", task["error"]
    chosen = task["result"]["sentences"][0]["text"]

    row = BackgroundTask.objects.get(name="ml_interface.run_analysis")
    assert row.state == "done"
    assert row.result == ""
    operator = make_user("operator", is_staff=True)
    listing = client_for(operator).get("/api/background-tasks/", {"name": "ml_interface.run_analysis"})
    assert listing.status_code == 200 and len(listing.json()["results"]) == 1
    assert chosen[:40] not in listing.content.decode()
    # The operator does not see the file (a restricted project) nor, therefore, its analysis.
    assert client_for(operator).get(f"/api/files/{file.id}/").status_code == 404
    assert client_for(operator).get(f"/api/ml/tasks/{task['id']}/").status_code == 404
