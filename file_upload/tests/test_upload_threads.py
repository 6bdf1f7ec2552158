"""The helper threads behind a tus PATCH's hashing and lease heartbeat (``file_upload.threads``)."""

from __future__ import annotations

import threading

import pytest

from file_upload import threads


def test_a_job_returns_its_result_or_raises_its_error():
    assert threads.run(lambda: 6 * 7).wait() == 42

    def fails() -> None:
        raise ValueError("broken hash")

    with pytest.raises(ValueError, match="broken hash"):
        threads.run(fails).wait()


def test_a_finished_helper_takes_the_next_job():
    first = threads.run(threading.get_ident).wait()
    assert threads.run(threading.get_ident).wait() == first


def test_a_job_never_waits_behind_a_busy_helper():
    """A job that waits for another job (the PATCH's hash waits for bytes the PATCH hands it)
    gets a thread of its own when every helper is busy."""
    release = threading.Event()
    blocked = threads.run(release.wait)
    other = threads.run(lambda: release.set() or "ran")
    assert other.wait() == "ran"
    assert blocked.wait() is True
