"""The tus headers and metadata an upload carries: ``Upload-Checksum`` (``ChunkChecksum``),
``Upload-Metadata`` (``parse_metadata``) and its ``checksum`` value (``expected_checksum``).
They parse client input and raise ``InvalidInput`` naming the header for a malformed value
(``file_project.errors`` answers it with a 400 listing it under ``errors``).

Public surface: ``CHECKSUM_ALGORITHMS``, ``ChunkChecksum``, ``parse_metadata``, ``expected_checksum``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from dataclasses import dataclass

from file_project.domain import InvalidInput

log = logging.getLogger(__name__)


CHECKSUM_ALGORITHMS = {"sha1": hashlib.sha1, "md5": hashlib.md5, "sha256": hashlib.sha256}


@dataclass(frozen=True)
class ChunkChecksum:
    algorithm: str
    digest: bytes

    @classmethod
    def parse(cls, header: str) -> ChunkChecksum:
        """``Upload-Checksum: <algorithm> <base64 digest>``; unsupported or malformed → 400."""
        parts = header.strip().split(" ")
        if len(parts) != 2 or parts[0] not in CHECKSUM_ALGORITHMS:
            raise InvalidInput(
                f"Expected “<{'|'.join(CHECKSUM_ALGORITHMS)}> <base64 digest>”.", field="Upload-Checksum"
            )
        try:
            digest = base64.b64decode(parts[1], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput("The digest is not valid base64.", field="Upload-Checksum") from exc
        return cls(parts[0], digest)


# --- metadata --------------------------------------------------------------------------------


def parse_metadata(header: str) -> dict[str, str]:
    """Decode ``Upload-Metadata`` (``key b64,key2 b64,flag``); an empty header is no metadata."""
    result: dict[str, str] = {}
    for item in header.split(","):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition(" ")
        if not key or " " in value.strip() or key in result:
            raise InvalidInput(f"Malformed or repeated key “{key[:40]}”.", field="Upload-Metadata")
        try:
            result[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8") if value else ""
        except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
            raise InvalidInput(
                f"The value of “{key[:40]}” is not base64-encoded UTF-8.", field="Upload-Metadata"
            ) from exc
        if "\x00" in result[key] or "\x00" in key:
            raise InvalidInput(f"The value of “{key[:40]}” contains NUL.", field="Upload-Metadata")
    return result


def expected_checksum(value: str) -> tuple[str, str] | None:
    """``checksum`` metadata: ``sha256:<hex>``, ``sha256 <hex>``, ``md5:<hex>`` (or a bare
    64-hex SHA-256)."""
    value = value.strip().lower()
    if not value:
        return None
    algorithm, sep, digest = value.replace(" ", ":").partition(":")
    if not sep:
        algorithm, digest = "sha256", algorithm
    lengths = {"sha256": 64, "md5": 32}
    hex_digits = set("0123456789abcdef")
    if algorithm not in lengths or len(digest) != lengths[algorithm] or not set(digest) <= hex_digits:
        raise InvalidInput("Expected “sha256:<64 hex digits>” or “md5:<32 hex digits>”.", field="checksum")
    return algorithm, digest
