"""The one sweeper (beat task ``background.sweep``, every minute).

Each app names its stale rules in its ``AppConfig.stale_rules`` (``{rule name: dotted path of a
function taking no arguments}``); the sweeper runs every rule, one failing rule never stopping
the others, and then sweeps its own table: a ``BackgroundTask`` still ``running`` longer than its
task's limit (``BIOFM_TASK_STALE_SECONDS``, per task name, else ``default``) or ``queued`` longer
than ``BIOFM_TASK_QUEUED_STALE_SECONDS`` is marked ``lost`` (the feature's own rule decides
whether to queue the work again), and finished rows older than ``BIOFM_TASK_RECORD_DAYS`` go.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import FINISHED_STATES, BackgroundTask, TaskState

log = logging.getLogger(__name__)


def stale_rules() -> dict[str, str]:
    """Every app's rules, ``{"<app label>.<rule>": dotted path}``."""
    rules: dict[str, str] = {}
    for config in apps.get_app_configs():
        for name, path in getattr(config, "stale_rules", {}).items():
            rules[f"{config.label}.{name}"] = path
    return rules


def mark_lost(now: Any = None) -> int:
    """Mark ``lost`` the rows whose worker went away (see the module docstring)."""
    now = now or timezone.now()
    limits: dict[str, int] = dict(settings.BIOFM_TASK_STALE_SECONDS)
    default = int(limits.pop("default", 6 * 3600))
    running = Q(state__in=(TaskState.RUNNING, TaskState.RETRYING))
    stale = Q(running, started_at__lt=now - timedelta(seconds=default)) & ~Q(name__in=list(limits))
    for name, seconds in limits.items():
        stale |= Q(running, name=name, started_at__lt=now - timedelta(seconds=int(seconds)))
    stale |= Q(state=TaskState.QUEUED, queued_at__lt=now - timedelta(seconds=settings.BIOFM_TASK_QUEUED_STALE_SECONDS))
    return BackgroundTask.objects.filter(stale).update(
        state=TaskState.LOST, finished_at=now, error="No worker finished this task in time (its worker was lost)."
    )


def prune(now: Any = None) -> int:
    now = now or timezone.now()
    old = BackgroundTask.objects.filter(
        state__in=FINISHED_STATES, created_at__lt=now - timedelta(days=settings.BIOFM_TASK_RECORD_DAYS)
    )
    return old.delete()[0]


def sweep() -> dict[str, Any]:
    """Run every stale rule, then mark lost and prune task rows; what each did, by name."""
    done: dict[str, Any] = {}
    for name, path in stale_rules().items():
        try:
            done[name] = import_string(path)()
        except Exception as exc:  # one broken rule must not stop the others
            log.exception("stale rule %s failed", name)
            done[name] = f"failed: {exc}"
    done["background.lost"] = mark_lost()
    done["background.pruned"] = prune()
    return done
