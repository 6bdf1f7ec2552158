"""Helper threads that outlive one job: a tus PATCH hands its SHA-256 and its lease heartbeat to
threads of its own, and starting two threads per PATCH costs more than it seems —
``Thread.start`` waits until the new thread has run, which on a busy machine is a scheduling
delay on every PATCH. ``run`` gives the job to an idle helper of this process, or starts one
when none is idle (never queueing a job behind another, so a job that waits for its caller
cannot deadlock); a helper that finishes goes back to the idle list (at most ``MAX_IDLE``).

Public surface: ``run``, ``Job``.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from typing import Any

MAX_IDLE = 32

_lock = threading.Lock()
_idle: list[queue.SimpleQueue] = []
_pid = os.getpid()


class Job:
    """One function run on a helper thread; ``wait`` returns its result or raises its error."""

    def __init__(self, function: Callable[[], Any]) -> None:
        self._function = function
        self._done = threading.Event()
        self._result: Any = None
        self._error: BaseException | None = None

    def _execute(self) -> None:
        try:
            self._result = self._function()
        except BaseException as exc:  # handed to the waiter
            self._error = exc

    def wait(self) -> Any:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._result


def _serve(inbox: queue.SimpleQueue) -> None:
    while True:
        job = inbox.get()
        job._execute()
        with _lock:  # idle again before the waiter hears of it, so its next job finds this thread
            stay = len(_idle) < MAX_IDLE and os.getpid() == _pid
            if stay:
                _idle.append(inbox)
        job._done.set()
        if not stay:
            return


def run(function: Callable[[], Any], name: str = "upload-helper") -> Job:
    """Run ``function`` on an idle helper thread (or a new one); returns its ``Job``."""
    global _pid
    job = Job(function)
    with _lock:
        if os.getpid() != _pid:  # a forked child has none of its parent's threads
            _idle.clear()
            _pid = os.getpid()
        inbox = _idle.pop() if _idle else None
    if inbox is None:
        inbox = queue.SimpleQueue()
        threading.Thread(target=_serve, args=(inbox,), name=name, daemon=True).start()
    inbox.put(job)
    return job
