"""Concurrent clients (asyncio + aiohttp) doing what lab members do: list files, faceted search,
read a file's metadata, download a small file, upload a small file with tus, create and fetch a
signed link. Each client is a closed loop with a think time between operations; every loop is
bounded by a deadline and a request count, and only 127.0.0.1 is ever contacted.

Reports per level: success rate, mean/p50/p95/p99 latency of every HTTP request, requests/s,
operations by kind and errors by kind.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import time
import uuid
from collections import Counter
from urllib.parse import urlsplit

import aiohttp

from performance_test_project.common import HOST, tus_metadata

# Operation mix (weights): reads dominate, as in a lab's day.
MIX = {
    "list": 25,
    "facets": 20,
    "metadata": 20,
    "download": 15,
    "tus_upload": 10,
    "signed_url": 10,
}
UPLOAD_BYTES = 32 * 1024


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


class Recorder:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.ok = 0
        self.failed = 0
        self.errors: Counter[str] = Counter()
        self.ops: Counter[str] = Counter()
        self.by_request: dict[str, list[float]] = {}

    def add(self, latency: float, error: str | None, kind: str = "") -> None:
        self.latencies.append(latency)
        self.by_request.setdefault(kind, []).append(latency)
        if error is None:
            self.ok += 1
        else:
            self.failed += 1
            self.errors[error] += 1


class Client:
    def __init__(self, session: aiohttp.ClientSession, base: str, token: str, project: int, file_ids: list[int],
                 rec: Recorder, rng: random.Random) -> None:  # fmt: skip
        self.session, self.base, self.project, self.file_ids = session, base, project, file_ids
        self.auth = {"Authorization": f"Token {token}"}
        self.rec, self.rng = rec, rng

    async def call(
        self, method: str, path: str, expect: tuple[int, ...] = (200,), auth: bool = True, **kwargs
    ) -> aiohttp.ClientResponse:
        """One request, timed from send to the last body byte; raises after recording a failure."""
        headers = {**(self.auth if auth else {}), **kwargs.pop("headers", {})}
        kind = f"{method} {kwargs.pop('kind', '')}".strip()
        started = time.perf_counter()
        try:
            async with self.session.request(method, self.base + path, headers=headers, **kwargs) as response:
                body = await response.read()
                latency = time.perf_counter() - started
                if response.status not in expect:
                    self.rec.add(latency, f"HTTP {response.status}", kind)
                    raise OperationFailed()
                self.rec.add(latency, None, kind)
                response.body = body  # type: ignore[attr-defined]
                return response
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.rec.add(time.perf_counter() - started, type(exc).__name__, kind)
            raise OperationFailed() from exc

    def some_file(self) -> int:
        return self.rng.choice(self.file_ids)

    async def op_list(self) -> None:
        await self.call("GET", f"/api/files/?project={self.project}&page_size=50", kind="list")

    async def op_facets(self) -> None:
        organism = self.rng.choice(["Homo sapiens", "Mus musculus", "Danio rerio"])
        params = {"facets": "organism,assay_type", "organism": organism}
        await self.call("GET", "/api/files/", params=params, kind="facets")

    async def op_metadata(self) -> None:
        await self.call("GET", f"/api/files/{self.some_file()}/", kind="metadata")

    async def op_download(self) -> None:
        await self.call("GET", f"/api/files/{self.some_file()}/download/", kind="download")

    async def op_tus_upload(self) -> None:
        data = os.urandom(UPLOAD_BYTES)
        tus = {"Tus-Resumable": "1.0.0"}
        meta = tus_metadata({"filename": f"c-{uuid.uuid4().hex}.bin", "project": str(self.project)})
        created = await self.call(
            "POST", "/api/uploads/", expect=(201,), kind="tus create",
            headers={**tus, "Upload-Length": str(len(data)), "Upload-Metadata": meta},
        )  # fmt: skip
        location = urlsplit(created.headers["Location"]).path
        await self.call(
            "PATCH", location, expect=(204,), data=data, kind="tus chunk",
            headers={**tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        )  # fmt: skip

    async def op_signed_url(self) -> None:
        created = await self.call(
            "POST", f"/api/files/{self.some_file()}/download-url/", expect=(201,), json={}, kind="sign"
        )
        url = urlsplit(json.loads(created.body)["url"])  # type: ignore[attr-defined]
        await self.call("GET", url.path, auth=False, kind="signed download")

    async def loop(self, deadline: float, max_ops: int, think: float) -> None:
        ops, weights = list(MIX), list(MIX.values())
        # Start spread over one think time, as users do not all click at the same instant.
        await asyncio.sleep(self.rng.uniform(0, think))
        for _ in range(max_ops):
            if time.monotonic() >= deadline:
                return
            op = self.rng.choices(ops, weights)[0]
            self.rec.ops[op] += 1
            try:
                await getattr(self, f"op_{op}")()
            except OperationFailed:
                pass
            await asyncio.sleep(self.rng.uniform(0.5, 1.5) * think)


class OperationFailed(Exception):
    pass


async def run_level(port: int, token: str, project: int, file_ids: list[int], clients: int, seconds: float,
                    think: float, max_ops: int = 10_000, seed: int = 1) -> dict:  # fmt: skip
    rec = Recorder()
    base = f"http://{HOST}:{port}"
    connector = aiohttp.TCPConnector(limit=clients + 10, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    started = time.monotonic()
    deadline = started + seconds
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        tasks = [
            Client(session, base, token, project, file_ids, rec, random.Random(seed * 1000 + n)).loop(
                deadline, max_ops, think
            )
            for n in range(clients)
        ]
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=seconds + 60)
    elapsed = time.monotonic() - started
    total = rec.ok + rec.failed
    ms = [x * 1000 for x in rec.latencies]
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "think_ms": round(think * 1000),
        "requests": total,
        "success_rate": rec.ok / total if total else float("nan"),
        "mean_ms": statistics.fmean(ms) if ms else float("nan"),
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else float("nan"),
        "req_per_s": total / elapsed if elapsed else float("nan"),
        "operations": dict(rec.ops),
        "by_request": {
            kind: {"n": len(v), "mean_ms": statistics.fmean(v) * 1000, "p95_ms": percentile(v, 95) * 1000}
            for kind, v in sorted(rec.by_request.items())
        },
        "errors": dict(rec.errors),
    }


def run(port: int, token: str, project: int, file_ids: list[int], levels: list[int], seconds: float, think: float,
        log) -> list[dict]:  # fmt: skip
    results = []
    for clients in levels:
        result = asyncio.run(run_level(port, token, project, file_ids, clients, seconds, think))
        results.append(result)
        log(
            f"  {clients:4} clients: {result['requests']:6} requests, {result['success_rate'] * 100:7.3f} % ok, "
            f"mean {result['mean_ms']:6.1f} ms, p95 {result['p95_ms']:6.1f} ms, p99 {result['p99_ms']:6.1f} ms, "
            f"{result['req_per_s']:6.1f} req/s, errors {result['errors'] or '-'}"
        )
    return results
