"""Schema-driven fuzzing of the whole API with schemathesis: every operation in /api/schema/ is
called with generated parameters and bodies (as a superuser, so requests reach the deepest
code), in-process through the WSGI application, and no answer may be a 5xx.

Bounded: ``BIOFM_FUZZ_API_EXAMPLES`` examples per operation (default 10). Outside services are
pointed at a closed local port so nothing leaves the machine.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]
EXAMPLES = int(os.environ.get("BIOFM_FUZZ_API_EXAMPLES", "10"))
CLOSED = "http://127.0.0.1:9"


@pytest.fixture
def keep_test_connection():
    """Like Django's test client: the WSGI handler must not close the test transaction's
    connection at the end of each request."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def superuser_token(make_user, settings, tmp_path, keep_test_connection):
    from rest_framework.authtoken.models import Token

    settings.NCBI_EUTILS_BASE = settings.ENA_PORTAL_BASE = settings.NCBI_SRA_READS_BASE = CLOSED
    settings.NCBI_TIMEOUT_SECONDS = settings.NCBI_DOWNLOAD_TIMEOUT_SECONDS = 1
    settings.NCBI_MAX_RETRIES = 0
    settings.CELLXGENE_DATA_DIR = tmp_path / "cellxgene"
    root = make_user("fuzz-root", is_staff=True, is_superuser=True)
    return Token.objects.create(user=root).key


# Loaded at collection: generating the schema reads no data.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_operation_answers_a_server_error(case, superuser_token):
    case.call_and_validate(headers={"Authorization": f"Token {superuser_token}"}, checks=[not_a_server_error])
