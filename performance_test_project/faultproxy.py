"""A fault-injecting TCP proxy on 127.0.0.1 (asyncio), between a client and the app.

Each incoming connection carries one HTTP request (the suite's client opens a fresh connection
per request). With probability ``rate`` the proxy breaks it: it reads the request head, and
cuts the request body (a PATCH) or, for a body-less request (GET/HEAD), the response body at a
random byte, then either closes both sides at once (``drop``, the client sees a reset or a short
read) or first stops forwarding for ``stall`` seconds (``stall``, the client's socket timeout
fires). Everything after the first exchange on a connection is passed through unchanged.

Runs in a thread with its own event loop: ``with FaultProxy(target_port, rate=0.3) as proxy``.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter

from performance_test_project.common import HOST, free_port


class Cut(Exception):
    pass


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return int(value.strip())
    return 0


class FaultProxy:
    def __init__(self, target_port: int, *, rate: float = 0.3, stall: float = 2.5, seed: int = 42,
                 stall_share: float = 1 / 3) -> None:  # fmt: skip
        self.target_port, self.rate, self.stall, self.stall_share = target_port, rate, stall, stall_share
        self.port = free_port()
        self.rng = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    # --- lifecycle ---
    def __enter__(self) -> FaultProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fault proxy did not start")
        return self

    def __exit__(self, *exc) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, HOST, self.port))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            self._loop.set_exception_handler(lambda loop, context: None)  # cancelled connections
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()

    # --- one connection ---
    async def _handle(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        self.counts["connections"] += 1
        fault = None
        if self.rng.random() < self.rate:
            fault = "stall" if self.rng.random() < self.stall_share else "drop"
        try:
            sreader, swriter = await asyncio.open_connection(HOST, self.target_port)
        except OSError:
            cwriter.transport.abort()
            return
        state = {"request_body": None}
        try:
            up = asyncio.ensure_future(self._pump(creader, swriter, fault, "request", state))
            down = asyncio.ensure_future(self._pump(sreader, cwriter, fault, "response", state))
            # Either side closing ends the connection (one request per connection).
            done, _ = await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
            if any(not t.cancelled() and isinstance(t.exception(), Cut) for t in done):
                self.counts[fault] += 1
                if fault == "stall":
                    await asyncio.sleep(self.stall)
            for task in (up, down):
                task.cancel()
        except Exception:  # noqa: BLE001 - a broken connection is this proxy's normal business
            pass
        finally:
            for writer in (cwriter, swriter):
                writer.transport.abort()

    async def _pump(self, reader, writer, fault, side: str, state: dict) -> None:
        """Forward one message (head + Content-Length body), cutting it where the fault says,
        then pass the rest of the stream through."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        length = _content_length(head)
        cut = None
        if side == "request":
            state["request_body"] = length
            if fault and length:
                cut = self.rng.randrange(length)
        elif fault and not state["request_body"] and length:
            cut = self.rng.randrange(length)
        writer.write(head)
        await writer.drain()
        sent = 0
        while True:
            data = await reader.read(256 * 1024)
            if not data:
                return
            if cut is not None and sent + len(data) > cut:
                writer.write(data[: cut - sent])
                await writer.drain()
                raise Cut()
            writer.write(data)
            await writer.drain()
            sent += len(data)
