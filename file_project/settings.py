"""BioFileManager settings, driven by environment variables.

Every default makes a laptop run work with nothing installed: SQLite and files under
``BIOFM_DATA_DIR`` (``./var``), a secret key generated into that directory on first start, and
kombu's filesystem transport as the Celery broker. ``DATABASE_URL`` switches to PostgreSQL,
``REDIS_URL`` to Redis for the broker, results and the cache.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from pathlib import Path

import dj_database_url

from file_project.keyfiles import write_once

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("BIOFM_DATA_DIR") or BASE_DIR / "var").resolve()
FILES_DIR = DATA_DIR / "files"
UPLOAD_TMP_DIR = DATA_DIR / "tmp"
BIOFM_LOG_DIR = Path(os.environ.get("BIOFM_LOG_DIR") or BASE_DIR / "logs").resolve()
BROKER_DIR = Path(os.environ.get("BIOFM_BROKER_DIR") or DATA_DIR / "broker").resolve()
STATIC_ROOT = DATA_DIR / "static"
for _directory in (
    DATA_DIR,
    FILES_DIR,
    UPLOAD_TMP_DIR,
    STATIC_ROOT,
    BROKER_DIR / "queue",
    BROKER_DIR / "processed",
    BROKER_DIR / "control",
):
    _directory.mkdir(parents=True, exist_ok=True)


def _kept_secret(variable: str, file_name: str) -> str:
    """The environment variable when set; otherwise a random value generated once into the data
    directory (readable by the service's user only)."""
    if os.environ.get(variable):
        return os.environ[variable]
    key_file = DATA_DIR / file_name
    write_once(key_file, lambda: secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _kept_secret("SECRET_KEY", "secret_key")
# The audit trail's MAC key (authentication/audit.py): outside the database, so whoever can only
# write the database cannot re-seal rows they changed.
BIOFM_AUDIT_KEY = _kept_secret("BIOFM_AUDIT_KEY", "audit_key")
# Field encryption keys (authentication/crypto.py): BIOFM_FIELD_KEY, else var/field_keys.
from authentication.crypto import load_keys as _load_field_keys  # noqa: E402

BIOFM_FIELD_KEYS, BIOFM_FIELD_KEY_SOURCE = _load_field_keys(DATA_DIR)
DEBUG = env_bool("BIOFM_DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("BIOFM_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "django_prometheus",
    "authentication",
    "file_upload",
    "file_download",
    "ml_interface",
    "ncbi_bridge",
    "cellxgene_bridge",
    "webdav",
    "background",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "file_project.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before CommonMiddleware: a preflight is answered here, before anything may redirect it.
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "file_project.parsers.QueryStringMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "authentication.audit.AuditContextMiddleware",
    "access.policy.VisibilityScopeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "file_project.errors.ApiExceptionMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "file_project.urls"
WSGI_APPLICATION = "file_project.wsgi.application"
AUTH_USER_MODEL = "authentication.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'db.sqlite3'}",
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets gunicorn threads read while the worker writes; IMMEDIATE avoids lock upgrades
    # failing mid-transaction. The test database is a file so a real worker can share it.
    # Connections persist like PostgreSQL's (opening one costs a fifth of a small request).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # One file per test run, so two runs at once (or a run beside a live server) never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test_db_{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, broker ---------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

CELERY_BROKER_URL = REDIS_URL or "filesystem://"
if not REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_IGNORE_RESULT = not REDIS_URL
# A queue name of its own lets test runs and several installs share one Redis.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("BIOFM_CELERY_QUEUE", "biofm")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {
    "cleanup-uploads": {"task": "file_upload.cleanup_uploads", "schedule": 3600.0},
    # The one sweeper (background/sweep.py): every app's stale rules, then the task records.
    "background-sweep": {"task": "background.sweep", "schedule": 60.0},
}
# Background task records (background/): a task still running this long (seconds, per task
# name; "default" for the rest) lost its worker and is marked lost; one queued this long was
# never picked up; finished records are kept this many days.
BIOFM_TASK_STALE_SECONDS: dict = {"default": 6 * 3600, **json.loads(os.environ.get("BIOFM_TASK_STALE_SECONDS") or "{}")}
BIOFM_TASK_QUEUED_STALE_SECONDS = env_int("BIOFM_TASK_QUEUED_STALE_SECONDS", 24 * 3600)
BIOFM_TASK_RECORD_DAYS = env_int("BIOFM_TASK_RECORD_DAYS", 14)

# --- Auth ------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "file_project.errors.csrf_failure"

BIOFM_HTTPS = env_bool("BIOFM_HTTPS")
if BIOFM_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("BIOFM_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("BIOFM_HSTS_PRELOAD")
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# The cellxgene viewer is framed from our own origin; nobody else may frame us.
X_FRAME_OPTIONS = "SAMEORIGIN"
BIOFM_CSP = os.environ.get("BIOFM_CSP", "")  # empty: file_project.security.DEFAULT_CSP
BIOFM_CSP_REPORT_ONLY = env_bool("BIOFM_CSP_REPORT_ONLY")

# --- Cross-origin requests (django-cors-headers) ---------------------------------------------
# Pages of other origins (a lab dashboard, Galaxy, Jupyter) may call the API and upload with tus
# when their origin is listed in BIOFM_CORS_ORIGINS (none by default). Token auth only: no
# credentials (cookies) cross origins, so a listed origin cannot ride a signed-in session.
# Signed download links are not covered here: they answer any origin themselves
# (file_download.views.SignedDownloadView), since they carry their own authority.
CORS_ALLOWED_ORIGINS = env_list("BIOFM_CORS_ORIGINS", "")
CORS_URLS_REGEX = r"^/api/(?!signed/).*$"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "x-requested-with",
    "x-http-method-override",
    "tus-resumable",
    "upload-length",
    "upload-offset",
    "upload-metadata",
    "upload-defer-length",
    "upload-concat",
    "upload-checksum",
]
CORS_EXPOSE_HEADERS = [
    "Location",
    "Upload-Offset",
    "Upload-Length",
    "Upload-Metadata",
    "Upload-Defer-Length",
    "Upload-Expires",
    "Upload-Concat",
    "Tus-Resumable",
    "Tus-Version",
    "Tus-Extension",
    "Tus-Max-Size",
    "Tus-Checksum-Algorithm",
    "Content-Disposition",
    "Content-Range",
    "Accept-Ranges",
    "ETag",
]
CORS_PREFLIGHT_MAX_AGE = 3600

# --- Abuse resistance -----------------------------------------------------------------------
# Proxies whose X-Forwarded-For entries are believed (IPs or CIDRs; none by default): the client
# is then the right-most untrusted hop (file_project/client_address.py).
BIOFM_TRUSTED_PROXIES = env_list("BIOFM_TRUSTED_PROXIES", "")
for _proxy in BIOFM_TRUSTED_PROXIES:
    ipaddress.ip_network(_proxy, strict=False)  # a typo stops the start, not every request
# Per-scope request rates ("N/sec|min|hour|day"; "off" disables a scope), counted per user or,
# for anonymous callers, per client address. Views opt in by naming a scope.
BIOFM_THROTTLE_RATES: dict[str, str | None] = {
    scope: (None if rate.strip().lower() in {"", "off", "none"} else rate.strip())
    for scope, rate in {
        "auth": os.environ.get("BIOFM_THROTTLE_AUTH", "20/min"),  # login and token
        "upload": os.environ.get("BIOFM_THROTTLE_UPLOAD", "600/hour"),  # new uploads (not tus PATCHes)
        "heavy": os.environ.get("BIOFM_THROTTLE_HEAVY", "120/hour"),  # reparse, publish, imports, exports
        "dav": os.environ.get("BIOFM_THROTTLE_DAV", "off"),  # WebDAV requests per user (clients send many)
    }.items()
}
# Login lockout (authentication/lockout.py): failures per username and client address.
BIOFM_LOGIN_LOCKOUT_THRESHOLD = env_int("BIOFM_LOGIN_LOCKOUT_THRESHOLD", 5)
BIOFM_LOGIN_LOCKOUT_BASE_SECONDS = env_int("BIOFM_LOGIN_LOCKOUT_BASE_SECONDS", 60)
BIOFM_LOGIN_LOCKOUT_MAX_SECONDS = env_int("BIOFM_LOGIN_LOCKOUT_MAX_SECONDS", 3600)
AUTHENTICATION_BACKENDS = ["authentication.backends.LockoutModelBackend"]
# Request bodies Django itself parses (JSON, forms; not file parts, which stream to disk).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("BIOFM_MAX_REQUEST_BODY_BYTES", 2_621_440)

# --- I18N ------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files and the SPA ----------------------------------------------------------------
STATIC_URL = "/static/"
SPA_DIST_DIR = BASE_DIR / "frontend" / "dist"
WHITENOISE_ROOT = SPA_DIST_DIR if SPA_DIST_DIR.is_dir() else None
# Admin and Swagger UI assets are served straight from the installed apps, so a checkout
# works without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Where file bytes live (file_upload/storage.py) -------------------------------------------
# "local": FILES_DIR on this node's disk. "s3": a bucket of an S3-compatible object store
# (created when missing), path-style addressing, through django-storages + boto3. Several web
# nodes and workers need "s3" (or one FILES_DIR on a shared filesystem).
BIOFM_STORAGE = os.environ.get("BIOFM_STORAGE", "local").strip().lower() or "local"
if BIOFM_STORAGE not in ("local", "s3"):
    raise ValueError(f"BIOFM_STORAGE must be 'local' or 's3', not {BIOFM_STORAGE!r}")
BIOFM_S3_ENDPOINT = os.environ.get("BIOFM_S3_ENDPOINT", "")  # empty: AWS S3 itself
BIOFM_S3_BUCKET = os.environ.get("BIOFM_S3_BUCKET", "")
BIOFM_S3_ACCESS_KEY_ID = os.environ.get("BIOFM_S3_ACCESS_KEY_ID", "")
BIOFM_S3_SECRET_ACCESS_KEY = os.environ.get("BIOFM_S3_SECRET_ACCESS_KEY", "")
BIOFM_S3_REGION = os.environ.get("BIOFM_S3_REGION", "us-east-1")
# Part size of multipart writes (tus uploads and large copies); S3 needs at least 5 MiB.
BIOFM_S3_PART_BYTES = max(env_int("BIOFM_S3_PART_BYTES", 8 * 1024**2), 5 * 1024**2)
# Downloads (and signed links) of files of at least BIOFM_S3_PRESIGN_MIN_BYTES answer with a
# redirect to a presigned URL of the store instead of streaming the bytes through the web node.
BIOFM_S3_PRESIGN_DOWNLOADS = env_bool("BIOFM_S3_PRESIGN_DOWNLOADS")
BIOFM_S3_PRESIGN_MIN_BYTES = env_int("BIOFM_S3_PRESIGN_MIN_BYTES", 64 * 1024**2)
BIOFM_S3_PRESIGN_SECONDS = env_int("BIOFM_S3_PRESIGN_SECONDS", 300)  # lifetime of such a URL
if BIOFM_STORAGE == "s3" and not BIOFM_S3_BUCKET:
    raise ValueError("BIOFM_STORAGE=s3 needs BIOFM_S3_BUCKET")

# --- Uploads ---------------------------------------------------------------------------------
FILE_UPLOAD_HANDLERS = ["file_upload.upload_handlers.HashingFileUploadHandler"]
FILE_UPLOAD_TEMP_DIR = str(UPLOAD_TMP_DIR)
FILE_UPLOAD_PERMISSIONS = 0o640
BIOFM_MAX_UPLOAD_BYTES = env_int("BIOFM_MAX_UPLOAD_BYTES", 1024**4)
BIOFM_UPLOAD_EXPIRY_HOURS = env_int("BIOFM_UPLOAD_EXPIRY_HOURS", 24)
# A PATCH holds its upload's lease, renewed every third of this by a heartbeat while it works; a
# worker killed mid-PATCH frees the upload for the client's retry after at most this long.
BIOFM_UPLOAD_LEASE_SECONDS = env_int("BIOFM_UPLOAD_LEASE_SECONDS", 15)
# When tus upload bytes are forced to disk: "completion" (before the file is stored and
# reported complete), "chunk" (after every PATCH, at the disk's synchronous write speed) or
# "off" (leave it to the kernel, as nginx and tusd do).
BIOFM_UPLOAD_FSYNC = os.environ.get("BIOFM_UPLOAD_FSYNC", "completion")
# During a long PATCH the offset and the SHA-256 state are saved (after the bytes are synced)
# every this many bytes, so a worker killed mid-PATCH costs the client at most this much.
BIOFM_UPLOAD_CHECKPOINT_BYTES = env_int("BIOFM_UPLOAD_CHECKPOINT_BYTES", 256 * 1024**2)
# After the last byte the PATCH stores the file with the SHA-256 computed while the bytes
# arrived; when that is unknown (state lost) a Celery task hashes and stores it (the upload is
# "verifying"). One still "verifying", held by no live worker and last queued this long ago is
# queued again.
BIOFM_UPLOAD_FINALISE_STALE_SECONDS = env_int("BIOFM_UPLOAD_FINALISE_STALE_SECONDS", 120)
CELERY_BEAT_SCHEDULE["sweep-stale-finalisations"] = {
    "task": "file_upload.sweep_stale_finalisations",
    "schedule": 60.0,
}
BIOFM_USER_QUOTA_BYTES = env_int("BIOFM_USER_QUOTA_BYTES", 0)  # 0: no per-user quota
# Retention: a trashed file is purged this many days after its deletion unless its project
# sets retention_days. Purging may overwrite the bytes first (local spinning disks only: SSDs
# and object stores keep old blocks or versions, so there it proves nothing).
BIOFM_TRASH_RETENTION_DAYS = env_int("BIOFM_TRASH_RETENTION_DAYS", 30)
BIOFM_PURGE_OVERWRITE_PASSES = env_int("BIOFM_PURGE_OVERWRITE_PASSES", 0)
CELERY_BEAT_SCHEDULE["purge-trash"] = {"task": "file_upload.purge_trash", "schedule": 24 * 3600.0}
BIOFM_SIGNED_URL_MAX_SECONDS = env_int("BIOFM_SIGNED_URL_MAX_SECONDS", 7 * 24 * 3600)
# Behind nginx: answer downloads with X-Accel-Redirect to this internal location + storage key.
BIOFM_DOWNLOAD_ACCEL_PREFIX = os.environ.get("BIOFM_DOWNLOAD_ACCEL_PREFIX", "")
BIOFM_PORT = env_int("BIOFM_PORT", 8000)
# Prometheus may scrape /metrics with "Authorization: Bearer <this>" (staff sessions/tokens always can).
BIOFM_METRICS_TOKEN = os.environ.get("BIOFM_METRICS_TOKEN", "")

# --- REST framework --------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous API call then gets 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "file_project.parsers.BoundedJSONParser",  # nesting bounded (400, not a RecursionError)
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "file_project.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "file_project.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["file_project.throttling.ScopedThrottle"],
    "DEFAULT_SCHEMA_CLASS": "file_project.schema.ApiAutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "BioFileManager API",
    "DESCRIPTION": "Sequencing data workspace: projects, folders, files with biological metadata.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # file_project/schema.py: HEAD and OPTIONS where a protocol lives in them (tus).
    "DEFAULT_GENERATOR_CLASS": "file_project.schema.ApiSchemaGenerator",
    # Request bodies are documented as JSON (form encodings are still parsed, for curl -F); the
    # multipart upload and tus declare their own media types.
    "PARSER_WHITELIST": ["file_project.parsers.BoundedJSONParser", "rest_framework.parsers.JSONParser"],
    # One name per choice set: the SPA's generated types (frontend/src/api/schema.d.ts) use them.
    "ENUM_NAME_OVERRIDES": {
        "AccessLevelEnum": "file_upload.models.AccessLevel",
        "NodeAccessLevelEnum": "file_upload.models.NodeAccessLevel",
        "ObjectTypeEnum": "file_upload.serializers.OBJECT_TYPES",
        "SubjectKindEnum": [("user", "user"), ("group", "group")],
        "ActionEnum": "file_upload.serializers.MY_PERMISSIONS",
        "MetadataFieldNameEnum": "file_upload.metadata.METADATA_FIELD_NAMES",
        "NcbiImportKindEnum": "ncbi_bridge.models.ImportKind",
        "PublicationStatusEnum": "cellxgene_bridge.models.PublicationStatus",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("BIOFM_LOG_LEVEL", "INFO")},
}

# --- Format statistics (file_upload/parsers) -------------------------------------------------
# Past either budget a parser stops and its stats say "truncated": true, "bytes_covered": N
# (0 bytes = no limit). A parse still "running" after BIOFM_PARSE_STALE_SECONDS is taken for a
# dead worker's and re-queued by the sweep, as is a "pending" one never started within
# BIOFM_PARSE_PENDING_SECONDS. BIOFM_EXTRA_PARSERS: dotted paths of extra parser classes.
BIOFM_PARSE_MAX_SECONDS = env_int("BIOFM_PARSE_MAX_SECONDS", 3600)
BIOFM_PARSE_MAX_BYTES = env_int("BIOFM_PARSE_MAX_BYTES", 0)
BIOFM_PARSE_STALE_SECONDS = env_int("BIOFM_PARSE_STALE_SECONDS", 2 * BIOFM_PARSE_MAX_SECONDS or 3600)
BIOFM_PARSE_PENDING_SECONDS = env_int("BIOFM_PARSE_PENDING_SECONDS", 600)
BIOFM_EXTRA_PARSERS = env_list("BIOFM_EXTRA_PARSERS", "")
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BEAT_SCHEDULE["sweep-stale-parses"] = {"task": "file_upload.sweep_stale_parses", "schedule": 300.0}

# --- Search (file_upload/search/) ------------------------------------------------------------
# BIOFM_SEARCH_BACKEND: "tantivy" (the node's on-disk index, kept by `manage.py
# search_index_writer`) or "sql".
# Whatever the backend, a request the index cannot answer exactly and fresh is answered by SQL.
BIOFM_SEARCH_BACKEND = os.environ.get("BIOFM_SEARCH_BACKEND", "tantivy")
BIOFM_SEARCH_INDEX_DIR = Path(os.environ.get("BIOFM_SEARCH_INDEX_DIR") or DATA_DIR / "search-index").resolve()
# The index in this many shards (files by id), each searched on its own core side by side with
# the others: a search that matches many files counts them in less time where a core is free.
# 1 on two cores (the page takes the second one; decision 0027); more for ten million files or
# more cores per search. Changing it rebuilds the index (start_services.sh does).
BIOFM_SEARCH_SHARDS = max(1, env_int("BIOFM_SEARCH_SHARDS", 1))
# How long a request waits for the writer to apply writes it can see before SQL answers it.
BIOFM_SEARCH_FRESHNESS_WAIT = float(os.environ.get("BIOFM_SEARCH_FRESHNESS_WAIT", "1.0"))
# A search (the file list's first pages) does not wait when the index lacks at most this many
# changes the request can see: it answers from the index for every other file and reads the
# changed files from SQL. 0: always wait for the writer.
BIOFM_SEARCH_OVERLAY_CHANGES = env_int("BIOFM_SEARCH_OVERLAY_CHANGES", 1000)
# Counts and facets each web process keeps for the index's latest commit (the same search's next
# page, another ordering, a facet toggled back): exact, as a commit's answer never changes, and
# dropped at the next commit. 0: none kept.
BIOFM_SEARCH_ANSWER_CACHE = env_int("BIOFM_SEARCH_ANSWER_CACHE", 256)
# The writer's longest pause between passes over the change feed (seconds); on PostgreSQL it
# starts a pass as soon as a change commits (the feed trigger's notification).
BIOFM_SEARCH_COMMIT_INTERVAL = float(os.environ.get("BIOFM_SEARCH_COMMIT_INTERVAL", "0.2"))
# Requests apply the feed themselves (tests, single-process development); a deployment runs the writer.
BIOFM_SEARCH_INLINE_WRITER = env_bool("BIOFM_SEARCH_INLINE_WRITER", False)
# Each web process brings the index into the page cache as it starts (its columns read through,
# its postings read ahead: ``engine.preload``), so the first searches after a reboot do not wait
# on the disk. Off where memory is short and the index is large.
BIOFM_SEARCH_PRELOAD = env_bool("BIOFM_SEARCH_PRELOAD", True)
# Change-feed rows older than BIOFM_SEARCH_CHANGE_RETENTION seconds are pruned hourly; a writer
# whose index position is older than half that rebuilds the index.
BIOFM_SEARCH_CHANGE_RETENTION = env_int("BIOFM_SEARCH_CHANGE_RETENTION", 24 * 3600)
CELERY_BEAT_SCHEDULE["prune-search-changes"] = {"task": "file_upload.prune_search_changes", "schedule": 3600.0}

# --- Cellxgene viewers (cellxgene_bridge) ----------------------------------------------------
# Published copies go to CELLXGENE_DATA_DIR/<file id>__<name>.h5ad. Each published dataset gets a
# viewer of its own (cellxgene 1.3.0 from its own venv, scripts/install_cellxgene.sh) on a port
# of CELLXGENE_PORT_RANGE ("first-last"; a port another program holds is skipped), bound to
# CELLXGENE_HOST (the address the proxy reaches; on a worker node, that node's address). At most
# CELLXGENE_MAX_VIEWERS run at once and, measured, CELLXGENE_MAX_TOTAL_RSS_MB together: the
# least recently used one stops to make room. A viewer over CELLXGENE_MAX_RSS_MB stops; one
# unused for CELLXGENE_IDLE_SECONDS stops (the watchdog: cellxgene's stale rules, run every
# minute by background.sweep). A stopped or crashed viewer starts again on the next request for
# it (CELLXGENE_AUTO_RESTART). Each viewer logs to CELLXGENE_LOG_DIR/publication-<id>.log.
CELLXGENE_DATA_DIR = Path(
    os.environ.get("CELLXGENE_DATA_DIR")
    or (Path(os.environ["BIOFM_DATA_DIR"]) / "cellxgene_data" if os.environ.get("BIOFM_DATA_DIR") else None)
    or BASE_DIR / "cellxgene_data"
).resolve()
CELLXGENE_HOST = os.environ.get("CELLXGENE_HOST", "127.0.0.1")
CELLXGENE_PORT_RANGE = os.environ.get("CELLXGENE_PORT_RANGE", "5005-5024")
CELLXGENE_MAX_VIEWERS = env_int("CELLXGENE_MAX_VIEWERS", 4)
CELLXGENE_MAX_RSS_MB = env_int("CELLXGENE_MAX_RSS_MB", 4096)
CELLXGENE_MAX_TOTAL_RSS_MB = env_int("CELLXGENE_MAX_TOTAL_RSS_MB", 8192)
CELLXGENE_IDLE_SECONDS = env_int("CELLXGENE_IDLE_SECONDS", 3600)
CELLXGENE_CMD = os.environ.get("CELLXGENE_CMD") or str(BASE_DIR / ".venv-cellxgene" / "bin" / "cellxgene")
CELLXGENE_LOG_DIR = Path(os.environ.get("CELLXGENE_LOG_DIR") or BIOFM_LOG_DIR / "cellxgene").resolve()
CELLXGENE_AUTO_RESTART = env_bool("CELLXGENE_AUTO_RESTART", True)
CELLXGENE_READY_TIMEOUT = env_int("CELLXGENE_READY_TIMEOUT", 600)
# User annotations are off (--disable-annotations): a viewer serves everyone who may see the
# file, and cellxgene would ask each of them for a directory name and write their labels as CSV
# files on the server. CELLXGENE_ANNOTATIONS=1 turns them on, into CELLXGENE_DATA_DIR/annotations/.
CELLXGENE_ANNOTATIONS = env_bool("CELLXGENE_ANNOTATIONS", False)
CELLXGENE_EXTRA_ARGS = env_list("CELLXGENE_EXTRA_ARGS", "")
# A publication still in progress this long after CELLXGENE_READY_TIMEOUT lost its worker.
CELLXGENE_STALE_PUBLICATION_SECONDS = env_int("CELLXGENE_STALE_PUBLICATION_SECONDS", 1800)

# --- NCBI bridge (ncbi_bridge) ----------------------------------------------------------------
# E-utilities and ENA endpoints (tests point them at a local fake), the identity NCBI asks every
# client to send (tool, email, api_key), and the limits. Requests to E-utilities are spaced by a
# limiter shared by all processes (Redis when REDIS_URL is set, else the database):
# NCBI_REQUESTS_PER_SECOND, 0 = NCBI's published limit (3/s, 10/s with an API key).
NCBI_EUTILS_BASE = os.environ.get("NCBI_EUTILS_BASE") or "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
NCBI_API_KEY = os.environ.get("NCBI_API_KEY", "")
NCBI_EMAIL = os.environ.get("NCBI_EMAIL", "")
NCBI_TOOL = os.environ.get("NCBI_TOOL") or "biofilemanager"
NCBI_REQUESTS_PER_SECOND = float(os.environ.get("NCBI_REQUESTS_PER_SECOND") or 0)
NCBI_SRA_MAX_BYTES = env_int("NCBI_SRA_MAX_BYTES", 1024**3)
ENA_PORTAL_BASE = os.environ.get("ENA_PORTAL_BASE") or "https://www.ebi.ac.uk/ena/portal/api"
NCBI_SRA_READS_BASE = (
    os.environ.get("NCBI_SRA_READS_BASE") or "https://trace.ncbi.nlm.nih.gov/Traces/sra-reads-be/fastq"
)
NCBI_TIMEOUT_SECONDS = float(os.environ.get("NCBI_TIMEOUT_SECONDS") or 30)
NCBI_DOWNLOAD_TIMEOUT_SECONDS = float(os.environ.get("NCBI_DOWNLOAD_TIMEOUT_SECONDS") or 120)
NCBI_MAX_RETRIES = env_int("NCBI_MAX_RETRIES", 4)
# An SRA download whose progress has not moved for this long lost its worker: the sweep marks it
# failed and importing the same record again starts afresh.
NCBI_IMPORT_STALE_SECONDS = env_int("NCBI_IMPORT_STALE_SECONDS", 900)
NCBI_RETRY_BACKOFF_SECONDS = float(os.environ.get("NCBI_RETRY_BACKOFF_SECONDS") or 1.0)
NCBI_MAX_RETRY_AFTER_SECONDS = float(os.environ.get("NCBI_MAX_RETRY_AFTER_SECONDS") or 60)

# --- Analysis gateway (ml_interface) ----------------------------------------------------------
# QC thresholds: per format and metric, "better" says which way is good; a value past "warn" is a
# warning, past "fail" a failure. BIOFM_QC_THRESHOLDS (JSON, same shape) overrides single entries.
BIOFM_QC_THRESHOLDS: dict = {
    "fastq": {
        "mean_quality": {"warn": 28, "fail": 20, "better": "higher"},
        "q30_rate": {"warn": 75, "fail": 60, "better": "higher"},
        "n_rate": {"warn": 1, "fail": 5, "better": "lower"},
        "length_spread": {"warn": 10, "fail": 50, "better": "lower"},
        "quality_drop": {"warn": 5, "fail": 10, "better": "lower"},
    },
    "bam": {
        "mapping_rate": {"warn": 90, "fail": 70, "better": "higher"},
        "duplicate_rate": {"warn": 20, "fail": 50, "better": "lower"},
        "properly_paired_rate": {"warn": 90, "fail": 70, "better": "higher"},
    },
    "vcf": {
        "ts_tv": {"warn": 1.8, "fail": 1.2, "better": "higher"},
        "het_hom_ratio": {"warn": 2.5, "fail": 4.0, "better": "lower"},
        "missing_genotype_rate": {"warn": 5, "fail": 10, "better": "lower"},
        "pass_rate": {"warn": 80, "fail": 50, "better": "higher"},
    },
}
for _kind, _metrics in json.loads(os.environ.get("BIOFM_QC_THRESHOLDS") or "{}").items():
    for _metric, _spec in _metrics.items():
        BIOFM_QC_THRESHOLDS.setdefault(_kind, {}).setdefault(_metric, {}).update(_spec)
BIOFM_QC_MAX_VCF_RECORDS = env_int("BIOFM_QC_MAX_VCF_RECORDS", 200_000)
# autotag: suggestions at or above this confidence are written by params.apply=true.
BIOFM_AUTOTAG_MIN_CONFIDENCE = float(os.environ.get("BIOFM_AUTOTAG_MIN_CONFIDENCE") or 0.8)
# embedding: "auto" (the all-MiniLM-L6-v2 model of requirements-ml.txt when installed, else LSA),
# "minilm" or "lsa".
BIOFM_EMBEDDING_BACKEND = os.environ.get("BIOFM_EMBEDDING_BACKEND", "auto")
# h5ad_vis loads the matrix into memory: files above this size are refused (0 = no limit).
BIOFM_H5AD_VIS_MAX_BYTES = env_int("BIOFM_H5AD_VIS_MAX_BYTES", 4 * 1024**3)
# A task still "running" this long is taken for a dead worker's and marked failed (sweep, hourly).
BIOFM_ML_STALE_SECONDS = env_int("BIOFM_ML_STALE_SECONDS", 6 * 3600)
# Replace a built-in handler ({task type: dotted class path}) or route a task type to the queue a
# worker elsewhere consumes ({task type: queue}); both JSON.
BIOFM_ML_HANDLERS: dict = json.loads(os.environ.get("BIOFM_ML_HANDLERS") or "{}")
BIOFM_ML_QUEUES: dict = json.loads(os.environ.get("BIOFM_ML_QUEUES") or "{}")
