#!/usr/bin/env bash
# Stops exactly the processes start_services.sh started (by the PIDs in .pids/), with their
# children: SIGTERM to each process group, then SIGKILL after a grace period.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

for name in celery-beat celery-worker gunicorn; do
  file=".pids/$name.pid"
  [ -f "$file" ] || continue
  if pid_alive "$name"; then
    pid=$(cat "$file")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 60); do
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
