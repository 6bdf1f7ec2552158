"""Resume and lossy-network scenarios.

- client killed: a tus client process is SIGKILLed in the middle of a PATCH and started again;
  it finds its upload URL, asks the server for the offset (HEAD) and goes on. Measured: process
  start → offset known, and → first resumed chunk (256 KiB) acknowledged. Target < 0.5 s.
- server killed: gunicorn (master and workers) gets SIGKILL in the middle of a PATCH and is
  started again on the same port; the client retries from the server's offset. Measured: the
  restart, and healthy → first resumed chunk acknowledged (a PATCH that died with the server
  still holds the upload's lease until it expires; the client waits it out on 423).
- download cut: a download stops a third of the way in and resumes with Range + If-Range.
- lossy network: the same uploads and downloads through ``FaultProxy`` (30 % of requests broken
  by a drop or a stall), against the same transfers through the proxy with no faults.

SHA-256 of every file is checked, on the server (the stored digest) and on the bytes received.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from performance_test_project.common import (
    MIB,
    ROOT,
    AppServer,
    TusUpload,
    UploadRefused,
    download,
    make_source,
    request,
    sha256_file,
)
from performance_test_project.faultproxy import FaultProxy

LEASE_WAIT = 180  # seconds a client waits at most for a dead PATCH's lease (BIOFM_UPLOAD_LEASE_SECONDS, 15 s)


def _events(line: str) -> dict:
    try:
        return json.loads(line)
    except ValueError:
        return {}


def client_killed(app: AppServer, token: str, project: int, workdir: Path, size: int, log, ssh=None) -> dict:
    source = workdir / "resume-client.bin"
    expected = make_source(source, size)
    url_file = workdir / "resume-client.url"
    url_file.unlink(missing_ok=True)
    script = ROOT / "performance_test_project" / "tus_client.py"
    args = [sys.executable, str(script), str(app.port), token, str(project), str(source), str(url_file)]
    first = subprocess.Popen([*args, "--chunk-mib", "4"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    killed_at = 0
    deadline = time.monotonic() + 120
    for line in first.stdout:  # type: ignore[union-attr]
        event = _events(line)
        if event.get("event") == "chunk" and event["offset"] >= size // 3:
            time.sleep(0.01)  # the next PATCH is on the wire
            first.kill()
            killed_at = event["offset"]
            break
        if time.monotonic() > deadline:
            break
    first.wait(timeout=30)
    if first.stdout:
        first.stdout.close()
    spawned = time.time()
    second = subprocess.run(
        [*args, "--chunk-mib", "4", "--first-chunk-kib", "256"], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    events = [_events(line) for line in second.stdout.splitlines()]
    head = next((e for e in events if e.get("event") == "head"), {})
    first_chunk = next((e for e in events if e.get("event") == "chunk"), {})
    done = next((e for e in events if e.get("event") == "done"), {})
    if not done:
        raise RuntimeError(f"the restarted client did not finish: {second.stdout[-500:]} {second.stderr[-1000:]}")
    stored = app.stored_sha256(done["file"])
    result = {
        "bytes": size,
        "acknowledged_before_kill": killed_at,
        "resumed_from_offset": head.get("offset"),
        "process_start_to_offset_s": head["t"] - spawned,
        "process_start_to_resumed_chunk_s": first_chunk["t"] - spawned,
        "first_request_to_resumed_chunk_s": first_chunk["t"] - events[0]["t"],
        "process_start_to_done_s": done["t"] - spawned,
        "retries_423": sum(1 for e in events if e.get("event") == "retry"),
        "sha256_ok": stored == expected,
    }
    log(
        f"  client killed at ≥ {killed_at / MIB:.0f} MiB, resumed from {head.get('offset', 0) / MIB:.1f} MiB: "
        f"offset known after {result['process_start_to_offset_s'] * 1000:.0f} ms, first resumed chunk after "
        f"{result['process_start_to_resumed_chunk_s'] * 1000:.0f} ms (process start); sha256 "
        f"{'ok' if result['sha256_ok'] else 'MISMATCH'}"
    )
    if ssh is not None:
        result["baselines"] = {"rsync": rsync_killed(ssh, workdir, source, expected, size)}
        part = result["baselines"]["rsync"]
        log(
            f"  rsync --partial --append-verify killed at {part['kept_after_kill'] / MIB:.0f} MiB kept, restarted: "
            f"done after {part['process_start_to_done_s']:.2f} s (biofm: {result['process_start_to_done_s']:.2f} s); "
            f"sha256 {'ok' if part['sha256_ok'] else 'MISMATCH'}"
        )
    source.unlink()
    return result


def rsync_killed(ssh, workdir: Path, source: Path, expected: str, size: int) -> dict:
    """The same kill and restart with rsync over ssh, whose resume is ``--partial --append-verify``."""
    dest_dir = workdir / "rsync-dest"
    dest_dir.mkdir(exist_ok=True)
    dest = dest_dir / source.name
    cmd = ["rsync", "-q", "--partial", "--append-verify", "-e", ssh.ssh_command(), str(source),
           f"{ssh.user}@127.0.0.1:{dest}"]  # fmt: skip
    first = subprocess.Popen(cmd, start_new_session=True)
    deadline = time.monotonic() + 120
    while first.poll() is None and time.monotonic() < deadline:
        written = sum(p.stat().st_size for p in dest_dir.iterdir() if p.is_file())
        if written >= size // 3:
            break
        time.sleep(0.002)
    try:
        os.killpg(first.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    first.wait(timeout=30)
    time.sleep(0.5)  # the receiving rsync notices the broken connection and keeps the partial file
    kept = dest.stat().st_size if dest.exists() else 0
    started = time.perf_counter()
    subprocess.run(cmd, check=True, timeout=600)
    elapsed = time.perf_counter() - started
    ok = sha256_file(dest) == expected
    shutil.rmtree(dest_dir)
    return {"bytes": size, "kept_after_kill": kept, "process_start_to_done_s": elapsed, "sha256_ok": ok}


def server_killed(app: AppServer, token: str, project: int, workdir: Path, size: int, log) -> dict:
    source = workdir / "resume-server.bin"
    expected = make_source(source, size)
    upload = TusUpload(app.port, token, project, source, chunk=16 * MIB, filename="server-kill.bin", timeout=30)
    upload.create()
    marks: dict[str, float] = {}
    first_after: list[float] = []

    def progress(offset: int) -> None:
        if "healthy" in marks and not first_after:
            first_after.append(time.monotonic())

    failure: list[BaseException] = []

    def run() -> None:
        try:
            upload.run(max_retries=2000, deadline=time.monotonic() + LEASE_WAIT + 60, on_progress=progress)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    # Kill while the server is inside a PATCH: its part file has grown past the last offset
    # the client saw acknowledged.
    part = app.workdir / "data" / "tmp" / "tus" / (upload.path.rstrip("/").rsplit("/", 1)[1] + ".part")
    deadline = time.monotonic() + 120
    while thread.is_alive() and time.monotonic() < deadline:
        acknowledged = upload.offset
        if acknowledged >= size // 3 and part.exists() and part.stat().st_size > acknowledged + MIB:
            break
        time.sleep(0.001)
    offset_at_kill = upload.offset
    part_at_kill = part.stat().st_size if part.exists() else None
    marks["kill"] = time.monotonic()
    app.kill()
    app.start()
    marks["healthy"] = time.monotonic()
    thread.join(timeout=LEASE_WAIT + 120)
    if failure or thread.is_alive():
        raise RuntimeError(f"the upload did not complete after the server restart: {failure}")
    stored = app.stored_sha256(upload.file_id())
    result = {
        "bytes": size,
        "acknowledged_before_kill": offset_at_kill,
        "part_file_bytes_at_kill": part_at_kill,
        "restart_s": marks["healthy"] - marks["kill"],
        "healthy_to_resumed_chunk_s": (first_after[0] - marks["healthy"]) if first_after else None,
        "client_retries": upload.stats.retries,
        "errors": upload.stats.errors,
        "sha256_ok": stored == expected,
    }
    log(
        f"  server SIGKILLed at {offset_at_kill / MIB:.0f} MiB: restarted in {result['restart_s']:.1f} s, "
        f"first resumed chunk {result['healthy_to_resumed_chunk_s'] or float('nan'):.2f} s after healthy "
        f"({upload.stats.errors}); sha256 {'ok' if result['sha256_ok'] else 'MISMATCH'}"
    )
    source.unlink()
    return result


def cut_and_resume(port: int, path: str, headers: dict, dest: Path, size: int, expected: str) -> dict:
    """Download a third of ``path``, drop the connection, then ask for the rest with Range +
    If-Range (the ETag of the first answer) and append it; check the whole file's SHA-256."""
    _, _, got = download(port, path, headers=headers, dest=dest, stop_after=size // 3)
    etag = request(port, "HEAD", path, headers=headers).header("ETag")
    resume_headers = {**headers, "Range": f"bytes={got}-", **({"If-Range": etag} if etag else {})}
    started = time.perf_counter()
    response = request(port, "GET", path, headers=resume_headers)
    first_byte = None
    with open(dest, "r+b") as handle:
        handle.seek(got)
        if response.status != 206:  # no Range support: the whole file again, from the start
            handle.seek(0)
            handle.truncate()
        while data := response.read(4 * MIB):
            if first_byte is None:
                first_byte = time.perf_counter() - started
            handle.write(data)
    response.close()
    result = {
        "bytes": size,
        "cut_at": got,
        "status": response.status,
        "content_range": response.header("Content-Range"),
        "time_to_first_resumed_byte_s": first_byte,
        "resumed_bytes": size - got if response.status == 206 else size,
        "sha256_ok": sha256_file(dest) == expected,
    }
    dest.unlink()
    return result


def download_cut(app: AppServer, token: str, project: int, workdir: Path, size: int, log,
                 nginx_port: int | None = None, http_server=None) -> dict:  # fmt: skip
    source = workdir / "resume-download.bin"
    expected = make_source(source, size)
    upload = TusUpload(app.port, token, project, source, chunk=64 * MIB, filename="download-cut.bin")
    upload.run()
    file_id = upload.file_id()
    partial = workdir / "download-cut.part"
    result = cut_and_resume(app.port, f"/api/files/{file_id}/download/", {"Authorization": f"Token {token}"},
                            partial, size, expected)  # fmt: skip
    result["baselines"] = {}
    if nginx_port:
        shutil.copyfile(source, workdir.parent / "nginx-root" / "put" / "cut.bin")
        result["baselines"]["nginx"] = cut_and_resume(nginx_port, "/put/cut.bin", {}, partial, size, expected)
        (workdir.parent / "nginx-root" / "put" / "cut.bin").unlink()
    if http_server is not None:
        shutil.copyfile(source, http_server.directory / "cut.bin")
        result["baselines"]["http.server"] = cut_and_resume(http_server.port, "/cut.bin", {}, partial, size, expected)
        (http_server.directory / "cut.bin").unlink()
    for name, part in [("biofm", result), *result["baselines"].items()]:
        first = part["time_to_first_resumed_byte_s"]
        log(
            f"  {name}: download cut at {part['cut_at'] / MIB:.0f} MiB, resumed with HTTP {part['status']} "
            f"({part['content_range'] or 'whole file again'}), first byte after {(first or 0) * 1000:.1f} ms; "
            f"sha256 {'ok' if part['sha256_ok'] else 'MISMATCH'}"
        )
    source.unlink()
    app.discard_file(file_id)
    return result


def _transfer_through(proxy: FaultProxy, token: str, project: int, source: Path, chunk: int, downloads: int,
                      tag: str) -> dict:  # fmt: skip
    deadline = time.monotonic() + 600
    upload = TusUpload(proxy.port, token, project, source, chunk=chunk, filename=f"lossy-{tag}.bin", timeout=2)
    for _ in range(100):  # creation itself may be cut
        try:
            upload.create()
            break
        except (UploadRefused, OSError, TimeoutError):
            upload.stats.failed("create")
    up = upload.run(max_retries=5000, deadline=deadline)
    file_id = None
    for _ in range(200):
        try:
            file_id = upload.file_id()
            break
        except Exception:  # noqa: BLE001 - the status request itself may be cut
            time.sleep(0.05)
    down_seconds, down_retries, digests = 0.0, 0, []
    for _ in range(downloads):
        stats, digest, _ = download(
            proxy.port,
            f"/api/files/{file_id}/download/",
            headers={"Authorization": f"Token {token}"},
            max_retries=5000,
            deadline=deadline,
            timeout=2,
        )
        down_seconds += stats.seconds
        down_retries += stats.retries
        digests.append(digest)
    return {
        "file_id": file_id,
        "upload_s": up.seconds,
        "upload_retries": up.retries,
        "upload_errors": up.errors,
        "download_s": down_seconds,
        "download_retries": down_retries,
        "digests": digests,
    }


def lossy(app: AppServer, token: str, project: int, workdir: Path, size: int, chunk: int, downloads: int,
          rate: float, log) -> dict:  # fmt: skip
    source = workdir / "lossy.bin"
    expected = make_source(source, size)
    results = {}
    for label, fault_rate in (("clean", 0.0), ("lossy", rate)):
        os.sync()
        with FaultProxy(app.port, rate=fault_rate) as proxy:
            run = _transfer_through(proxy, token, project, source, chunk, downloads, label)
            counts = dict(proxy.counts)
        run["sha256_ok"] = app.stored_sha256(run["file_id"]) == expected and all(d == expected for d in run["digests"])
        run["proxy"] = counts
        faults = counts.get("drop", 0) + counts.get("stall", 0)
        run["broken_requests_share"] = faults / counts["connections"] if counts.get("connections") else 0
        del run["digests"]
        app.discard_file(run["file_id"])
        results[label] = run
        log(
            f"  {label:5} (fault rate {fault_rate:.0%}): upload {run['upload_s']:.2f} s ({run['upload_retries']} "
            f"retries), {downloads} downloads {run['download_s']:.2f} s ({run['download_retries']} resumes), "
            f"{faults}/{counts.get('connections', 0)} connections broken; sha256 "
            f"{'ok' if run['sha256_ok'] else 'MISMATCH'}"
        )
    clean, bad = results["clean"], results["lossy"]
    results["bytes"] = size
    results["chunk_bytes"] = chunk
    results["fault_rate"] = rate
    results["upload_overhead"] = bad["upload_s"] / clean["upload_s"] - 1
    results["download_overhead"] = bad["download_s"] / clean["download_s"] - 1
    results["sha256_ok"] = clean["sha256_ok"] and bad["sha256_ok"]
    source.unlink()
    return results
