"""``EncryptedTextField``: a text column stored AES-256-GCM encrypted (``crypto``).

Python code sees plaintext; the database holds ``enc1:<key id>:<ciphertext>``. Empty strings and
NULL are stored as they are. The column cannot be searched, ordered or compared in SQL (every
encryption uses a fresh nonce): filter on it in Python after narrowing by other columns.
``encrypted_fields()`` lists every such column for key rotation and exports.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import models

from . import crypto


class EncryptedTextField(models.TextField):
    description = "Text encrypted at rest (AES-256-GCM)"

    def contribute_to_class(self, cls: Any, name: str, *args: Any, **kwargs: Any) -> None:
        super().contribute_to_class(cls, name, *args, **kwargs)
        self.crypto_context = f"{cls._meta.label_lower}.{name}"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return crypto.decrypt(value, self.crypto_context)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value), self.crypto_context)


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]
