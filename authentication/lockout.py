"""Login lockout with exponential backoff, per username and client address.

Each failed sign-in (API, SPA or Django admin: the ``user_login_failed`` signal) counts against
the pair (username, IP). From ``BIOFM_LOGIN_LOCKOUT_THRESHOLD`` failures on, the pair is locked
for ``BIOFM_LOGIN_LOCKOUT_BASE_SECONDS`` × 2^(failures − threshold), at most
``BIOFM_LOGIN_LOCKOUT_MAX_SECONDS``; while locked, sign-in is refused before the password is
checked (429 with ``Retry-After`` on the API). A success clears the count. State lives in the
default cache (Redis in production), so all workers share it; each lock is audited.

The address is ``file_project.client_address.client_address``.

Public surface: ``seconds_locked``, ``register_failure``, ``clear``.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache

from . import audit


def _key(username: str, address: str) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}|{address}".encode()).hexdigest()
    return f"biofm:login-failures:{digest}"


def _state(username: str, address: str) -> dict[str, float]:
    return cache.get(_key(username, address)) or {"failures": 0, "locked_until": 0.0}


def seconds_locked(username: str, address: str) -> int:
    """Seconds until this pair may try again (0: not locked)."""
    remaining = _state(username, address)["locked_until"] - time.time()
    return int(remaining) + 1 if remaining > 0 else 0


def register_failure(username: str, address: str) -> int:
    """Count one failure; returns the lock's length in seconds when this failure locks the pair."""
    if seconds_locked(username, address):
        return 0  # attempts refused while locked do not stretch the lock
    state = _state(username, address)
    state["failures"] += 1
    threshold = max(1, settings.BIOFM_LOGIN_LOCKOUT_THRESHOLD)
    lock = 0
    if state["failures"] >= threshold:
        lock = min(
            settings.BIOFM_LOGIN_LOCKOUT_BASE_SECONDS * 2 ** int(state["failures"] - threshold),
            settings.BIOFM_LOGIN_LOCKOUT_MAX_SECONDS,
        )
        state["locked_until"] = time.time() + lock
    # Failures are forgotten a day after the last one (or after the longest lock).
    cache.set(_key(username, address), state, timeout=max(24 * 3600, settings.BIOFM_LOGIN_LOCKOUT_MAX_SECONDS * 2))
    if lock:
        audit.record(None, "auth.lockout", username=username[:150], failures=int(state["failures"]), seconds=int(lock))
    return int(lock)


def clear(username: str, address: str) -> None:
    cache.delete(_key(username, address))
