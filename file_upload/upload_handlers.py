"""Multipart upload handler that streams every uploaded file to a temporary file on the data
disk (never into memory) and hashes it while it arrives, so storing it afterwards is a rename."""

from __future__ import annotations

from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler

from .storage import HashingWriter


class HashingFileUploadHandler(TemporaryFileUploadHandler):
    def new_file(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().new_file(*args, **kwargs)
        self.writer = HashingWriter(self.file)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        from django.conf import settings

        if self.writer.size + len(raw_data) > settings.BIOFM_MAX_UPLOAD_BYTES:
            if self.request is not None:
                self.request.biofm_upload_too_large = True  # type: ignore[attr-defined]
            raise StopUpload(connection_reset=True)
        self.writer.write(raw_data)
        return None

    def file_complete(self, file_size: int):  # type: ignore[no-untyped-def]
        uploaded = super().file_complete(file_size)
        uploaded.biofm_digest = self.writer.digest()
        return uploaded
