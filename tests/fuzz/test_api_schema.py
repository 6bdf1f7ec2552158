"""The OpenAPI schema tells the truth: schemathesis (every check, the default of its
configuration, as ``--checks all``) runs against a live gunicorn, once as a normal user and once
as staff, and must find nothing — no 5xx, no undocumented status, content type or header, no
response outside its schema, no valid request refused and no invalid one accepted, 405 for
undeclared methods.

Bounded and reproducible: a fixed seed (``BIOFM_FUZZ_API_SEED``, default 1), the coverage and
fuzzing phases with ``BIOFM_FUZZ_API_EXAMPLES`` examples per operation (default 10). What OpenAPI
cannot express is configured, with reasons, in ``schemathesis.toml`` beside this file; bytes
for tus are serialised by ``schemathesis_hooks.py``. Outside services are pointed at a closed
local port. The operation and request counts are printed (``-s`` shows them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import ROOT, GunicornServer

pytestmark = [pytest.mark.fuzz]
EXAMPLES = int(os.environ.get("BIOFM_FUZZ_API_EXAMPLES", "10"))
SEED = int(os.environ.get("BIOFM_FUZZ_API_SEED", "1"))
CLOSED = "http://127.0.0.1:9"
HERE = ROOT / "tests" / "fuzz"


@pytest.fixture
def fuzz_server(transactional_db, data_dirs, tmp_path):
    outside = {name: CLOSED for name in ("NCBI_EUTILS_BASE", "ENA_PORTAL_BASE", "NCBI_SRA_READS_BASE")}
    server = GunicornServer(
        data_dirs,
        tmp_path / "gunicorn.log",
        extra_env={
            **outside,
            "NCBI_TIMEOUT_SECONDS": "1",
            "NCBI_MAX_RETRIES": "0",
            "CELLXGENE_DATA_DIR": str(tmp_path / "cellxgene"),
            # The fuzzer sends thousands of requests a minute; the throttles have tests of their own.
            "BIOFM_THROTTLE_UPLOAD": "off",
            "BIOFM_THROTTLE_HEAVY": "off",
        },
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def seed_workspace(make_user) -> dict[str, str]:
    """A user with a project, a folder and a file in it, and a staff member; their tokens."""
    from rest_framework.authtoken.models import Token

    from file_upload import services
    from file_upload.tests.factories import make_file, make_folder

    user = make_user("fuzz-user")
    staff = make_user("fuzz-staff", is_staff=True)
    project = services.create_project(owner=user, name="fuzz-project")  # audited, as through the API
    make_file(project, "a.fastq", folder=make_folder(project, "reads"))
    return {"user": Token.objects.create(user=user).key, "staff": Token.objects.create(user=staff).key}


def run_schemathesis(url: str, token: str, report: Path) -> subprocess.CompletedProcess[str]:
    command = [
        str(ROOT / ".venv" / "bin" / "st") if (ROOT / ".venv" / "bin" / "st").exists() else "st",
        "--config-file", str(HERE / "schemathesis.toml"),
        "run", f"{url}/api/schema/",
        "--header", f"Authorization: Token {token}",
        "--seed", str(SEED),
        "--max-examples", str(EXAMPLES),
        "--phases", "examples,coverage,fuzzing",
        "--workers", "1",  # one thread: hypothesis' lambda descriptions are not thread-safe on 3.11
        "--report", "json", "--report-json-path", str(report),
        "--no-color",
    ]  # fmt: skip
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.schemathesis_hooks", "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, cwd=report.parent, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("who", ["user", "staff"])
def test_schemathesis_finds_nothing(who, fuzz_server, make_user, tmp_path):
    tokens = seed_workspace(make_user)
    report = tmp_path / f"schemathesis-{who}.json"
    result = run_schemathesis(fuzz_server.url, tokens[who], report)
    summary = json.loads(report.read_text()) if report.exists() else {}
    operations, cases = summary.get("operations", {}), summary.get("test_cases", {})
    print(
        f"\nschemathesis as {who}: {operations.get('tested')} of {operations.get('total')} operations, "
        f"{cases.get('generated')} test cases, {cases.get('unique_failures')} failures, seed {SEED}",
        file=sys.stderr,
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert operations.get("tested") == operations.get("total") and operations.get("total", 0) > 50
    assert cases.get("unique_failures") == 0 and not summary.get("errors")
