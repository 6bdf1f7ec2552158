#!/usr/bin/env bash
# Smoke test of a running server (started by ./scripts/start_services.sh), with curl only:
# /healthz, a token, a project and a folder, a one-shot upload into the folder (no project
# given: the folder names it), the folder's listing, and a download compared byte for byte.
#
#   ./scripts/smoke.sh                      # against http://127.0.0.1:${BIOFM_PORT:-8000}
#   BIOFM_URL=http://host:8000 BIOFM_SMOKE_USER=me BIOFM_SMOKE_PASSWORD=... ./scripts/smoke.sh
#
# Without BIOFM_SMOKE_PASSWORD it creates (or resets) the user "smoke" in this checkout's
# database with a random password, so it must run where start_services.sh ran.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

BASE="${BIOFM_URL:-http://127.0.0.1:${BIOFM_PORT:-8000}}"
USER_NAME="${BIOFM_SMOKE_USER:-smoke}"
PASSWORD="${BIOFM_SMOKE_PASSWORD:-}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "smoke: FAILED: $*" >&2; exit 1; }
# json FIELD: read one top-level field of the JSON on stdin (the venv holds only the runtime packages).
json() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# call METHOD PATH [curl args...]: prints the body; fails on a status other than 2xx.
call() {
  local method=$1 path=$2; shift 2
  local status
  status=$(curl -sS -o "$WORK/body" -w '%{http_code}' -X "$method" "$BASE$path" -H "Authorization: Token $TOKEN" "$@")
  [[ $status == 2* ]] || fail "$method $path answered $status: $(head -c 500 "$WORK/body")"
  cat "$WORK/body"
}

log "Smoke test against $BASE"
status=$(curl -sS -o "$WORK/health" -w '%{http_code}' "$BASE/healthz") || fail "no answer from $BASE/healthz"
[ "$status" = 200 ] || fail "/healthz answered $status: $(cat "$WORK/health")"
echo "    /healthz 200"

if [ -z "$PASSWORD" ]; then
  PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
  BIOFM_SMOKE_USER="$USER_NAME" BIOFM_SMOKE_PASSWORD="$PASSWORD" .venv/bin/python manage.py shell -c "
import os
from django.contrib.auth import get_user_model
user, _ = get_user_model().objects.get_or_create(username=os.environ['BIOFM_SMOKE_USER'])
user.set_password(os.environ['BIOFM_SMOKE_PASSWORD'])
user.save()
" >/dev/null
fi
TOKEN=$(curl -sS -X POST "$BASE/api/auth/token/" -H 'Content-Type: application/json' \
  -d "{\"username\": \"$USER_NAME\", \"password\": \"$PASSWORD\"}" | json token) || fail "no token for $USER_NAME"
echo "    token for $USER_NAME"

STAMP=$(date +%s%N)
PROJECT=$(call POST /api/projects/ -H 'Content-Type: application/json' -d "{\"name\": \"Smoke $STAMP\"}" | json id)
FOLDER=$(call POST /api/folders/ -H 'Content-Type: application/json' \
  -d "{\"project\": $PROJECT, \"name\": \"raw\"}" | json id)
echo "    project $PROJECT, folder $FOLDER"

head -c 300000 /dev/urandom >"$WORK/reads.bin"
printf '@r1\nACGT\n+\nIIII\n' >>"$WORK/reads.bin"
FILE=$(call POST /api/files/ -F "folder=$FOLDER" -F "file=@$WORK/reads.bin;filename=smoke-$STAMP.bin" | json id)
echo "    uploaded file $FILE into folder $FOLDER"
[ "$(call GET "/api/files/$FILE/" | json project)" = "$PROJECT" ] || fail "file $FILE is not in project $PROJECT"

call GET "/api/files/?folder=$FOLDER" | python3 -c '
import json, sys
ids = [row["id"] for row in json.load(sys.stdin)["results"]]
sys.exit(0 if int(sys.argv[1]) in ids else 1)' "$FILE" || fail "file $FILE is missing from the folder's listing"
echo "    listed in folder $FOLDER"

call GET "/api/files/$FILE/download/" >"$WORK/back.bin"
cmp -s "$WORK/reads.bin" "$WORK/back.bin" || fail "downloaded bytes differ from the upload"
echo "    downloaded $(wc -c <"$WORK/back.bin") bytes, identical"

call DELETE "/api/files/$FILE/" >/dev/null
log "Smoke test passed"
