"""A command-line tus client that the resume test can SIGKILL and start again.

    python performance_test_project/tus_client.py PORT TOKEN PROJECT SOURCE URL_FILE [--chunk-mib 8]

Like tuspy with ``store_url=True``: the upload URL goes to URL_FILE right after creation; a
later run that finds it resumes from the server's offset (HEAD). Prints one JSON line per
event with a wall-clock timestamp (``start``, ``created``, ``head``, ``chunk``, ``done``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from performance_test_project.common import MIB, TusUpload  # noqa: E402


def emit(event: str, **values) -> None:
    print(json.dumps({"event": event, "t": time.time(), **values}), flush=True)


def main() -> None:
    started = time.time()
    parser = argparse.ArgumentParser()
    for name in ("port", "token", "project", "source", "url_file"):
        parser.add_argument(name)
    parser.add_argument("--chunk-mib", type=int, default=8)
    parser.add_argument("--first-chunk-kib", type=int, default=0, help="size of the first chunk after a resume")
    args = parser.parse_args()
    emit("start", process_start=started)
    url_file = Path(args.url_file)
    url = url_file.read_text().strip() if url_file.exists() else None
    upload = TusUpload(int(args.port), args.token, int(args.project), Path(args.source),
                       chunk=args.chunk_mib * MIB, url=url, timeout=60)  # fmt: skip
    if url is None:
        url_file.write_text(upload.create())
        emit("created", url=upload.path)
    else:
        for _ in range(50):  # a PATCH of the killed process may still hold the upload (423)
            try:
                emit("head", offset=upload.head())
                if args.first_chunk_kib:
                    upload.patch(args.first_chunk_kib * 1024)
                    emit("chunk", offset=upload.offset)
                break
            except Exception as exc:  # noqa: BLE001 - reported, then retried
                emit("retry", error=str(exc)[:200])
                time.sleep(0.05)
    while upload.offset < upload.size:
        upload.patch()
        emit("chunk", offset=upload.offset)
    emit("done", file=upload.file_id())


if __name__ == "__main__":
    main()
