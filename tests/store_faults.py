"""A fault injector in front of the real object store (SeaweedFS) for tests: an HTTP proxy on
127.0.0.1 that relays every S3 request unchanged (the Host header too, so SigV4 signatures still
verify) and, while ``full`` is set, answers writes (PUT and POST: objects, parts, multipart
creation and completion) the way a full store does, MinIO's ``507 XMinioStorageFull``, instead
of relaying them; reads and deletions always go through. SeaweedFS itself answers a write to a
bucket over its quota (made read-only) with a ``500 InternalError``, which no client can tell
from any other internal error."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

FULL_ANSWER = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>XMinioStorageFull</Code>'
    b"<Message>Storage backend has reached its minimum free drive threshold. "
    b"Please delete a few objects to proceed.</Message></Error>"
)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


class FullStoreProxy:
    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self.full = False
        self.refused = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if proxy.full and self.command in ("PUT", "POST"):
                    proxy.refused += 1
                    self.send_response(507)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(FULL_ANSWER)))
                    self.end_headers()
                    self.wfile.write(FULL_ANSWER)
                    return
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                    connection.request(self.command, self.path, body=body, headers=headers)
                    answer = connection.getresponse()
                    data = answer.read()
                    self.send_response(answer.status, answer.reason)
                    head = self.command == "HEAD"  # its Content-Length is the object's
                    for name, value in answer.getheaders():
                        if name.lower() not in HOP_BY_HOP and (head or name.lower() != "content-length"):
                            self.send_header(name, value)
                    if not head:
                        self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if not head:
                        self.wfile.write(data)
                finally:
                    connection.close()

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _relay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="full-store-proxy", daemon=True)

    def __enter__(self) -> FullStoreProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
