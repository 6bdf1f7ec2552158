#!/usr/bin/env bash
# Stops exactly the processes start_services.sh started (by the PIDs in .pids/), with their
# children: SIGTERM to each leader, then to what is left of its process group, SIGKILL last.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

# The cellxgene viewers run in sessions of their own (started by the worker): stop them first,
# through the process manager, which only signals processes it recorded as ours.
if [ -x .venv/bin/python ] && { pid_alive celery-worker || pid_alive gunicorn; }; then
  timeout 60 .venv/bin/python manage.py cellxgene_stop || echo "could not stop the cellxgene viewers" >&2
fi

for name in search-writer celery-beat celery-worker gunicorn; do
  file=".pids/$name.pid"
  [ -f "$file" ] || continue
  if pid_alive "$name"; then
    pid=$(cat "$file")
    # SIGTERM to the leader only: gunicorn and Celery stop their own workers (a signal to the
    # whole group would hit the pool children first and leave the Celery parent waiting on them).
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    # Then whatever is left of the process group: SIGTERM, and SIGKILL after a short grace.
    kill -TERM -- "-$pid" 2>/dev/null
    for _ in $(seq 1 10); do
      kill -0 -- "-$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 -- "-$pid" 2>/dev/null; then
      kill -KILL -- "-$pid" 2>/dev/null
      echo "$name (pid $pid) killed"
    else
      echo "$name (pid $pid) stopped"
    fi
  fi
  rm -f "$file"
done
