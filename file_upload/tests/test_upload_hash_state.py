"""The SHA-256 computed while a tus upload's bytes arrive: its saved state, checkpoints during a
long PATCH, and the fallback to reading the file when the state is lost. The receiving tests run
on both storage backends; in the object store a checkpoint is a part boundary (5 MiB here)."""

from __future__ import annotations

import hashlib
import os

import pytest

from authentication.models import AuditEvent
from file_upload import hashstate, storage, tus_store, uploads
from file_upload.models import File, Upload
from file_upload.tests.factories import ProjectFactory, kept_size
from file_upload.tests.test_tus_protocol import TUS, create, location, patch

pytestmark = pytest.mark.django_db
MIB = 1024 * 1024


@pytest.fixture
def project(alice):
    return ProjectFactory(name="P", owner=alice)


def hashed_how(file: File) -> str:
    return AuditEvent.objects.get(action="upload.complete", details__file=file.id).details["hashed"]


class TestResumableSHA256:
    def test_a_state_taken_up_elsewhere_gives_the_digest_of_all_the_bytes(self):
        data = os.urandom(3 * MIB + 17)
        first = hashstate.ResumableSHA256()
        first.update(data[:100_003])  # not a multiple of the 64-byte block
        second = hashstate.ResumableSHA256.restore(first.state(), 100_003)
        second.update(data[100_003:])
        assert second.hexdigest() == hashlib.sha256(data).hexdigest()
        assert second.length == len(data)
        assert len(first.state()) == hashstate.STATE_SIZE

    def test_the_digest_can_be_read_midway(self):
        sha = hashstate.ResumableSHA256()
        sha.update(b"abc")
        assert sha.hexdigest() == hashlib.sha256(b"abc").hexdigest()
        sha.update(b"def")
        assert sha.hexdigest() == hashlib.sha256(b"abcdef").hexdigest()

    @pytest.mark.parametrize(
        "state, length",
        [(None, 0), (b"", 0), (b"x" * hashstate.STATE_SIZE, 0), (b"ours" + b"\0" * 200, 0)],
    )
    def test_anything_else_is_refused(self, state, length):
        assert hashstate.ResumableSHA256.restore(state, length) is None

    def test_a_state_from_another_offset_is_refused(self):
        sha = hashstate.ResumableSHA256()
        sha.update(b"x" * 1000)
        assert hashstate.ResumableSHA256.restore(sha.state(), 999) is None
        assert hashstate.ResumableSHA256.restore(sha.state(), 1000) is not None


@pytest.mark.usefixtures("storage_backend")
class TestHashingWhileReceiving:
    def test_patches_carry_the_state_and_the_last_stores_the_file_without_reading_it(self, api, project, monkeypatch):
        data = os.urandom(5 * MIB + 3)
        url = location(create(api, project, length=len(data)))
        upload = Upload.objects.get()
        for start in range(0, len(data), 2 * MIB):
            assert patch(api, url, data[start : start + 2 * MIB], start).status_code == 204
            if start + 2 * MIB < len(data):
                upload.refresh_from_db()
                saved = hashstate.ResumableSHA256.restore(upload.sha256_state, upload.offset)
                assert saved.hexdigest() == hashlib.sha256(data[: upload.offset]).hexdigest()
                # Reading the file (or the object) to hash it would now fail.
                monkeypatch.setattr(uploads.finalise, "hash_file", None)
                monkeypatch.setattr(uploads.finalise, "hash_stream", None)
        status = api.get(url + "status/").json()
        assert (status["state"], status["sha256"]) == ("completed", hashlib.sha256(data).hexdigest())
        assert hashed_how(File.objects.get()) == "while receiving"

    def test_a_discarded_checksummed_chunk_leaves_the_state_as_it_was(self, api, project):
        url = location(create(api, project, length=10))
        patch(api, url, b"01234", 0)
        bad = patch(api, url, b"56789", 5, HTTP_UPLOAD_CHECKSUM="sha1 " + "A" * 27 + "=")
        assert bad.status_code == 460
        assert patch(api, url, b"56789", 5).status_code == 204
        file = File.objects.get()
        assert file.sha256 == hashlib.sha256(b"0123456789").hexdigest()
        assert hashed_how(file) == "while receiving"

    def test_a_lost_state_means_one_read_of_the_file(self, api, project):
        url = location(create(api, project, length=10))
        patch(api, url, b"01234", 0)
        Upload.objects.update(sha256_state=b"garbage")
        patch(api, url, b"56789", 5)
        file = File.objects.get()
        assert (file.sha256, file.md5) == (
            hashlib.sha256(b"0123456789").hexdigest(),
            hashlib.md5(b"0123456789").hexdigest(),  # the read gives both
        )
        assert hashed_how(file) == "re-read"

    def test_an_md5_checksum_at_creation_is_checked_by_reading_the_file(self, api, project):
        data = b"ACGTACGTAC"
        url = location(create(api, project, length=10, checksum=f"md5:{hashlib.md5(data).hexdigest()}"))
        patch(api, url, data, 0)
        assert hashed_how(File.objects.get()) == "re-read"

    def test_a_sha256_checksum_at_creation_is_checked_against_the_streamed_digest(self, api, project):
        url = location(create(api, project, length=10, checksum=f"sha256:{'0' * 64}"))
        assert patch(api, url, b"ACGTACGTAC", 0).status_code == 204
        status = api.get(url + "status/").json()
        assert status["state"] == "failed"
        assert status["error"].startswith(f"sha256 of the whole file was {hashlib.sha256(b'ACGTACGTAC').hexdigest()}")


class Killed(BaseException):
    """What a SIGKILL looks like from inside: nothing runs after it, nothing catches it."""


@pytest.fixture
def checkpoint(settings, storage_backend) -> int:
    """The bytes between two checkpoints of a PATCH: BIOFM_UPLOAD_CHECKPOINT_BYTES (1 MiB here)
    on the local disk; in the object store a part (5 MiB here)."""
    settings.BIOFM_UPLOAD_CHECKPOINT_BYTES = MIB
    return tus_store.part_bytes() if storage.is_s3() else MIB


class TestCheckpoints:
    def test_a_long_patch_saves_its_offset_and_state_as_it_goes(self, api, project, checkpoint):
        """A worker dies 3.5 checkpoints into a PATCH: HEAD says 3 (the bytes past it are
        dropped), the client sends the rest, and the SHA-256 is right without a read of the
        file."""
        unit = checkpoint
        data = os.urandom(6 * unit)
        url = location(create(api, project, length=len(data)))
        upload = Upload.objects.get()

        class DiesMidway:
            position = 0

            def read(self, size: int) -> bytes:
                if self.position >= 3 * unit + unit // 2:
                    raise Killed()
                chunk = data[self.position : self.position + min(size, MIB // 2)]
                self.position += len(chunk)
                return chunk

        with pytest.raises(Killed):
            uploads.append_chunk(
                upload_id=upload.id, owner=upload.owner, offset=0, body=DiesMidway(), content_length=len(data)
            )
        Upload.objects.update(lock_token=None, locked_until=None)  # the lease lapsed
        # The part file still holds the bytes past the checkpoint (the resuming PATCH cuts them);
        # the object store holds whole parts only (the part being filled was in memory).
        assert kept_size(upload) == (3 * unit if storage.is_s3() else 3 * unit + unit // 2)
        head = api.head(url, **TUS)
        assert head["Upload-Offset"] == str(3 * unit)
        assert patch(api, url, data[3 * unit :], 3 * unit).status_code == 204
        file = File.objects.get()
        assert (file.size, file.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        assert hashed_how(file) == "while receiving"

    def test_a_checksummed_chunk_is_never_checkpointed(self, api, project, checkpoint):
        data = os.urandom(3 * checkpoint)
        url = location(create(api, project, length=len(data)))
        wrong = patch(api, url, data, 0, HTTP_UPLOAD_CHECKSUM="sha1 " + "A" * 27 + "=")
        assert wrong.status_code == 460
        assert api.head(url, **TUS)["Upload-Offset"] == "0"
        assert kept_size(Upload.objects.get()) == 0  # parts it sent are not the row's: sent again
