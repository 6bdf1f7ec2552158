"""NCBI bridge fixtures: the local fake E-utilities/ENA server and settings pointing at it."""

from __future__ import annotations

import pytest

from file_upload.tests.factories import ProjectFactory, make_folder
from tests.fake_ncbi import fake_ncbi, fake_ncbi_server  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
def ncbi_settings(settings, fake_ncbi):  # noqa: F811
    """Point the bridge at the fake; fast retries and no throttling unless a test asks."""
    settings.NCBI_EUTILS_BASE = fake_ncbi.eutils_base
    settings.ENA_PORTAL_BASE = fake_ncbi.ena_base
    settings.NCBI_SRA_READS_BASE = fake_ncbi.reads_base
    settings.NCBI_EMAIL = "lab@example.org"
    settings.NCBI_API_KEY = ""
    settings.NCBI_REQUESTS_PER_SECOND = 1000.0
    settings.NCBI_RETRY_BACKOFF_SECONDS = 0.01
    settings.NCBI_MAX_RETRIES = 3
    settings.NCBI_TIMEOUT_SECONDS = 5.0
    settings.NCBI_SRA_MAX_BYTES = 1024**3
    return settings


@pytest.fixture
def project(alice):
    return ProjectFactory(name="Liver atlas", owner=alice)


@pytest.fixture
def folder(project):
    return make_folder(project, "refs")
