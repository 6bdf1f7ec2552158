"""The E-utilities/ENA clients against the fake server: parameters, retries, validation, the
shared rate limiter."""

from __future__ import annotations

import io
import shutil
import socket
import subprocess
import threading
import time
import urllib.error

import pytest
from django.db import connection

from ncbi_bridge import services
from ncbi_bridge.clients import (
    ChecksumMismatch,
    EnaClient,
    EutilsClient,
    MemorySlotStore,
    NcbiBadResponse,
    NcbiConfig,
    NcbiNotFound,
    NcbiUnavailable,
    RateLimiter,
    RedisSlotStore,
    SizeLimitExceeded,
    parse_runinfo,
    retry_after_seconds,
    unreachable_reason,
)


def config_for(fake, **extra) -> NcbiConfig:
    values = {
        "eutils_base": fake.eutils_base,
        "ena_portal_base": fake.ena_base,
        "sra_reads_base": fake.reads_base,
        "email": "lab@example.org",
        "backoff": 0.01,
        "max_retries": 3,
        "timeout": 5,
        "requests_per_second": 1000,
    }
    values.update(extra)
    return NcbiConfig(**values)


class TestEutilsCalls:
    def test_every_call_carries_tool_email_and_key(self, fake_ncbi):
        client = EutilsClient(config_for(fake_ncbi, api_key="k3y"))
        client.esearch("sra", "SRR25056225")
        client.esummary("gene", "7157")
        client.efetch("protein", "NP_000537.3", "fasta")
        assert len(fake_ncbi.requests) == 3
        for _, _, query in fake_ncbi.requests:
            assert query["tool"] == "biofilemanager"
            assert query["email"] == "lab@example.org"
            assert query["api_key"] == "k3y"

    def test_no_key_means_no_api_key_parameter_and_three_per_second(self, fake_ncbi):
        config = config_for(fake_ncbi, requests_per_second=0)
        assert config.rate == 3
        assert config_for(fake_ncbi, requests_per_second=0, api_key="x").rate == 10
        EutilsClient(config_for(fake_ncbi)).esummary("gene", "7157")
        assert "api_key" not in fake_ncbi.requests[0][2]

    def test_429_honours_retry_after(self, fake_ncbi):
        fake_ncbi.fail_next("esummary.fcgi", 429)
        slept: list[float] = []
        client = EutilsClient(config_for(fake_ncbi, backoff=0.01), sleep=lambda s: (slept.append(s), time.sleep(s)))
        assert client.esummary("gene", "7157")["7157"]["name"] == "TP53"
        calls = fake_ncbi.calls("esummary.fcgi")
        assert len(calls) == 2
        assert slept == [1.0]  # Retry-After: 1, not the 0.01 s backoff
        assert calls[1][0] - calls[0][0] >= 0.95

    def test_500_then_success(self, fake_ncbi):
        fake_ncbi.fail_next("efetch.fcgi", 500, 503)
        text = EutilsClient(config_for(fake_ncbi)).efetch("protein", "NP_000537.3", "fasta")
        assert text.startswith(">NP_000537.3 cellular tumor antigen p53")
        assert len(fake_ncbi.calls("efetch.fcgi")) == 3

    def test_gives_up_after_the_retries(self, fake_ncbi):
        fake_ncbi.fail_next("esummary.fcgi", 500, 500, 500, 500)
        with pytest.raises(NcbiUnavailable, match="gave up after 4 attempts"):
            EutilsClient(config_for(fake_ncbi)).esummary("gene", "7157")

    def test_cannot_get_document_summary_is_not_found(self, fake_ncbi):
        with pytest.raises(NcbiNotFound, match="cannot get document summary"):
            EutilsClient(config_for(fake_ncbi)).esummary("gene", "999999999")

    def test_esearch_count_zero_is_not_found(self, fake_ncbi):
        with pytest.raises(NcbiNotFound, match="no sra record"):
            EutilsClient(config_for(fake_ncbi)).esearch("sra", "SRR0000000")

    def test_efetch_error_and_empty_bodies_are_rejected(self, fake_ncbi):
        client = EutilsClient(config_for(fake_ncbi))
        with pytest.raises(NcbiNotFound, match="Error: F a i l e d"):
            client.efetch("protein", "NP_999999.1", "fasta")
        with pytest.raises(NcbiNotFound, match="returned nothing"):
            client.efetch("pubmed", "1", "abstract")

    def test_unknown_page_is_not_found(self, fake_ncbi):
        client = EutilsClient(config_for(fake_ncbi, eutils_base=f"{fake_ncbi.url}/ena/portal/api"))
        with pytest.raises(NcbiNotFound):  # the fake answers 404 for an unknown page
            client.esummary("gene", "7157")

    def test_unreachable_server(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        config = NcbiConfig(eutils_base=f"http://127.0.0.1:{port}", backoff=0.001, max_retries=1, timeout=1)
        with pytest.raises(NcbiUnavailable, match="could not reach the server: it refused the connection") as refused:
            EutilsClient(config).esummary("gene", "7157")
        assert "Errno" not in str(refused.value)


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (socket.gaierror(-2, "Name or service not known"), "its address could not be looked up"),
        (urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution")), "looked up"),
        (urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")), "refused the connection"),
        (TimeoutError("timed out"), "did not answer in time"),
        (ConnectionResetError(104, "Connection reset by peer"), "cut off"),
        (OSError(101, "Network is unreachable"), "not reachable"),
    ],
)
def test_network_failures_are_told_in_words(error, words):
    reason = unreachable_reason(error)
    assert words in reason and "Errno" not in reason and "[" not in reason


def test_retry_after_forms():
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert retry_after_seconds("soon") is None


def test_runinfo_parsing(fake_ncbi):
    text = EutilsClient(config_for(fake_ncbi)).efetch("sra", ["28241758", "1400001"], "runinfo")
    rows = parse_runinfo(text)
    assert [r["Run"] for r in rows] == ["SRR25056225", "SRR1972976"]
    assert len(rows[0]) == 47 and rows[0]["LibraryLayout"] == "PAIRED"
    with pytest.raises(NcbiBadResponse):
        parse_runinfo("<html>oops</html>")


class TestEna:
    def test_file_report_uses_the_portal_scheme(self, fake_ncbi):
        files = EnaClient(config_for(fake_ncbi)).filereport("SRR25056225")
        assert [f.name for f in files] == ["SRR25056225_1.fastq.gz", "SRR25056225_2.fastq.gz"]
        assert files[0].url.startswith(f"http://{fake_ncbi.host}/vol1/fastq/SRR250/025/SRR25056225/")
        assert all(len(f.md5) == 32 and f.size for f in files)

    def test_not_mirrored_gives_no_rows(self, fake_ncbi):
        assert EnaClient(config_for(fake_ncbi)).filereport("SRR9990002") == []

    def test_download_verifies_md5(self, fake_ncbi):
        ena = EnaClient(config_for(fake_ncbi))
        good, bad = ena.filereport("SRR9990001")
        out = io.BytesIO()
        assert ena.download(good, out, max_bytes=0).size == good.size
        with pytest.raises(ChecksumMismatch, match="does not match"):
            ena.download(bad, io.BytesIO(), max_bytes=0)

    def test_download_stops_at_the_cap(self, fake_ncbi):
        ena = EnaClient(config_for(fake_ncbi))
        remote = ena.reads_fallback("SRR9990002")
        with pytest.raises(SizeLimitExceeded, match="grew past the limit of 100 bytes"):
            ena.download(remote, io.BytesIO(), max_bytes=100)
        listed = ena.filereport("SRR25056225")[0]
        with pytest.raises(SizeLimitExceeded):
            ena.download(listed, io.BytesIO(), max_bytes=10)
        assert not fake_ncbi.calls(listed.name)  # refused from the report's size, before any byte


class TestRateLimiter:
    def test_slots_are_spaced_with_a_fake_clock(self):
        now = [1000.0]
        waits: list[float] = []
        limiter = RateLimiter(MemorySlotStore(), rate=3, clock=lambda: now[0], sleep=waits.append)
        for _ in range(6):
            limiter.acquire()
        spacing = 1.05 / 3
        assert waits == pytest.approx([spacing * i for i in range(1, 6)])
        now[0] += 10  # idle: the next request goes at once
        waits.clear()
        limiter.acquire()
        assert waits == []

    @pytest.mark.django_db
    def test_database_store_books_consecutive_slots(self):
        store = services.DatabaseSlotStore()
        assert store.reserve("k", 0.5, 100.0) == 0
        assert store.reserve("k", 0.5, 100.0) == pytest.approx(0.5)
        assert store.reserve("k", 0.5, 100.1) == pytest.approx(0.9)
        assert store.reserve("other", 0.5, 100.0) == 0
        assert store.reserve("k", 0.5, 200.0) == 0

    @pytest.mark.django_db(transaction=True)
    def test_threads_with_separate_connections_share_the_limit(self, fake_ncbi, settings):
        """Two workers (threads, each its own DB connection) against a fake that answers 429
        above 3 requests per second: the shared limiter keeps them under it."""
        settings.NCBI_REQUESTS_PER_SECOND = 0  # NCBI's 3/s without a key
        fake_ncbi.enforce_rate = 3
        errors: list[BaseException] = []

        def work() -> None:
            try:
                client = services.eutils_client()
                for _ in range(4):
                    client.esummary("gene", "7157")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=work) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors
        times = sorted(t for t, path, _ in fake_ncbi.requests if path.endswith("esummary.fcgi"))
        assert len(times) == 8  # no 429 was answered, so no retry happened
        assert max(sum(1 for t in times if start <= t < start + 1) for start in times) <= 3

    def test_redis_store(self, tmp_path):
        server = shutil.which("redis-server")
        if server is None:
            pytest.skip("redis-server is not installed")
        import redis

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        proc = subprocess.Popen(
            [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            client = redis.Redis(port=port)
            for _ in range(50):
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.05)
            store = RedisSlotStore(client)
            waits = [store.reserve("biofm:test", 0.5, 0) for _ in range(3)]
            assert waits[0] == pytest.approx(0, abs=0.05)
            assert waits[1] == pytest.approx(0.5, abs=0.05)
            assert waits[2] == pytest.approx(1.0, abs=0.05)
            assert 0 < client.pttl("biofm:test") <= 2600
        finally:
            proc.terminate()
            proc.wait(timeout=10)
