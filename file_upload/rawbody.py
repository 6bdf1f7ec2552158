"""Reading a request body of known length straight from the client's socket under gunicorn.

gunicorn hands the body to the application through three buffered layers (its socket unreader,
the length reader and ``Body``), each copying every byte through a ``BytesIO``; for a tus PATCH
of gigabytes that costs more than the disk write and the SHA-256 together. ``socket_body`` takes
over from those layers for one request: it first hands out whatever gunicorn already read past
the headers, then ``recv``s the rest itself, and keeps gunicorn's own count of the body's
remaining bytes right as it goes, so that gunicorn still drains an unread rest and finds the next
request on a kept-alive connection exactly where it starts.

Anything else (another server, a chunked body, a body someone already started to read) gets
``None`` and the caller reads the ordinary WSGI stream.
"""

from __future__ import annotations

import socket
from typing import Any

from django.http import HttpRequest


class SocketBody:
    """A ``read(n)`` over the rest of one request body: gunicorn's read-ahead first, then the
    socket. Never reads past the body; returns ``b""`` at its end. Nothing is taken from gunicorn
    before the first read: a request answered without reading its body (an unknown upload, a
    bad header) leaves gunicorn to drain it, and the next request on the connection is intact."""

    def __init__(self, sock: socket.socket, reader: Any, unreader: Any) -> None:
        self._sock = sock
        self._reader = reader  # gunicorn's LengthReader: .length = body bytes not handed out yet
        self._unreader = unreader
        self._buffered: memoryview | None = None

    def _take_read_ahead(self) -> memoryview:
        # What gunicorn read past the headers: the body's first bytes and, on a pipelining
        # client, maybe the start of the next request, which goes back to gunicorn.
        ahead = self._unreader.take_buffered()
        length = self._reader.length
        if len(ahead) > length:
            self._unreader.unread(ahead[length:])
            ahead = ahead[:length]
        return memoryview(ahead)

    @property
    def remaining(self) -> int:
        return self._reader.length

    def read(self, size: int) -> bytes:
        want = min(size, self._reader.length)
        if want <= 0:
            return b""
        if self._buffered is None:
            self._buffered = self._take_read_ahead()
        if self._buffered:
            data = bytes(self._buffered[:want])
            self._buffered = self._buffered[want:]
        else:
            # MSG_WAITALL: whole blocks (fewer turns of the caller's loop); a short read means
            # the client closed the connection or the socket timed out.
            data = self._sock.recv(want, socket.MSG_WAITALL)
            if not data:
                raise ConnectionError("the client closed the connection mid-body")
        self._reader.length -= len(data)
        return data


def socket_body(request: HttpRequest, length: int) -> SocketBody | None:
    """A ``SocketBody`` for ``request``'s body of ``length`` bytes, or None when the server is
    not gunicorn, the body is not of known length, or reading has already begun."""
    try:  # the classes of the pinned gunicorn (requirements.txt), tested in test_rawbody.py
        from gunicorn.http.body import Body, LengthReader
    except ImportError:
        return None
    body = request.META.get("wsgi.input")
    reader = getattr(body, "reader", None)
    unreader = getattr(reader, "unreader", None)
    sock = getattr(unreader, "sock", None)
    if (
        not isinstance(body, Body)
        or not isinstance(reader, LengthReader)
        or not isinstance(sock, socket.socket)
        or not hasattr(unreader, "take_buffered")
        or getattr(request, "_read_started", False)
        or body.buf.tell()  # bytes gunicorn's Body already handed out of its reader
        or reader.length != length
    ):
        return None
    return SocketBody(sock, reader, unreader)
