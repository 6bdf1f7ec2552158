"""What a parser is: something that takes a file path and returns the ``stats`` dict.

A parser raises ``ParseError`` with a one-line message naming the record or line at fault.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class ParseError(Exception):
    """A malformed file; the message is one line and names the line or record."""


class Parser(Protocol):
    formats: tuple[str, ...]

    def parse(self, path: Path) -> dict[str, Any]: ...
