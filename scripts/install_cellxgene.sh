#!/usr/bin/env bash
# Creates .venv-cellxgene with cellxgene 1.3.0 and a pin set that installs and runs on
# Python 3.11. cellxgene gets a venv of its own: it pins numpy 2.0.x (the main venv runs a
# newer numpy) and installs a top-level package named `server`.
# Idempotent: a stamp file holds the hash of the pin set, so a second run returns at once.
# Environment: CELLXGENE_VENV (default .venv-cellxgene), PYTHON (default python3.11).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

VENV="${CELLXGENE_VENV:-$ROOT/.venv-cellxgene}"
STAMP="$VENV/.stamp-cellxgene"

# `pip freeze` of a working install (cellxgene 1.3.0 requires numpy==2.0.1, flatbuffers==2.0.7,
# s3fs==0.4.2; the rest is what pip resolved on Python 3.11, checked by a launch).
PINS="$(cat <<'PINS'
cellxgene==1.3.0
numpy==2.0.1
scipy==1.17.1
pandas==2.3.3
anndata==0.12.19
h5py==3.16.0
numba==0.68.1
llvmlite==0.50.0
flatbuffers==2.0.7
s3fs==0.4.2
fsspec==2026.9.0
Flask==3.1.3
Flask-Compress==1.25
flask-cors==6.0.5
Flask-RESTful==0.3.10
flask-server-timing==0.1.2
flask-talisman==1.1.0
Werkzeug==3.1.9
Jinja2==3.1.6
MarkupSafe==3.0.4
itsdangerous==2.2.0
blinker==1.9.0
click==8.5.1
aniso8601==10.0.1
brotli==1.2.1
backports.zstd==1.8.0
boto3==1.44.8
botocore==1.44.8
s3transfer==0.19.3
jmespath==1.1.0
gunicorn==27.0.1
requests==2.34.2
urllib3==2.8.0
idna==3.20
charset-normalizer==3.5.3
certifi==2026.10.19.post1
array-api-compat==1.16.0
legacy-api-wrap==1.5
natsort==8.4.0
packaging==26.4
zarr==3.1.6
numcodecs==0.16.6
donfig==0.8.1.post1
google-crc32c==1.9.0
typing_extensions==4.16.0
flatten-dict==0.5.0
scverse-misc==0.0.3
session-info2==0.4.1
python-dateutil==2.9.0.post0
pytz==2026.6
tzdata==2026.6
six==1.17.0
PyYAML==6.0.4
PINS
)"
WANT="$(printf '%s\n' "$PINS" | sha256sum | cut -d' ' -f1)"

if [ -x "$VENV/bin/cellxgene" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ]; then
  exit 0
fi

log "Installing cellxgene 1.3.0 into ${VENV#"$ROOT"/}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON_BIN" -m venv "$VENV"
fi
REQ="$(mktemp)"
trap 'rm -f "$REQ"' EXIT
printf '%s\n' "$PINS" >"$REQ"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ" 2>&1 | grep -v '^WARNING: Location' >&2 || true
# pip's status is lost in the pipe above: check the result instead.
if ! "$VENV/bin/python" -c 'import numpy, server.cli.cli' >/dev/null 2>&1 || [ ! -x "$VENV/bin/cellxgene" ]; then
  echo "cellxgene did not install into $VENV" >&2
  exit 1
fi
"$VENV/bin/cellxgene" --help >/dev/null
printf '%s\n' "$WANT" >"$STAMP"
log "cellxgene ready: $VENV/bin/cellxgene"
