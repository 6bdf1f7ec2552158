"""Background work, one record for all of it (paperless-ngx's task model).

- ``enqueue.py``: ``enqueue(name, *args)`` and ``enqueue_on_commit(name, *args)`` send a Celery
  task by its registered name, so Logic never imports a ``tasks`` module (no services ↔ tasks
  cycles) and a broker that is down never fails the write that queued the work.
- ``models.py``: ``BackgroundTask``, one row per task run (name, object, state, attempts,
  queued/started/finished, error, result summary), written only by the Celery signal handlers
  in ``signals.py`` — task bodies hold no bookkeeping.
- ``sweep.py``: the one sweeper (beat task ``background.sweep``): stale rules registered by the
  apps (``STALE_RULES`` in their ``apps.py``), plus lost and old ``BackgroundTask`` rows.
- ``views.py``: the staff listing ``/api/background-tasks/`` (through the gate's viewset mixin).
"""
