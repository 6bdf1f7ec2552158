# Shared helpers for start_services.sh and test.sh: idempotent installs keyed by the hash of
# what they install from, so a second run skips them.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON_BIN="${PYTHON:-python3.11}"
command -v "$PYTHON_BIN" >/dev/null 2>&1 || PYTHON_BIN=python3

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# True when the stamp file holds a different hash of the given files (or is missing).
changed() {
  local stamp=$1; shift
  local want
  want=$(cat "$@" | sha256sum | cut -d' ' -f1)
  [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]
}

stamp() {
  local stamp=$1; shift
  cat "$@" | sha256sum | cut -d' ' -f1 >"$stamp"
}

# ensure_venv REQUIREMENTS_FILE: .venv with those requirements installed.
ensure_venv() {
  local req=$1
  if [ ! -x "$ROOT/.venv/bin/python" ]; then
    log "Creating .venv with $PYTHON_BIN"
    "$PYTHON_BIN" -m venv "$ROOT/.venv"
  fi
  local files=("$ROOT/$req")
  [ "$req" = requirements.txt ] || files+=("$ROOT/requirements.txt")
  if changed "$ROOT/.venv/.stamp-${req%.txt}" "${files[@]}"; then
    log "Installing Python packages from $req"
    "$ROOT/.venv/bin/python" -m pip install -q --upgrade pip
    "$ROOT/.venv/bin/python" -m pip install -q -r "$ROOT/$req"
    stamp "$ROOT/.venv/.stamp-${req%.txt}" "${files[@]}"
  fi
}

# ensure_node_modules: npm ci when package-lock.json changed.
ensure_node_modules() {
  if [ ! -d "$ROOT/frontend/node_modules" ] || changed "$ROOT/frontend/node_modules/.stamp" "$ROOT/frontend/package-lock.json"; then
    log "Installing SPA packages (npm ci)"
    (cd "$ROOT/frontend" && npm ci --no-audit --no-fund --loglevel=error)
    stamp "$ROOT/frontend/node_modules/.stamp" "$ROOT/frontend/package-lock.json"
  fi
}

# ensure_spa_build: vite build when any SPA source is newer than the last build.
ensure_spa_build() {
  ensure_node_modules
  local index="$ROOT/frontend/dist/index.html"
  if [ ! -f "$index" ] || [ -n "$(find "$ROOT/frontend/src" "$ROOT/frontend/index.html" "$ROOT/frontend/package-lock.json" \
        "$ROOT/frontend/vite.config.ts" -newer "$index" -print -quit 2>/dev/null)" ]; then
    log "Building the SPA"
    (cd "$ROOT/frontend" && npm run build --silent)
  fi
}

# pid_alive NAME: the process recorded in .pids/NAME.pid runs, and is ours (same checkout).
pid_alive() {
  local file="$ROOT/.pids/$1.pid" pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ "$(readlink -f "/proc/$pid/cwd" 2>/dev/null)" = "$ROOT" ] || return 1
}

# our_processes: PIDs of server processes (gunicorn, Celery, cellxgene) running from this checkout.
our_processes() {
  local p pid cmd
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
    echo "$cmd" | grep -Eq 'gunicorn|celery|cellxgene' || continue
    if [ "$(readlink -f "$p/cwd" 2>/dev/null)" = "$ROOT" ] || [[ $cmd == *"$ROOT/"* ]]; then echo "$pid"; fi
  done
  return 0
}
