"""The tus headers and metadata an upload carries: ``Upload-Checksum`` (``ChunkChecksum``),
``Upload-Metadata`` (``parse_metadata``) and its ``checksum`` value (``expected_checksum``).
They parse client input and answer a malformed value with a 400 naming the header.

Public surface: ``CHECKSUM_ALGORITHMS``, ``ChunkChecksum``, ``parse_metadata``, ``expected_checksum``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from dataclasses import dataclass

from rest_framework import exceptions

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
            raise exceptions.ValidationError(
                {"Upload-Checksum": [f"Expected “<{'|'.join(CHECKSUM_ALGORITHMS)}> <base64 digest>”."]}
            )
        try:
            digest = base64.b64decode(parts[1], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise exceptions.ValidationError({"Upload-Checksum": ["The digest is not valid base64."]}) from exc
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
            raise exceptions.ValidationError({"Upload-Metadata": [f"Malformed or repeated key “{key[:40]}”."]})
        try:
            result[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8") if value else ""
        except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ValidationError(
                {"Upload-Metadata": [f"The value of “{key[:40]}” is not base64-encoded UTF-8."]}
            ) from exc
        if "\x00" in result[key] or "\x00" in key:
            raise exceptions.ValidationError({"Upload-Metadata": [f"The value of “{key[:40]}” contains NUL."]})
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
        raise exceptions.ValidationError({"checksum": ["Expected “sha256:<64 hex digits>” or “md5:<32 hex digits>”."]})
    return algorithm, digest
