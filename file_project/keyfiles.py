"""Keys kept in the data directory: written once, readable by the service's user only.

Standard library only (``settings.py`` imports it before Django is set up).

Public surface: ``write_once``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def write_once(path: Path, content: Callable[[], str]) -> None:
    """Create ``path`` (mode 0600) holding ``content()`` unless it exists. O_EXCL: two processes
    starting at once must not write two different keys; the loser keeps the winner's."""
    if path.exists():
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(content())
