"""Field encryption at rest: AES-256-GCM with rotating keys.

Keys come from ``BIOFM_FIELD_KEY`` — comma-separated URL-safe base64 32-byte keys, the first
encrypting, the others only decrypting (keys being retired) — or, when that is unset, from
``BIOFM_DATA_DIR/field_keys`` (one key a line, first current), generated on first start like the
secret key so a laptop install needs nothing. A key's id is the first 8 hex digits of its
SHA-256 fingerprint, so ids need no bookkeeping.

A stored value is ``enc1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>``; the associated data is
the column's identity (``app.model.field``), so a ciphertext copied into another column does
not decrypt. ``rotate_field_key`` re-encrypts values under old keys with the current one.

Public surface: ``encrypt``, ``decrypt``, ``key_id_of``, ``current_key_id``, ``key_ids``,
``generate_key``, ``load_keys``, ``FieldKeyMissing``.
"""

from __future__ import annotations

import base64
import hashlib
import os
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from file_project.keyfiles import write_once

PREFIX = "enc1"
NONCE_BYTES = 12


class FieldKeyMissing(RuntimeError):
    """A value was encrypted under a key that is no longer configured."""


def generate_key() -> str:
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode()


def _decode(key: str) -> bytes:
    raw = base64.urlsafe_b64decode(key.strip() + "=" * (-len(key.strip()) % 4))
    if len(raw) != 32:
        raise ValueError("BIOFM_FIELD_KEY entries must be 32 bytes, URL-safe base64 (manage.py rotate_field_key --new)")
    return raw


def _fingerprint(raw: bytes) -> str:
    return hashlib.sha256(b"biofm-field-key" + raw).hexdigest()[:8]


def load_keys(data_dir: Path) -> tuple[list[str], str]:
    """The configured keys (current first) and where they came from: ``"env"`` or the key file."""
    configured = os.environ.get("BIOFM_FIELD_KEY", "").strip()
    if configured:
        return [k.strip() for k in configured.split(",") if k.strip()], "env"
    key_file = data_dir / "field_keys"
    write_once(key_file, lambda: generate_key() + "\n")
    return [line.strip() for line in key_file.read_text().splitlines() if line.strip()], str(key_file)


@lru_cache(maxsize=8)
def _ring(keys: tuple[str, ...]) -> tuple[str, dict[str, AESGCM]]:
    if not keys:
        raise FieldKeyMissing("No field encryption key is configured (BIOFM_FIELD_KEY).")
    ring: dict[str, AESGCM] = {}
    for key in keys:
        raw = _decode(key)
        ring.setdefault(_fingerprint(raw), AESGCM(raw))
    return _fingerprint(_decode(keys[0])), ring


def _keyring() -> tuple[str, dict[str, AESGCM]]:
    return _ring(tuple(settings.BIOFM_FIELD_KEYS))


def current_key_id() -> str:
    return _keyring()[0]


def key_ids() -> list[str]:
    return list(_keyring()[1])


def key_id_of(stored: str | None) -> str | None:
    if stored and stored.startswith(PREFIX + ":"):
        return stored.split(":", 2)[1]
    return None


def encrypt(plaintext: str, context: str) -> str:
    kid, ring = _keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = ring[kid].encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
    return f"{PREFIX}:{kid}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(stored: str, context: str) -> str:
    """The plaintext of a stored value; a value without the prefix is taken as plaintext
    written before the column was encrypted (the next save or rotation encrypts it)."""
    kid = key_id_of(stored)
    if kid is None:
        return stored
    ring = _keyring()[1]
    if kid not in ring:
        raise FieldKeyMissing(f"Value encrypted under key {kid}, which is not configured in BIOFM_FIELD_KEY.")
    blob = base64.b64decode(stored.split(":", 2)[2])
    return ring[kid].decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode("utf-8")).decode("utf-8")
