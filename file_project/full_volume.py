"""A full data volume: writes answer 507, reads go on.

With the default layout the SQLite database shares the data volume with the file store. In WAL
mode every connection needs the database's shared-memory index (``db.sqlite3-shm``), which
SQLite deletes when the last connection closes and creates again on the next open; on a volume
with no free byte that creation fails and even a read becomes ``disk I/O error``. So each
process keeps one idle connection open to each SQLite database it uses (``keep_wal_index``,
connected to ``connection_created``): the index then outlives the requests' connections, and
on a full volume reads still work while writes fail with ``database or disk is full``, which
``file_project.errors.is_no_space`` turns into a 507 like a file write's ``ENOSPC``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from pathlib import Path
from typing import Any

_kept: dict[tuple[int, str], sqlite3.Connection] = {}
_lock = threading.Lock()


def keep_wal_index(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict["NAME"])
    if name == ":memory:" or "mode=memory" in name:
        return
    key = (os.getpid(), name)  # a forked child keeps its own (and never touches its parent's)
    with _lock:
        if key in _kept:
            return
        try:
            keeper = sqlite3.connect(name, check_same_thread=False)
            keeper.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the WAL index
        except sqlite3.Error:
            return
        _kept[key] = keeper


def sqlite_volume_full() -> bool:
    """True when the SQLite database's volume has no byte left for us (an I/O error there is
    then the full volume, not a broken disk)."""
    from django.db import connection

    if connection.vendor != "sqlite":
        return False
    try:
        return shutil.disk_usage(Path(str(connection.settings_dict["NAME"])).parent).free == 0
    except OSError:
        return False
