"""Range, conditional requests and names, case by case (RFC 9110 §13–15)."""

from __future__ import annotations

import hashlib
import re

import pytest
import requests

from authentication.models import AuditEvent
from file_download.services import ByteRange, Unsatisfiable, parse_range
from file_upload.tests.factories import ProjectFactory, make_file

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]
CONTENT = bytes(range(256)) * 40  # 10,240 bytes
SIZE = len(CONTENT)


@pytest.fixture
def file(alice):
    return make_file(ProjectFactory(name="P", owner=alice), "reads.bam", CONTENT)


def get(client, file, **headers):
    return client.get(f"/api/files/{file.id}/download/", **headers)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize(
    "header, expected",
    [
        ("bytes=0-499", [(0, 499)]),
        ("bytes=500-", [(500, SIZE - 1)]),
        ("bytes=-500", [(SIZE - 500, SIZE - 1)]),
        ("bytes=-999999", [(0, SIZE - 1)]),
        ("bytes=9000-99999", [(9000, SIZE - 1)]),
        ("BYTES=0-0", [(0, 0)]),
        ("bytes=0-10,5-20,100-200", [(0, 20), (100, 200)]),
        ("bytes=0-0, -1", [(0, 0), (SIZE - 1, SIZE - 1)]),
        ("bytes=20000-,0-1", [(0, 1)]),
    ],
)
def test_parse_range(header, expected):
    assert parse_range(header, SIZE) == [ByteRange(a, b) for a, b in expected]


@pytest.mark.parametrize(
    "header",
    ["bytes=5-1", "bytes=abc", "items=0-5", "bytes=", "bytes=--5", "bytes=1-2-3", "bytes=" + ",".join(["0-1"] * 65)],
)
def test_malformed_ranges_are_ignored(header):
    assert parse_range(header, SIZE) is None


@pytest.mark.parametrize("header", ["bytes=20000-", "bytes=-0", "bytes=10240-10300"])
def test_unsatisfiable(header):
    with pytest.raises(Unsatisfiable):
        parse_range(header, SIZE)


class TestDownloadView:
    def test_full_body_advertises_ranges(self, api, file):
        response = get(api, file)
        assert response.status_code == 200
        assert response["Accept-Ranges"] == "bytes"
        assert response["ETag"] == f'"{hashlib.sha256(CONTENT).hexdigest()}"'
        assert "Last-Modified" in response
        assert body(response) == CONTENT

    @pytest.mark.parametrize(
        "header, start, end",
        [
            ("bytes=0-499", 0, 499),
            ("bytes=10000-", 10000, SIZE - 1),
            ("bytes=-240", SIZE - 240, SIZE - 1),
            ("bytes=5-5", 5, 5),
            ("bytes=10000-999999", 10000, SIZE - 1),
        ],
    )
    def test_single_range(self, api, file, header, start, end):
        response = get(api, file, HTTP_RANGE=header)
        assert response.status_code == 206
        assert response["Content-Range"] == f"bytes {start}-{end}/{SIZE}"
        assert response["Content-Length"] == str(end - start + 1)
        assert body(response) == CONTENT[start : end + 1]

    def test_multiple_ranges_are_multipart(self, api, file):
        response = get(api, file, HTTP_RANGE="bytes=0-9,100-109,-5")
        assert response.status_code == 206
        match = re.fullmatch(r"multipart/byteranges; boundary=(\w+)", response["Content-Type"])
        assert match
        data = body(response)
        assert len(data) == int(response["Content-Length"])
        parts = data.split(f"--{match.group(1)}".encode())[1:-1]
        ranges = [(0, 9), (100, 109), (SIZE - 5, SIZE - 1)]
        assert len(parts) == 3
        for part, (start, end) in zip(parts, ranges, strict=True):
            head, payload = part.split(b"\r\n\r\n", 1)
            assert f"Content-Range: bytes {start}-{end}/{SIZE}".encode() in head
            assert payload.removesuffix(b"\r\n") == CONTENT[start : end + 1]
        assert "Content-Range" not in response

    def test_unsatisfiable_is_416(self, api, file):
        response = get(api, file, HTTP_RANGE="bytes=99999-")
        assert response.status_code == 416
        assert response["Content-Range"] == f"bytes */{SIZE}"

    def test_any_range_of_an_empty_file_is_416(self, api, alice):
        empty = make_file(ProjectFactory(name="E", owner=alice), "empty.txt", b"")
        assert get(api, empty, HTTP_RANGE="bytes=0-").status_code == 416
        assert get(api, empty).status_code == 200

    @pytest.mark.parametrize("header", ["bytes=9-1", "bytes=x-y", "pages=1-2", "bytes", "bytes=1-2-3", "\x00"])
    def test_malformed_range_sends_everything(self, api, file, header):
        response = get(api, file, HTTP_RANGE=header)
        assert response.status_code == 200
        assert body(response) == CONTENT

    def test_if_range_with_matching_etag_or_date(self, api, file):
        etag = get(api, file)["ETag"]
        assert get(api, file, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=etag).status_code == 206
        last_modified = get(api, file)["Last-Modified"]
        assert get(api, file, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=last_modified).status_code == 206

    @pytest.mark.parametrize("if_range", ['"other"', 'W/"weak"', "Wed, 21 Oct 2015 07:28:00 GMT"])
    def test_if_range_mismatch_sends_everything(self, api, file, if_range):
        response = get(api, file, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=if_range)
        assert response.status_code == 200
        assert body(response) == CONTENT

    def test_if_none_match_and_if_modified_since(self, api, file):
        first = get(api, file)
        assert get(api, file, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
        assert get(api, file, HTTP_IF_NONE_MATCH='"nope"').status_code == 200
        assert get(api, file, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]).status_code == 304
        assert get(api, file, HTTP_IF_MATCH='"nope"').status_code == 412
        assert get(api, file, HTTP_IF_MATCH=first["ETag"]).status_code == 200

    def test_head_sends_headers_without_bytes_and_is_not_audited(self, api, file):
        response = api.head(f"/api/files/{file.id}/download/")
        assert response.status_code == 200
        assert response["Content-Length"] == str(SIZE)
        assert response.content == b""
        assert not AuditEvent.objects.filter(action="file.download").exists()

    def test_ranged_downloads_are_audited_with_their_ranges(self, api, file):
        get(api, file, HTTP_RANGE="bytes=0-9")
        event = AuditEvent.objects.get(action="file.download")
        assert event.details["ranges"] == [[0, 9]]

    def test_non_ascii_names_follow_rfc_6266(self, api, alice):
        named = make_file(ProjectFactory(name="U", owner=alice), "Zellen_Größe µ.txt", b"x")
        assert get(api, named)["Content-Disposition"] == (
            "attachment; filename*=utf-8''Zellen_Gr%C3%B6%C3%9Fe%20%C2%B5.txt"
        )

    def test_x_accel_redirect_mode(self, api, file, settings, storage_backend):
        settings.BIOFM_DOWNLOAD_ACCEL_PREFIX = "/protected/"
        response = get(api, file, HTTP_RANGE="bytes=0-9")
        if storage_backend == "s3":  # nginx cannot read the object store: the bytes are streamed
            assert "X-Accel-Redirect" not in response
            assert response.status_code == 206 and b"".join(response.streaming_content) == CONTENT[:10]
            return
        assert response["X-Accel-Redirect"] == f"/protected/{file.storage_key}"
        assert response.content == b""

    def test_large_files_are_handed_to_the_store_by_a_presigned_redirect(self, api, file, settings, storage_backend):
        settings.BIOFM_S3_PRESIGN_DOWNLOADS = True
        settings.BIOFM_S3_PRESIGN_MIN_BYTES = len(CONTENT)
        response = get(api, file, HTTP_RANGE="bytes=5-9")
        if storage_backend == "local":  # nothing to hand over: streamed as always
            assert response.status_code == 206
            return
        assert response.status_code == 302 and response["Cache-Control"] == "private, no-store"
        fetched = requests.get(response["Location"], headers={"Range": "bytes=5-9"}, timeout=30)
        assert fetched.status_code == 206 and fetched.content == CONTENT[5:10]
        assert AuditEvent.objects.filter(action="file.download", object_id=str(file.id)).exists()
        settings.BIOFM_S3_PRESIGN_MIN_BYTES = len(CONTENT) + 1  # smaller files are streamed
        assert get(api, file, HTTP_RANGE="bytes=5-9").status_code == 206
