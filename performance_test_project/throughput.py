"""Single-file throughput: our tus upload and ``/download/`` against nginx PUT/GET, scp, rsync
over ssh and curl against ``python -m http.server``, on the same disk in the same run.

Every transfer starts after ``os.sync()`` (no dirty pages from the previous one), every copy's
SHA-256 is checked against the source, and each tool's copies are deleted before the next tool
runs (so --full's 10 GB files fit on the disk).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from performance_test_project.baselines import HttpServer, SshServer
from performance_test_project.common import MIB, AppServer, TusUpload, download, make_source, sha256_file, upload_put

TOOLS = ["biofm", "nginx", "scp", "rsync", "http.server"]
LABELS = {
    "biofm": "BioFileManager (tus / Range GET)",
    "nginx": "nginx PUT / GET",
    "scp": "scp",
    "rsync": "rsync over ssh",
    "http.server": "curl ← python -m http.server",
}


@dataclass
class Servers:
    workdir: Path
    app: AppServer
    token: str
    project: int
    nginx_port: int
    ssh: SshServer
    http: HttpServer


def size_label(size: int) -> str:
    return f"{size // 1000**3} GB" if size >= 1000**3 else f"{size // 1000**2} MB"


def _best(times: list[float]) -> float:
    return min(times) if times else float("nan")


def measure_size(s: Servers, size: int, rounds: int, chunk: int, log) -> dict[str, dict]:
    work = s.workdir / "throughput"
    work.mkdir(exist_ok=True)
    source = work / f"source-{size}.bin"
    log(f"  {size_label(size)}: generating the source file")
    expected = make_source(source, size)
    mb = size / 1e6
    out: dict[str, dict] = {}
    dl = work / "download.bin"
    auth = {"Authorization": f"Token {s.token}"}
    nginx_dir = s.workdir / "nginx-root" / "put"
    remote = work / "remote"
    remote.mkdir(exist_ok=True)

    def checked(path: Path) -> bool:
        ok = sha256_file(path) == expected
        path.unlink(missing_ok=True)
        return ok

    for tool in TOOLS:
        up: list[float] = []
        down: list[float] = []
        ok = True
        for round_no in range(rounds):
            name = f"r{round_no}-{size}.bin"
            os.sync()
            if tool == "biofm":
                upload = TusUpload(s.app.port, s.token, s.project, source, chunk=chunk, filename=f"tp-{name}")
                up.append(upload.run().seconds)
                file_id = upload.file_id()
                ok &= s.app.stored_sha256(file_id) == expected
                os.sync()
                stats, digest, _ = download(s.app.port, f"/api/files/{file_id}/download/", headers=auth, dest=dl)
                down.append(stats.seconds)
                ok &= digest == expected and checked(dl)
                s.app.discard_file(file_id)
            elif tool == "nginx":
                up.append(upload_put(s.nginx_port, f"/put/{name}", source))
                ok &= sha256_file(nginx_dir / name) == expected
                os.sync()
                stats, digest, _ = download(s.nginx_port, f"/put/{name}", dest=dl)
                down.append(stats.seconds)
                ok &= digest == expected and checked(dl)
                (nginx_dir / name).unlink()
            elif tool in ("scp", "rsync"):
                send = s.ssh.scp_upload if tool == "scp" else s.ssh.rsync_upload
                fetch = s.ssh.scp_download if tool == "scp" else s.ssh.rsync_download
                up.append(send(source, remote / name))
                ok &= sha256_file(remote / name) == expected
                os.sync()
                down.append(fetch(remote / name, dl))
                ok &= checked(dl)
                (remote / name).unlink()
            else:  # http.server serves the directory; it takes no uploads
                shutil.copyfile(source, s.http.directory / name)
                os.sync()
                down.append(s.http.download(name, dl))
                ok &= checked(dl)
                (s.http.directory / name).unlink()
        out[tool] = {
            "upload_mb_s": mb / _best(up) if up and tool != "http.server" else None,
            "download_mb_s": mb / _best(down) if down else None,
            "upload_s": _best(up) if tool != "http.server" else None,
            "download_s": _best(down),
            "sha256_ok": bool(ok),
        }
        up_text = f"{out[tool]['upload_mb_s']:8.1f}" if out[tool]["upload_mb_s"] else "       —"
        log(
            f"    {tool:12} up {up_text} MB/s   down {out[tool]['download_mb_s']:8.1f} MB/s"
            f"   sha256 {'ok' if ok else 'MISMATCH'}"
        )
    source.unlink()
    return out


def run(s: Servers, sizes: list[int], rounds: int, log, chunk: int = 64 * MIB) -> dict:
    results = {}
    for size in sizes:
        # One round for the 10 GB files: a second would add half an hour and change little.
        size_rounds = rounds if size < 5 * 1000**3 else 1
        results[size_label(size)] = {"bytes": size, "rounds": size_rounds,
                                     **measure_size(s, size, size_rounds, chunk, log)}  # fmt: skip
    return results
