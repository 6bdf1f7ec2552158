"""Reading a tus PATCH body straight from the socket under gunicorn: the bytes gunicorn read
ahead come first, nothing past the body is taken, a pipelined next request stays gunicorn's, and
gunicorn's own count of the remaining body stays right: over gunicorn's real body classes on a
socket pair. tests/integration/test_tus_pipelining.py runs a pipelining client against a server."""

from __future__ import annotations

import os
import socket

import pytest
from django.test import RequestFactory
from gunicorn.http.body import Body, LengthReader
from gunicorn.http.unreader import SocketUnreader

from file_upload.rawbody import socket_body


def gunicorn_request(body_length: int, ahead: bytes, rest: bytes):
    """A Django request whose wsgi.input is gunicorn's Body over one end of a socket pair, with
    ``ahead`` already in gunicorn's read-ahead buffer and ``rest`` still in the socket."""
    ours, client = socket.socketpair()
    client.sendall(rest)
    client.shutdown(socket.SHUT_WR)
    unreader = SocketUnreader(ours)
    unreader.unread(ahead)
    reader = LengthReader(unreader, body_length)
    request = RequestFactory().patch("/api/uploads/x/", content_type="application/offset+octet-stream")
    request.META["wsgi.input"] = Body(reader)
    return request, reader, unreader, client


def read_all(body, block: int = 7) -> bytes:
    out = bytearray()
    while data := body.read(block):
        out += data
    return bytes(out)


def test_read_ahead_first_then_the_socket_and_never_past_the_body():
    payload = os.urandom(5000)
    request, reader, unreader, _ = gunicorn_request(len(payload), payload[:100], payload[100:] + b"NEXT REQUEST")
    body = socket_body(request, len(payload))
    assert body is not None
    assert read_all(body, block=1024) == payload
    assert reader.length == 0 and body.read(10) == b""
    assert unreader.read() == b"NEXT REQUEST"  # the socket's rest is still gunicorn's


def test_a_pipelined_request_in_the_read_ahead_goes_back_to_gunicorn():
    payload = b"0123456789"
    request, reader, unreader, _ = gunicorn_request(len(payload), payload + b"HEAD /next", b"")
    body = socket_body(request, len(payload))
    assert read_all(body) == payload and reader.length == 0
    assert unreader.read() == b"HEAD /next"


def test_a_body_never_read_stays_gunicorns_to_drain():
    """A PATCH answered before its body is read (an unknown upload: 404) must not leave the body
    in the connection as the next request's start (found by the schema fuzzer: the next request
    on the kept-alive connection was a 400 "Invalid HTTP request line")."""
    payload = b"0123456789" * 10
    request, reader, unreader, _ = gunicorn_request(len(payload), payload[:30], payload[30:] + b"GET /next")
    assert socket_body(request, len(payload)) is not None
    assert request.META["wsgi.input"].read() == payload  # what gunicorn's drain reads
    assert unreader.read() == b"GET /next"


def test_a_client_gone_mid_body_raises_and_leaves_the_count_of_what_is_missing():
    request, reader, _, _ = gunicorn_request(100, b"", b"x" * 40)
    body = socket_body(request, 100)
    assert body.read(1000) == b"x" * 40
    with pytest.raises(ConnectionError):
        body.read(1000)
    assert reader.length == 60


def test_falls_back_when_it_cannot_take_over():
    plain = RequestFactory().patch("/api/uploads/x/", data=b"abc", content_type="application/offset+octet-stream")
    assert socket_body(plain, 3) is None  # not gunicorn
    request, _, _, _ = gunicorn_request(10, b"", b"0123456789")
    assert socket_body(request, 11) is None  # a length that is not the body's
    request, _, _, _ = gunicorn_request(10, b"", b"0123456789")
    request.META["wsgi.input"].read(2)
    assert socket_body(request, 10) is None  # reading has begun
