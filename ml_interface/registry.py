"""The table of analysis handlers by task type.

A handler is a class with ``task_type``, ``label``, ``description``, ``accepts(file) -> str |
None`` (a reason when it cannot analyse the file, checked when the task is triggered) and
``run(task) -> dict`` (the JSON result; raise ``AnalysisError`` with a message for the user).
It may set ``celery_task`` (the name of the Celery task that runs it, default
``ml_interface.run_analysis``) and ``queue`` (default: the default queue), so a worker elsewhere,
or a task that calls an external inference service, takes over a task type without any change to
the API or the SPA: point ``BIOFM_ML_HANDLERS`` ({task type: dotted class path}) at another class
and/or ``BIOFM_ML_QUEUES`` ({task type: queue}) at the queue that worker consumes.

``register_defaults()`` registers the built-ins lazily on first use; ``reset()`` serves tests.

Public surface: ``Handler``, ``AnalysisError``, ``register``, ``register_defaults``,
``handler_for``, ``handlers``, ``queue_for``, ``reset``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from django.conf import settings

if TYPE_CHECKING:
    from file_upload.models import File

    from .models import MLTask

DEFAULT_CELERY_TASK = "ml_interface.run_analysis"


class AnalysisError(Exception):
    """The analysis cannot be done on this input; the message is shown to the user."""


@runtime_checkable
class Handler(Protocol):
    task_type: str
    label: str
    description: str

    def accepts(self, file: File) -> str | None: ...

    def run(self, task: MLTask) -> dict[str, Any]: ...


_HANDLERS: dict[str, Handler] = {}
_LOADED = False

DEFAULTS = (
    "ml_interface.handlers.autotag.AutotagHandler",
    "ml_interface.handlers.qc.QcHandler",
    "ml_interface.handlers.summary.SummaryHandler",
    "ml_interface.handlers.embedding.EmbeddingHandler",
    "ml_interface.handlers.h5ad_vis.H5adVisHandler",
)


def _load(path: str) -> Handler:
    module, _, name = path.rpartition(".")
    handler = getattr(importlib.import_module(module), name)()
    if not isinstance(handler, Handler):
        raise TypeError(f"{path} is not an analysis handler (task_type, label, accepts, run)")
    return handler


def register(handler: Handler) -> None:
    _HANDLERS[handler.task_type] = handler


def register_defaults() -> None:
    global _LOADED
    _LOADED = True
    for path in DEFAULTS:
        register(_load(path))
    for task_type, path in (getattr(settings, "BIOFM_ML_HANDLERS", None) or {}).items():
        handler = _load(path)
        handler.task_type = task_type
        register(handler)


def _ensure() -> None:
    if not _LOADED:
        register_defaults()


def handlers() -> dict[str, Handler]:
    _ensure()
    return dict(_HANDLERS)


def handler_for(task_type: str) -> Handler | None:
    _ensure()
    return _HANDLERS.get(task_type)


def queue_for(task_type: str) -> str | None:
    handler = handler_for(task_type)
    queues = getattr(settings, "BIOFM_ML_QUEUES", None) or {}
    return queues.get(task_type) or getattr(handler, "queue", None) or None


def celery_task_for(task_type: str) -> str:
    return getattr(handler_for(task_type), "celery_task", None) or DEFAULT_CELERY_TASK


def reset() -> None:
    global _LOADED
    _HANDLERS.clear()
    _LOADED = False
