#!/usr/bin/env bash
# Installs everything, builds the SPA, migrates, and starts gunicorn, a Celery worker, beat and the
# search-index writer in the background on http://127.0.0.1:${BIOFM_PORT:-8000}. PIDs go to
# .pids/, logs to logs/.
# A second run skips what is installed and does not start a process that already runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

PORT="${BIOFM_PORT:-8000}"
BIND="${BIOFM_BIND:-127.0.0.1}"
mkdir -p .pids logs

ensure_venv requirements.txt
ensure_spa_build
./scripts/install_cellxgene.sh  # cellxgene 1.3.0 in .venv-cellxgene (its own numpy pins)

PY=.venv/bin/python
log "Migrating the database"
$PY manage.py migrate --noinput >logs/migrate.log
$PY manage.py ensure_admin
log "Search index (rebuilt only when missing or of another schema)"
$PY manage.py rebuild_search_index --if-needed

start() {  # start NAME CMD...: run detached in its own session, record the PID
  local name=$1; shift
  if pid_alive "$name"; then
    echo "    $name already running (pid $(cat ".pids/$name.pid"))"
    return
  fi
  setsid nohup "$@" >>"logs/$name.log" 2>&1 </dev/null &
  echo $! >".pids/$name.pid"
  echo "    $name started (pid $!)"
}

log "Starting services"
start gunicorn .venv/bin/gunicorn file_project.wsgi:application --config gunicorn.conf.py \
  --bind "$BIND:$PORT" --worker-class gthread --workers "${BIOFM_WEB_WORKERS:-2}" --threads "${BIOFM_WEB_THREADS:-8}" \
  --timeout 120 --graceful-timeout 30 --keep-alive 5 --access-logfile - --error-logfile -
start celery-worker .venv/bin/celery -A file_project worker -l info --concurrency "${BIOFM_WORKER_CONCURRENCY:-2}" \
  -n "biofm@%h"
start celery-beat .venv/bin/celery -A file_project beat -l info -s var/celerybeat-schedule
start search-writer $PY manage.py search_index_writer

for _ in $(seq 1 60); do
  if curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
    log "BioFileManager is up: http://127.0.0.1:$PORT  (API docs: http://127.0.0.1:$PORT/api/docs/)"
    exit 0
  fi
  pid_alive gunicorn || { echo "gunicorn exited; see logs/gunicorn.log" >&2; tail -20 logs/gunicorn.log >&2; exit 1; }
  sleep 0.5
done
echo "The server did not become healthy in 30 s; see logs/gunicorn.log" >&2
curl -sS "http://127.0.0.1:$PORT/healthz" >&2 || true
exit 1
