"""Key rotation for encrypted columns: re-encrypt every value not under the current key.

Public surface: ``key_usage``, ``reencrypt_all``, ``add_key_file_key``, ``retire_key_file_key``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from . import audit, crypto
from .fields import encrypted_fields

BATCH = 500


def _raw_rows(model: Any, field: Any) -> Any:
    """(pk, stored value) straight from the table, bypassing decryption."""
    quote = connection.ops.quote_name
    table, pk, column = model._meta.db_table, model._meta.pk.column, field.column
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)} WHERE {quote(column)} <> ''")  # noqa: S608
        yield from cursor.fetchall()


def key_usage() -> dict[str, int]:
    """How many stored values each key id encrypts (``plaintext`` for values never encrypted)."""
    usage: Counter[str] = Counter()
    for model, field in encrypted_fields():
        for _, stored in _raw_rows(model, field):
            if stored is not None:
                usage[crypto.key_id_of(stored) or "plaintext"] += 1
    return dict(usage)


def reencrypt_all(*, actor: Any = None, dry_run: bool = False) -> dict[str, int]:
    """Re-encrypt values under old keys (and leftover plaintext) with the current key.
    Returns ``{"app.model.field": values rewritten}``."""
    current = crypto.current_key_id()
    done: dict[str, int] = {}
    for model, field in encrypted_fields():
        stale = [
            pk for pk, stored in _raw_rows(model, field) if stored is not None and crypto.key_id_of(stored) != current
        ]
        done[field.crypto_context] = len(stale)
        if dry_run:
            continue
        for start in range(0, len(stale), BATCH):
            with transaction.atomic():
                for obj in model._base_manager.filter(pk__in=stale[start : start + BATCH]).only("pk", field.attname):
                    # Reading decrypts with whichever key it was under; the UPDATE encrypts anew.
                    model._base_manager.filter(pk=obj.pk).update(**{field.attname: getattr(obj, field.attname)})
    if not dry_run and any(done.values()):
        audit.record(actor, "crypto.rotate", username="" if actor else "system", key_id=current, rewritten=done)
    return done


def _key_file() -> Path:
    source = settings.BIOFM_FIELD_KEY_SOURCE
    if source == "env":
        raise RuntimeError("Keys come from BIOFM_FIELD_KEY; change that variable instead (see docs/security.md).")
    return Path(source)


def add_key_file_key() -> str:
    """Put a new current key at the top of the key file (laptop installs); returns its id."""
    path = _key_file()
    keys = [crypto.generate_key(), *settings.BIOFM_FIELD_KEYS]
    path.write_text("\n".join(keys) + "\n")
    settings.BIOFM_FIELD_KEYS = keys
    return crypto.current_key_id()


def retire_key_file_key(key_id: str) -> None:
    """Drop an old key from the key file once no value uses it."""
    path = _key_file()
    if key_id == crypto.current_key_id():
        raise RuntimeError("The current key cannot be retired; rotate first.")
    if key_usage().get(key_id):
        raise RuntimeError(f"Values are still encrypted under {key_id}; run rotate_field_key first.")
    keys = [k for k in settings.BIOFM_FIELD_KEYS if crypto._fingerprint(crypto._decode(k)) != key_id]
    path.write_text("\n".join(keys) + "\n")
    settings.BIOFM_FIELD_KEYS = keys
