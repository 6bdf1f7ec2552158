"""WsgiDAV's lock table and dead-property store kept in the database.

WsgiDAV's own ``LockStorageDict`` and ``PropertyManager`` keep a dict in process memory, which
would give each gunicorn worker its own locks. Both only use the dict interface, so they are
given ``DbMapping``, a mapping over ``DavEntry`` rows, instead; values are JSON (bytes are
stored base64-encoded)."""

from __future__ import annotations

import base64
from collections.abc import Iterator, MutableMapping
from typing import Any

from wsgidav.lock_man.lock_storage import LockStorageDict
from wsgidav.prop_man.property_manager import PropertyManager

from .models import DavEntry


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"__b64__": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__b64__"}:
            return base64.b64decode(value["__b64__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


class DbMapping(MutableMapping[str, Any]):
    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def _rows(self) -> Any:
        return DavEntry.objects.filter(namespace=self.namespace)

    def __getitem__(self, key: str) -> Any:
        row = self._rows().filter(key=key).values_list("value", flat=True).first()
        if row is None:
            raise KeyError(key)
        return _decode(row)

    def __setitem__(self, key: str, value: Any) -> None:
        DavEntry.objects.update_or_create(namespace=self.namespace, key=key, defaults={"value": _encode(value)})

    def __delitem__(self, key: str) -> None:
        if not self._rows().filter(key=key).delete()[0]:
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return self._rows().filter(key=key).exists()

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._rows().values_list("key", flat=True)))

    def __len__(self) -> int:
        return self._rows().count()

    def items(self) -> Any:  # one query instead of one per key
        return [(key, _decode(value)) for key, value in self._rows().values_list("key", "value")]


class DbLockStorage(LockStorageDict):
    def open(self) -> None:
        self._dict = DbMapping("lock")

    def clear(self) -> None:
        DavEntry.objects.filter(namespace="lock").delete()


class DbPropertyManager(PropertyManager):
    def _lazy_open(self) -> None:
        self._dict = DbMapping("prop")
        self._loaded = True

    def __repr__(self) -> str:
        return "DbPropertyManager"
