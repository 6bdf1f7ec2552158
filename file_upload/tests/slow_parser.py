"""A test-only parser for ``.txt`` files that keeps running while a marker file exists, so a
test can kill the worker in the middle of an extraction. Plugged in with
``BIOFM_EXTRA_PARSERS=file_upload.tests.slow_parser.SlowTextParser`` and
``BIOFM_TEST_SLOW_MARKER=<path>``."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


class SlowTextParser:
    formats = ("text",)

    def parse(self, path: Path) -> dict[str, Any]:
        marker = os.environ.get("BIOFM_TEST_SLOW_MARKER", "")
        deadline = time.monotonic() + 120
        while marker and os.path.exists(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        return {"lines": path.read_bytes().count(b"\n")}
