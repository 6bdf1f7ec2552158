"""HTTP clients for NCBI E-utilities and the ENA portal (standard library only, no Django).

- ``EutilsClient``: ``esearch``/``esummary``/``efetch`` against ``NcbiConfig.eutils_base`` with
  ``tool``, ``email`` and ``api_key`` on every call; every call first takes a slot from a
  ``RateLimiter`` shared by all processes; 429 (honouring ``Retry-After``), 5xx and network
  errors are retried with exponential backoff; answers are validated by content (esummary
  ``error`` entries, empty or ``Error:`` efetch bodies, esearch envelopes).
- ``EnaClient``: the ENA ``filereport`` TSV and streamed FASTQ downloads with a byte cap
  (``download``), plus NCBI's SRA reads endpoint as the fallback source.
- ``RateLimiter`` spaces requests ``1/rate`` seconds apart through a ``SlotStore``: ``reserve``
  atomically books the next free slot and returns how long to wait for it.
  ``RedisSlotStore`` does it in one Lua script; ``MemorySlotStore`` serves single-process tests;
  the database store lives in ``services`` (it needs Django).

Errors: ``NcbiError`` > ``NcbiNotFound`` (no such record), ``NcbiUnavailable`` (retries
exhausted, network), ``NcbiBadResponse`` (an answer that is not what the API documents),
``DownloadError`` > ``SizeLimitExceeded``, ``ChecksumMismatch``.
"""

from __future__ import annotations

import csv
import email.utils
import hashlib
import io
import json
import logging
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol
from urllib.parse import urlencode, urlsplit

log = logging.getLogger(__name__)

USER_AGENT = "BioFileManager-ncbi-bridge/1.0"
CHUNK = 256 * 1024
RUNINFO_COLUMNS = 47


def unreachable_reason(exc: BaseException) -> str:
    """Why a server could not be reached, in words a person understands (never "[Errno -2]")."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        exc = reason
    if isinstance(exc, socket.gaierror):
        return "its address could not be looked up — this server may have no internet connection or no DNS"
    if isinstance(exc, ConnectionRefusedError):
        return "it refused the connection"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "it did not answer in time"
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return "the connection was cut off"
    if isinstance(exc, ssl.SSLError):
        return "the secure connection could not be set up"
    if isinstance(exc, OSError) and exc.errno is not None:
        return "the network is not reachable from this server"
    return "the network failed"


class NcbiError(Exception):
    """Base of the bridge's errors; ``str(exc)`` is a sentence for the user."""

    code = "ncbi_error"


class NcbiNotFound(NcbiError):
    code = "ncbi_not_found"


class NcbiUnavailable(NcbiError):
    code = "ncbi_unavailable"


class NcbiBadResponse(NcbiError):
    code = "ncbi_bad_response"


class DownloadError(NcbiError):
    code = "download_failed"


class SizeLimitExceeded(DownloadError):
    code = "too_large"


class ChecksumMismatch(DownloadError):
    code = "checksum_mismatch"


@dataclass
class NcbiConfig:
    eutils_base: str = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
    api_key: str = ""
    email: str = ""
    tool: str = "biofilemanager"
    ena_portal_base: str = "https://www.ebi.ac.uk/ena/portal/api"
    sra_reads_base: str = "https://trace.ncbi.nlm.nih.gov/Traces/sra-reads-be/fastq"
    timeout: float = 30.0
    download_timeout: float = 120.0
    max_retries: int = 4
    backoff: float = 1.0
    max_retry_after: float = 60.0
    requests_per_second: float = 0.0  # 0: 10 with an API key, else 3 (NCBI's published limits)

    @property
    def rate(self) -> float:
        if self.requests_per_second > 0:
            return self.requests_per_second
        return 10.0 if self.api_key else 3.0


# --- rate limiting --------------------------------------------------------------------------


class SlotStore(Protocol):
    def reserve(self, key: str, interval: float, now: float) -> float:
        """Book the next free slot for ``key`` (slots ``interval`` apart); return the seconds
        until it starts (0 when free now)."""


class MemorySlotStore:
    """One process only: for tests and scripts."""

    def __init__(self) -> None:
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def reserve(self, key: str, interval: float, now: float) -> float:
        with self._lock:
            slot = max(now, self._next.get(key, 0.0))
            self._next[key] = slot + interval
            return slot - now


# GCRA in one round trip: read the next free time, book it, return the wait. Redis's own clock
# (TIME) is the reference, so workers on machines with skewed clocks still agree.
_RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, nxt)
local ttl = math.ceil((slot + interval - now) * 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.6f', slot + interval), 'PX', ttl)
return string.format('%.6f', slot - now)
"""


class RedisSlotStore:
    def __init__(self, redis_client: Any) -> None:
        self._redis = redis_client
        self._script = redis_client.register_script(_RESERVE_LUA)

    def reserve(self, key: str, interval: float, now: float) -> float:
        return float(self._script(keys=[key], args=[f"{interval:.6f}"]))


class RateLimiter:
    """At most ``rate`` requests per second for everyone sharing ``store`` and ``key``."""

    # A 5 % margin: slots exactly 1/rate apart can put rate+1 requests into one closed second.
    MARGIN = 1.05

    def __init__(
        self,
        store: SlotStore,
        rate: float,
        key: str = "biofm:ncbi:eutils",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.rate = rate
        self.key = key
        self.clock = clock
        self.sleep = sleep

    @property
    def interval(self) -> float:
        return self.MARGIN / self.rate

    def acquire(self) -> float:
        wait = self.store.reserve(self.key, self.interval, self.clock())
        if wait > 0:
            self.sleep(wait)
        return wait


# --- HTTP -----------------------------------------------------------------------------------


@dataclass
class HttpAnswer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


class _Http:
    """GET with retries on 429/5xx/network errors; one limiter slot per attempt."""

    def __init__(
        self,
        config: NcbiConfig,
        limiter: RateLimiter | None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.limiter = limiter
        self.sleep = sleep

    def open(self, url: str, timeout: float) -> Any:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
        return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (http/https only)

    def get(self, url: str, *, what: str, stream: bool = False, limited: bool = True) -> Any:
        """The body (bytes), or with ``stream`` the open response; raises ``NcbiNotFound`` on
        404/400 and ``NcbiUnavailable`` once retries are exhausted."""
        attempts = max(1, self.config.max_retries + 1)
        last_problem = ""
        for attempt in range(attempts):
            if limited and self.limiter is not None:
                self.limiter.acquire()
            delay = self.config.backoff * (2**attempt)
            try:
                response = self.open(url, self.config.download_timeout if stream else self.config.timeout)
                if stream:
                    return response
                with response:
                    return response.read()
            except urllib.error.HTTPError as exc:
                body = exc.read()[:500].decode("utf-8", "replace")
                exc.close()
                if exc.code == 429:
                    honoured = retry_after_seconds(exc.headers.get("Retry-After"))
                    if honoured is not None:
                        delay = min(max(honoured, 0.0), self.config.max_retry_after)
                    last_problem = "NCBI asked us to slow down (HTTP 429)"
                elif exc.code >= 500:
                    last_problem = f"the server answered HTTP {exc.code}"
                elif exc.code in (400, 404, 410):
                    raise NcbiNotFound(f"{what}: not found (HTTP {exc.code}). {body.strip()[:200]}".strip()) from exc
                else:
                    raise NcbiUnavailable(f"{what}: the server refused the request (HTTP {exc.code}).") from exc
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                last_problem = f"could not reach the server: {unreachable_reason(exc)}"
            if attempt + 1 < attempts:
                log.info("%s: %s; retry %d in %.1fs", what, last_problem, attempt + 1, delay)
                self.sleep(delay)
        raise NcbiUnavailable(f"{what}: {last_problem}; gave up after {attempts} attempts.")


# --- E-utilities ----------------------------------------------------------------------------


class EutilsClient:
    def __init__(
        self,
        config: NcbiConfig,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.http = _Http(config, limiter, sleep)

    def url(self, endpoint: str, params: dict[str, Any]) -> str:
        query = {k: v for k, v in params.items() if v not in (None, "")}
        query["tool"] = self.config.tool
        if self.config.email:
            query["email"] = self.config.email
        if self.config.api_key:
            query["api_key"] = self.config.api_key
        return f"{self.config.eutils_base.rstrip('/')}/{endpoint}?{urlencode(query)}"

    def _json(self, endpoint: str, params: dict[str, Any], what: str) -> dict[str, Any]:
        body = self.http.get(self.url(endpoint, {**params, "retmode": "json"}), what=what)
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise NcbiBadResponse(f"{what}: NCBI sent something that is not JSON.") from exc
        if not isinstance(data, dict):
            raise NcbiBadResponse(f"{what}: NCBI sent an unexpected answer.")
        if isinstance(data.get("error"), str):
            raise NcbiBadResponse(f"{what}: NCBI reported “{data['error']}”.")
        return data

    def esearch(self, db: str, term: str, retmax: int = 500) -> list[str]:
        what = f"Searching {db} for {term}"
        data = self._json("esearch.fcgi", {"db": db, "term": term, "retmax": retmax}, what)
        result = data.get("esearchresult")
        if not isinstance(result, dict) or "idlist" not in result:
            raise NcbiBadResponse(f"{what}: the answer has no esearchresult.")
        if result.get("ERROR"):
            raise NcbiBadResponse(f"{what}: NCBI reported “{result['ERROR']}”.")
        ids = [str(uid) for uid in result.get("idlist") or []]
        if str(result.get("count", "0")) == "0" or not ids:
            raise NcbiNotFound(f"NCBI has no {db} record for {term}.")
        return ids

    def esummary(self, db: str, ids: list[str] | str) -> dict[str, dict[str, Any]]:
        id_list = [ids] if isinstance(ids, str) else list(ids)
        what = f"Reading the {db} summary of {', '.join(id_list)}"
        data = self._json("esummary.fcgi", {"db": db, "id": ",".join(id_list)}, what)
        result = data.get("result")
        if not isinstance(result, dict):
            raise NcbiBadResponse(f"{what}: the answer has no result.")
        uids = [str(uid) for uid in result.get("uids") or []]
        records: dict[str, dict[str, Any]] = {}
        for uid in uids:
            record = result.get(uid)
            if not isinstance(record, dict):
                continue
            if record.get("error"):
                continue  # "cannot get document summary": the uid does not exist
            records[uid] = record
        if not records:
            errors = [result[u].get("error") for u in uids if isinstance(result.get(u), dict)]
            reason = f" ({errors[0]})" if errors and errors[0] else ""
            raise NcbiNotFound(f"NCBI has no {db} record {', '.join(id_list)}{reason}.")
        return records

    def efetch(self, db: str, ids: list[str] | str, rettype: str, retmode: str = "text") -> str:
        id_list = [ids] if isinstance(ids, str) else list(ids)
        what = f"Fetching {db} {', '.join(id_list)} ({rettype})"
        body = self.http.get(
            self.url("efetch.fcgi", {"db": db, "id": ",".join(id_list), "rettype": rettype, "retmode": retmode}),
            what=what,
        )
        text = body.decode("utf-8", "replace")
        stripped = text.strip()
        if not stripped:
            raise NcbiNotFound(f"NCBI returned nothing for {db} {', '.join(id_list)}.")
        if stripped.startswith("Error") or stripped.startswith("<ERROR>") or '"error"' in stripped[:200]:
            first_line = stripped.splitlines()[0][:200]
            raise NcbiNotFound(f"NCBI could not fetch {db} {', '.join(id_list)}: {first_line}")
        return text


def parse_runinfo(text: str) -> list[dict[str, str]]:
    """The runinfo CSV as one dict per run; validates the 47-column header."""
    reader = csv.reader(io.StringIO(text.strip()))
    rows = [row for row in reader if row and any(cell.strip() for cell in row)]
    if not rows or rows[0][:1] != ["Run"]:
        raise NcbiBadResponse("The SRA run info is not the expected CSV (no Run column).")
    header = rows[0]
    if len(header) != RUNINFO_COLUMNS:
        log.warning("SRA runinfo has %d columns, expected %d", len(header), RUNINFO_COLUMNS)
    # NCBI repeats the header between batches of runs.
    return [dict(zip(header, row, strict=False)) for row in rows[1:] if row[:1] != ["Run"]]


# --- ENA / FASTQ ----------------------------------------------------------------------------


@dataclass
class RemoteFile:
    run: str
    url: str
    name: str
    md5: str = ""
    size: int | None = None


@dataclass
class Downloaded:
    size: int
    md5: str
    sha256: str


class EnaClient:
    FIELDS = "run_accession,fastq_ftp,fastq_md5,fastq_bytes"

    def __init__(self, config: NcbiConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.http = _Http(config, None, sleep)

    @property
    def scheme(self) -> str:
        return urlsplit(self.config.ena_portal_base).scheme or "https"

    def filereport(self, accession: str) -> list[RemoteFile]:
        """The FASTQ files ENA mirrors for a run, experiment, study or project (empty when none)."""
        query = urlencode({"accession": accession, "result": "read_run", "fields": self.FIELDS, "format": "tsv"})
        url = f"{self.config.ena_portal_base.rstrip('/')}/filereport?{query}"
        try:
            body = self.http.get(url, what=f"Asking ENA for the FASTQ files of {accession}", limited=False)
        except NcbiNotFound:
            return []  # ENA answers 204/400/404 for accessions it does not (yet) mirror
        lines = [line for line in body.decode("utf-8", "replace").splitlines() if line.strip()]
        if not lines:
            return []
        header = lines[0].split("\t")
        if "run_accession" not in header or "fastq_ftp" not in header:
            raise NcbiBadResponse("ENA's file report does not have the expected columns.")
        files: list[RemoteFile] = []
        for line in lines[1:]:
            row = dict(zip(header, line.split("\t"), strict=False))
            paths = [p for p in (row.get("fastq_ftp") or "").split(";") if p]
            md5s = (row.get("fastq_md5") or "").split(";")
            sizes = (row.get("fastq_bytes") or "").split(";")
            for index, path in enumerate(paths):
                size_text = sizes[index].strip() if index < len(sizes) else ""
                files.append(
                    RemoteFile(
                        run=row.get("run_accession", ""),
                        # The report's paths carry no scheme: use ENA_PORTAL_BASE's.
                        url=path if "://" in path else f"{self.scheme}://{path}",
                        name=path.rsplit("/", 1)[-1],
                        md5=(md5s[index].strip().lower() if index < len(md5s) else ""),
                        size=int(size_text) if size_text.isdigit() else None,
                    )
                )
        return files

    def reads_fallback(self, run: str) -> RemoteFile:
        """NCBI's SRA reads endpoint: one gzipped FASTQ (paired runs interleaved), no checksum."""
        return RemoteFile(
            run=run, url=f"{self.config.sra_reads_base}?{urlencode({'acc': run})}", name=f"{run}.fastq.gz"
        )

    def download(
        self,
        remote: RemoteFile,
        out: BinaryIO,
        *,
        max_bytes: int,
        on_progress: Callable[[int], None] | None = None,
    ) -> Downloaded:
        """Stream ``remote`` into ``out``; stop past ``max_bytes``; verify size and MD5."""
        if remote.size is not None and max_bytes and remote.size > max_bytes:
            raise SizeLimitExceeded(f"{remote.name} is {remote.size} bytes, more than the limit of {max_bytes} bytes.")
        response = self.http.get(remote.url, what=f"Downloading {remote.name}", stream=True, limited=False)
        md5 = hashlib.md5(usedforsecurity=False)
        sha = hashlib.sha256()
        size = 0
        try:
            while chunk := response.read(CHUNK):
                size += len(chunk)
                if max_bytes and size > max_bytes:
                    raise SizeLimitExceeded(f"{remote.name} grew past the limit of {max_bytes} bytes; stopped.")
                out.write(chunk)
                md5.update(chunk)
                sha.update(chunk)
                if on_progress is not None:
                    on_progress(len(chunk))
        except OSError as exc:  # timeouts and resets while streaming
            raise DownloadError(f"Downloading {remote.name} broke off: {unreachable_reason(exc)}.") from exc
        finally:
            response.close()
        if remote.size is not None and size != remote.size:
            raise DownloadError(f"{remote.name}: got {size} bytes, ENA lists {remote.size}.")
        if remote.md5 and md5.hexdigest() != remote.md5:
            raise ChecksumMismatch(
                f"{remote.name}: MD5 {md5.hexdigest()} does not match ENA's {remote.md5}; the file was discarded."
            )
        return Downloaded(size=size, md5=md5.hexdigest(), sha256=sha.hexdigest())
