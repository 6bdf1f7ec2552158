"""Uploads (tus, resumable across kills), downloads (Range, resumable) and the tree bookkeeping
that upload, download and sync share.

Resuming an upload after the process was killed works like rsync's ``--partial``: before the
first byte is sent, the upload's URL is written to a small JSON file in the state directory
(``state_dir()/uploads``), keyed by the server, target, name and the local file's size and
modification time; a rerun finds it, asks the server for its offset (``HEAD``) and sends the
rest. A download writes into ``<name>.biofm-part`` beside its destination and continues it with
``Range``/``If-Range``. Every transfer ends with a SHA-256 comparison of both ends.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from .client import ApiError, ChecksumMismatch, Client, error_from, state_dir

Progress = Callable[[int], None]
CHUNK = 64 * 1024 * 1024
READ = 1024 * 1024
CONFLICT_CHOICES = ("refuse", "skip", "replace", "keep_both")


def _noop(_: int) -> None:
    return None


# --- local hashing, with a cache keyed by (path, size, mtime) ---------------------------------


class HashCache:
    """SHA-256 of local files, remembered while a file's size and mtime stay the same."""

    def __init__(self) -> None:
        self.path = state_dir() / "hashes.json"
        self._lock = threading.Lock()
        try:
            self._data: dict[str, list[Any]] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self._data = {}
        self._dirty = False

    def sha256(self, path: Path, progress: Progress = _noop) -> str:
        stat = path.stat()
        key = str(path.resolve())
        with self._lock:
            known = self._data.get(key)
        if known and known[0] == stat.st_size and known[1] == stat.st_mtime_ns:
            return str(known[2])
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while block := handle.read(READ):
                digest.update(block)
                progress(len(block))
        value = digest.hexdigest()
        with self._lock:
            self._data[key] = [stat.st_size, stat.st_mtime_ns, value]
            self._dirty = True
        return value

    def save(self) -> None:
        with self._lock:
            if not self._dirty:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self._data))
            os.replace(tmp, self.path)
            self._dirty = False


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(READ):
            digest.update(block)
    return digest.hexdigest()


# --- the remote tree --------------------------------------------------------------------------


class RemoteTree:
    """Folders and files of one project below a base folder, by relative POSIX path; creates
    folders on demand (once, even from several threads)."""

    def __init__(self, client: Client, project: int, base_folder: int | None) -> None:
        self.client = client
        self.project = project
        self.base = base_folder
        self._lock = threading.Lock()
        self._folders: dict[PurePosixPath, int | None] = {PurePosixPath("."): base_folder}
        self._listings: dict[int | None, dict[str, dict[str, Any]]] = {}
        self._loaded = False

    def load(self) -> None:
        """Read every folder under the base (one listing) so that paths resolve without requests."""
        if self._loaded:
            return
        self.client.project(self.project)  # 404 (exit 4) for a project that is missing or hidden
        folders = self.client.folders(self.project)
        base_path = ""
        if self.base is not None:
            base = next((f for f in folders if f["id"] == self.base), None)
            if base is None:
                raise ApiError(404, f"Folder {self.base} is not in project {self.project}.", "not_found")
            base_path = base["path"].rstrip("/")
        for folder in folders:
            path = folder["path"]
            if base_path and not path.startswith(base_path + "/"):
                continue
            rel = path[len(base_path) :].strip("/")
            if rel:
                self._folders[PurePosixPath(rel)] = folder["id"]
        self._loaded = True

    def folder_id(self, rel: PurePosixPath, create: bool = False) -> int | None | str:
        """The folder's id (``None`` is the project root); ``"missing"`` when absent."""
        with self._lock:
            if rel in self._folders:
                return self._folders[rel]
            if not create:
                return "missing"
            return self.folder_id_locked(rel)

    def folder_id_locked(self, rel: PurePosixPath) -> int | None:
        if rel in self._folders:
            return self._folders[rel]
        parent = self.folder_id_locked(rel.parent)
        try:
            folder_id = self.client.create_folder(self.project, parent, rel.name)["id"]
        except ApiError as exc:
            if exc.status != 409:
                raise
            folder_id = next(f["id"] for f in self.client.folders(self.project, parent) if f["name"] == rel.name)
        self._folders[rel] = folder_id
        return folder_id

    def listing(self, folder_id: int | None, refresh: bool = False) -> dict[str, dict[str, Any]]:
        with self._lock:
            if refresh or folder_id not in self._listings:
                self._listings[folder_id] = {f["name"]: f for f in self.client.files_in(self.project, folder_id)}
            return self._listings[folder_id]

    def files(self) -> dict[PurePosixPath, dict[str, Any]]:
        """Every live file under the base, by relative path."""
        self.load()
        by_id = {folder_id: rel for rel, folder_id in self._folders.items()}
        params: dict[str, Any] = {"project": self.project}
        if self.base is not None:
            params.update(folder=self.base, recursive="true")
        found: dict[PurePosixPath, dict[str, Any]] = {}
        for item in self.client.files(**params):
            rel = by_id.get(item["folder"])
            if rel is None:
                continue
            found[rel / item["name"]] = item
        return found


# --- what to upload ---------------------------------------------------------------------------


@dataclass
class LocalFile:
    path: Path
    rel: PurePosixPath  # where it goes, relative to the target folder

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def walk(root: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name


def local_files(sources: Iterable[str]) -> list[LocalFile]:
    """Files to upload: a file goes into the target folder; a directory becomes a folder of the
    same name with its tree below it, or, written with a trailing slash, only its contents."""
    found: list[LocalFile] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            prefix = PurePosixPath(".") if source.endswith(("/", os.sep)) else PurePosixPath(path.resolve().name)
            for item in walk(path):
                found.append(LocalFile(item, prefix / PurePosixPath(item.relative_to(path).as_posix())))
        elif path.is_file():
            found.append(LocalFile(path, PurePosixPath(path.name)))
        else:
            raise FileNotFoundError(f"{source}: no such file or directory")
    return found


def tree_files(root: Path) -> dict[PurePosixPath, Path]:
    return {PurePosixPath(p.relative_to(root).as_posix()): p for p in walk(root) if not p.name.endswith(PART)}


# --- tus upload -------------------------------------------------------------------------------


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


class _Slice:
    """``length`` bytes of a file from its current position, read in blocks (a PATCH body that is
    streamed, never held in memory), reporting progress."""

    def __init__(self, handle: BinaryIO, length: int, progress: Progress) -> None:
        self.handle = handle
        self.left = length
        self.progress = progress

    def __len__(self) -> int:
        return self.left

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        size = self.left if size is None or size < 0 else min(size, self.left)
        data = self.handle.read(min(size, READ))
        self.left -= len(data)
        self.progress(len(data))
        return data


@dataclass
class UploadResult:
    path: str
    remote: str
    status: str  # uploaded | resumed | skipped | failed
    file: int | None = None
    sha256: str = ""
    size: int = 0
    error: str = ""
    exit_code: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Uploader:
    def __init__(
        self,
        client: Client,
        tree: RemoteTree,
        hashes: HashCache,
        *,
        on_conflict: str = "refuse",
        chunk_size: int = CHUNK,
        metadata: dict[str, str] | None = None,
        wait_seconds: float = 3600,
    ) -> None:
        self.client = client
        self.tree = tree
        self.hashes = hashes
        self.on_conflict = on_conflict
        self.chunk_size = chunk_size
        self.metadata = metadata or {}
        self.wait_seconds = wait_seconds
        self.states = state_dir() / "uploads"

    def _state_file(self, item: LocalFile, folder_id: int | None) -> Path:
        stat = item.path.stat()
        key = "|".join(
            map(
                str,
                [
                    self.client.url,
                    self.tree.project,
                    folder_id,
                    item.rel.name,
                    item.path.resolve(),
                    stat.st_size,
                    stat.st_mtime_ns,
                ],
            )
        )
        return self.states / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")

    def _save_state(self, path: Path, state: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("w") as handle:
            json.dump(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def upload(self, item: LocalFile, progress: Progress = _noop) -> UploadResult:
        size = item.size
        remote = str(item.rel)
        folder_id = self.tree.folder_id(item.rel.parent, create=True)
        assert not isinstance(folder_id, str)
        state_path = self._state_file(item, folder_id)
        state: dict[str, Any] = {}
        if state_path.is_file():
            try:
                state = json.loads(state_path.read_text())
            except ValueError:
                state = {}
        sha = state.get("sha256") or self.hashes.sha256(item.path)
        on_conflict = self.on_conflict
        url = state.get("url")
        offset = 0
        resumed = False
        if url:
            head = self.client.raw("HEAD", url, headers={"Tus-Resumable": "1.0.0"})
            if head.status_code == 200 and "Upload-Offset" in head.headers:
                offset = int(head.headers["Upload-Offset"])
                resumed = True
            else:
                url = None  # expired, terminated or failed: start again
        existing = self.tree.listing(folder_id).get(item.rel.name)
        if existing is not None and not url:
            same = existing.get("sha256") == sha
            if same or on_conflict == "skip":
                state_path.unlink(missing_ok=True)  # a stale upload URL, if any
                progress(size)
                reason = "same SHA-256 already there" if same else "name taken (--on-conflict skip)"
                return UploadResult(
                    str(item.path),
                    remote,
                    "skipped",
                    existing["id"],
                    existing.get("sha256", ""),
                    size,
                    extra={"reason": reason},
                )
            if on_conflict == "refuse":
                raise ApiError(
                    409,
                    f"{remote}: a different file of that name is already there "
                    "(choose --on-conflict replace or keep_both).",
                    "name_conflict",
                )
        if not url:
            metadata = {
                "filename": item.rel.name,
                "project": str(self.tree.project),
                "checksum": f"sha256:{sha}",
                **self.metadata,
            }
            if folder_id is not None:
                metadata["folder"] = str(folder_id)
            if on_conflict in ("replace", "keep_both"):
                metadata["on_conflict"] = on_conflict
            response = self.client.raw(
                "POST",
                "/api/uploads/",
                headers={
                    "Tus-Resumable": "1.0.0",
                    "Upload-Length": str(size),
                    "Upload-Metadata": ",".join(f"{k} {_b64(v)}" for k, v in metadata.items()),
                },
            )
            if response.status_code != 201:
                error = error_from(response)
                if error.status == 409 and on_conflict in ("replace", "keep_both"):
                    error.detail += f" The server did not accept --on-conflict {on_conflict} for {remote}."
                raise error
            url = self.client.absolute(response.headers["Location"])
            self._save_state(state_path, {"url": url, "sha256": sha, "path": str(item.path), "remote": remote})
        progress(offset)
        with item.path.open("rb") as handle:
            retries = 0
            while offset < size:
                handle.seek(offset)
                length = min(self.chunk_size, size - offset)
                try:
                    response = self.client.raw(
                        "PATCH",
                        url,
                        data=_Slice(handle, length, progress),
                        headers={
                            "Tus-Resumable": "1.0.0",
                            "Upload-Offset": str(offset),
                            "Content-Type": "application/offset+octet-stream",
                            "Content-Length": str(length),
                        },
                    )
                except ApiError:
                    response = None
                if response is not None and response.status_code == 204:
                    offset = int(response.headers["Upload-Offset"])
                    retries = 0
                    continue
                if response is not None and response.status_code not in (409, 423, 500, 502, 503, 504):
                    raise error_from(response)
                retries += 1
                if retries > 8:
                    raise ApiError(
                        response.status_code if response is not None else 0,
                        f"{remote}: the upload kept failing",
                        "retries_exhausted",
                    )
                time.sleep(min(2**retries * 0.25, 10))
                head = self.client.raw("HEAD", url, headers={"Tus-Resumable": "1.0.0"})
                if head.status_code != 200:
                    raise error_from(head)
                sent = int(head.headers["Upload-Offset"])
                offset = sent
        status = self._wait(url, remote)
        state_path.unlink(missing_ok=True)
        if status.get("sha256") != sha:
            raise ChecksumMismatch(
                f"{remote}: the server stored SHA-256 {status.get('sha256')}, the local file has {sha}"
            )
        return UploadResult(str(item.path), remote, "resumed" if resumed else "uploaded", status.get("file"), sha, size)

    def _wait(self, url: str, remote: str) -> dict[str, Any]:
        """Poll the upload's status until the server has hashed and stored the file."""
        deadline = time.monotonic() + self.wait_seconds
        pause = 0.1
        while True:
            status = self.client.request("GET", url.rstrip("/") + "/status/").json()
            if status["state"] == "completed":
                return dict(status)
            if status["state"] not in ("active", "verifying"):
                raise ApiError(
                    422,
                    f"{remote}: the server did not store the upload: {status.get('error') or status['state']}",
                    "upload_failed",
                )
            if time.monotonic() > deadline:
                raise ApiError(0, f"{remote}: still {status['state']} after {self.wait_seconds:.0f} s", "timeout")
            time.sleep(pause)
            pause = min(pause * 1.5, 2.0)


# --- download ---------------------------------------------------------------------------------

PART = ".biofm-part"


@dataclass
class DownloadResult:
    file: int
    path: str
    status: str  # downloaded | resumed | skipped | failed
    sha256: str = ""
    size: int = 0
    error: str = ""
    exit_code: int = 0


def _hash_blocks(digest: Any, blocks: queue.Queue[bytes | None]) -> None:
    while (block := blocks.get()) is not None:
        digest.update(block)


def download(
    client: Client, remote: dict[str, Any], dest: Path, progress: Progress = _noop, hashes: HashCache | None = None
) -> DownloadResult:
    """Fetch one file to ``dest`` (through ``dest.biofm-part``), resuming a part left by an
    earlier run with ``Range`` + ``If-Range``, and check its SHA-256."""
    size, sha = int(remote["size"]), remote.get("sha256") or ""
    if dest.is_file() and dest.stat().st_size == size:
        local = hashes.sha256(dest) if hashes else sha256_of(dest)
        if local == sha:
            progress(size)
            return DownloadResult(remote["id"], str(dest), "skipped", sha, size)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + PART)
    digest = hashlib.sha256()
    offset = 0
    if part.is_file() and 0 < part.stat().st_size <= size:
        with part.open("rb") as handle:
            while block := handle.read(READ):
                digest.update(block)
                offset += len(block)
    headers = {}
    if offset:
        headers = {"Range": f"bytes={offset}-", "If-Range": f'"{sha}"'}
    response = client.request("GET", f"/api/files/{remote['id']}/download/", headers=headers, stream=True)
    resumed = response.status_code == 206
    if not resumed:
        digest, offset = hashlib.sha256(), 0
    progress(offset)
    # The SHA-256 is computed in a second thread while this one receives and writes (hashlib
    # releases the GIL on large blocks), so hashing does not slow the transfer down.
    blocks: queue.Queue[bytes | None] = queue.Queue(maxsize=16)
    hasher = threading.Thread(target=_hash_blocks, args=(digest, blocks), daemon=True)
    hasher.start()
    try:
        with response, part.open("r+b" if resumed else "wb") as handle:
            handle.seek(offset)
            handle.truncate()
            for block in response.iter_content(READ):
                handle.write(block)
                blocks.put(block)
                progress(len(block))
    finally:
        blocks.put(None)
        hasher.join()
    got = digest.hexdigest()
    if sha and got != sha:
        part.unlink(missing_ok=True)
        raise ChecksumMismatch(f"{dest}: downloaded SHA-256 {got}, the server says {sha}")
    os.replace(part, dest)
    return DownloadResult(remote["id"], str(dest), "resumed" if resumed else "downloaded", got, size)
