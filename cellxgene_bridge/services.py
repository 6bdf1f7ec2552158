"""Publishing ``.h5ad`` files to a cellxgene viewer, and the process manager behind it.

Flow (``request_publication`` in the request, ``publish_dataset`` in a Celery task):

1. ``request_publication`` checks the file is visible to the user (the caller looked it up through
   ``visible_files``), is named ``.h5ad`` and starts like HDF5; it creates a ``Publication`` row,
   audits ``cellxgene.publish`` and queues the task after commit.
2. ``publish_dataset`` opens the file's AnnData parts (obs, var, obsm; X stays on disk), and puts
   a copy at ``CELLXGENE_DATA_DIR/<file id>__<name>.h5ad``: a hard link of the stored blob when
   ``obsm`` already holds a layout cellxgene accepts, else a copy to which ``ensure_embedding``
   adds a 2-D TruncatedSVD of X as ``obsm['X_truncated_svd']`` (computed on the sparse matrix as
   stored, never densified). Layouts the ``h5ad_vis`` analysis stored for the file (UMAP, PCA,
   t-SNE; ``ml_interface``) are written into the copy instead, and no SVD is computed.
3. ``launch`` (the process manager) takes a lease on the viewer state, starts
   ``cellxgene --no-upgrade-check launch <copy> --host H --port P --title <name>`` on whichever
   of ``CELLXGENE_PORT`` / ``CELLXGENE_PORT + 1`` the running viewer does not use, after making
   sure that port is free, and waits until ``/api/v0.2/config`` names the dataset. Only then is
   the previous viewer stopped (its PID checked to be a cellxgene we started, SIGTERM, then
   SIGKILL), so a file cellxgene refuses leaves the previous viewer serving, and the failure is
   recorded with the tail of ``CELLXGENE_LOG_FILE``.

All state is in the database (``Publication``, ``Viewer``): any gunicorn worker can answer the
status and proxy the viewer; the process itself runs where the task ran.

Public surface: ``request_publication``, ``publish_dataset``, ``ensure_embedding``, ``add_layouts``,
``usable_layouts``, ``inspect_h5ad``, ``launch``, ``current_viewer``, ``stop_viewer``,
``stop_viewers``, ``check_viewers``, ``status_for``, ``is_our_process``, ``PublishError``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from access.policy import visible_files
from authentication import audit
from file_upload import storage
from file_upload.models import File

from .models import ACTIVE_STATUSES, Publication, PublicationStatus, Viewer, ViewerStatus

log = logging.getLogger(__name__)

EMBEDDING_KEY = "X_truncated_svd"
LOG_TAIL_LINES = 25
PROXY_URL = "/cellxgene/"
STOP_GRACE_SECONDS = 10
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class PublishError(Exception):
    """A publication that cannot go on; the message is for the user, ``log_tail`` for the curious."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.log_tail = log_tail


def node_name() -> str:
    return socket.gethostname()


# --- the request side -------------------------------------------------------------------------


def is_h5ad_name(name: str) -> bool:
    return name.lower().endswith(".h5ad")


def request_publication(user: Any, file: File) -> Publication:
    """Queue a publication of ``file`` (which the caller found through ``visible_files(user)``)."""
    from django.core.exceptions import ValidationError

    if not is_h5ad_name(file.name) and (file.file_format or "").lower() != "h5ad":
        raise ValidationError({"file": "Only .h5ad (AnnData) files can be sent to cellxgene."})
    path = storage.path_for(file.storage_key)
    try:
        with path.open("rb") as handle:
            head = handle.read(len(HDF5_SIGNATURE))
    except OSError as exc:
        raise ValidationError({"file": "The file's bytes are missing from the store."}) from exc
    if head != HDF5_SIGNATURE:
        audit.record(user, "cellxgene.failure", file, dataset=file.name, error="not an HDF5 file")
        raise ValidationError({"file": "This is not an HDF5 file, so not a readable .h5ad."})
    with transaction.atomic():
        publication = Publication.objects.create(file=file, dataset=file.name, requested_by=user)
        audit.record(user, "cellxgene.publish", file, dataset=file.name, publication=publication.id)
        transaction.on_commit(lambda: _queue(publication.id))
    return publication


def _queue(publication_id: int) -> None:
    from .tasks import publish_dataset_task

    publish_dataset_task.delay(publication_id)


# --- reading h5ad files -----------------------------------------------------------------------


@dataclass
class H5adInfo:
    n_obs: int
    n_vars: int
    layouts: list[str] = field(default_factory=list)  # obsm keys cellxgene accepts
    x_encoding: str = ""


def _valid_layout(value: Any, n_obs: int) -> bool:
    """cellxgene's rule: an ndarray of f/i/u dtype, shape (n_obs, >= 2), no ±Inf, not all NaN."""
    import numpy as np

    if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiu" or value.ndim != 2:
        return False
    if value.shape[0] != n_obs or value.shape[1] < 2:
        return False
    if value.dtype.kind == "f":
        return not np.any(np.isinf(value)) and not np.all(np.isnan(value))
    return True


def usable_layouts(obsm: Any, n_obs: int) -> list[str]:
    """The ``X_*`` keys of an h5py ``obsm`` group (or a mapping of arrays) cellxgene would show."""
    import h5py
    import numpy as np

    names = []
    for key in obsm.keys():
        if not key.startswith("X_"):
            continue
        value = obsm[key]
        if isinstance(value, h5py.Group):  # sparse matrices and data frames are not layouts
            continue
        if isinstance(value, h5py.Dataset):
            if value.ndim != 2 or value.dtype.kind not in "fiu":
                continue
            value = value[()]
        if _valid_layout(np.asarray(value) if not isinstance(value, np.ndarray) else value, n_obs):
            names.append(key)
    return names


def _x_shape(x: Any) -> tuple[int, int]:
    import h5py

    if isinstance(x, h5py.Dataset):
        if x.ndim != 2:
            raise PublishError("The expression matrix X is not two-dimensional.")
        return int(x.shape[0]), int(x.shape[1])
    shape = x.attrs.get("shape", x.attrs.get("h5sparse_shape"))
    if shape is None or len(shape) != 2:
        raise PublishError("The expression matrix X has no shape (not an AnnData sparse matrix).")
    return int(shape[0]), int(shape[1])


def inspect_h5ad(path: Path) -> H5adInfo:
    """Open the AnnData parts cellxgene needs (obs, var, X's shape, obsm) without loading X."""
    import h5py
    from anndata.io import read_elem

    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise PublishError(f"anndata cannot open this file: {exc}") from exc
    with handle:
        for part in ("obs", "var", "X"):
            if part not in handle:
                raise PublishError(f"This HDF5 file is not AnnData: it has no '{part}'.")
        try:
            obs = read_elem(handle["obs"])
            var = read_elem(handle["var"])
            n_obs, n_vars = _x_shape(handle["X"])
            layouts = usable_layouts(handle["obsm"], n_obs) if "obsm" in handle else []
            encoding = str(handle["X"].attrs.get("encoding-type", "array"))
        except PublishError:
            raise
        except Exception as exc:  # anndata's errors are many; each means "cannot read"
            raise PublishError(f"anndata cannot read this file: {_one_line(exc)}") from exc
    if len(obs) != n_obs or len(var) != n_vars:
        raise PublishError(f"X is {n_obs} × {n_vars} but obs has {len(obs)} rows and var {len(var)}.")
    if n_obs == 0 or n_vars == 0:
        raise PublishError("The dataset is empty (no cells or no genes).")
    return H5adInfo(n_obs=n_obs, n_vars=n_vars, layouts=layouts, x_encoding=encoding)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


def truncated_svd_2d(matrix: Any) -> Any:
    """2-D TruncatedSVD of a cells × genes matrix. Sparse input stays sparse (randomized SVD
    only multiplies by it); the result is float32 (n_obs, 2)."""
    import numpy as np
    from scipy import sparse
    from sklearn.decomposition import TruncatedSVD

    n_obs, n_vars = matrix.shape
    if n_vars < 2 or n_obs < 2:
        raise PublishError("At least 2 cells and 2 genes are needed to compute an embedding.")
    if sparse.issparse(matrix):
        matrix = sparse.csr_matrix(matrix) if matrix.format not in ("csr", "csc") else matrix
        if matrix.dtype.kind != "f":
            matrix = matrix.astype(np.float32)
        values = matrix.data
    else:
        matrix = np.asarray(matrix)
        if matrix.dtype.kind != "f":
            matrix = matrix.astype(np.float32)
        values = matrix
    if not np.all(np.isfinite(values)):
        raise PublishError("X holds NaN or infinite values, so no embedding can be computed.")
    svd = TruncatedSVD(n_components=2, algorithm="randomized", n_iter=5, random_state=0)
    embedding = svd.fit_transform(matrix).astype(np.float32, copy=False)
    if n_vars == 2 and embedding.shape[1] < 2:  # pragma: no cover - sklearn keeps 2 columns
        embedding = np.column_stack([embedding, np.zeros(n_obs, dtype=np.float32)])
    return np.ascontiguousarray(embedding)


def ensure_embedding(path: Path) -> str | None:
    """Give the h5ad at ``path`` a layout cellxgene can show. Returns the obsm key added
    (``X_truncated_svd``), or None when it already had one. Writes in place with h5py, so only
    X (as stored: sparse stays sparse) and the new 2-column array are in memory."""
    import h5py
    from anndata.io import read_elem, write_elem

    with h5py.File(path, "r+") as handle:
        n_obs, _ = _x_shape(handle["X"])
        if "obsm" in handle and usable_layouts(handle["obsm"], n_obs):
            return None
        try:
            matrix = read_elem(handle["X"])
        except Exception as exc:
            raise PublishError(f"anndata cannot read X: {_one_line(exc)}") from exc
        embedding = truncated_svd_2d(matrix)
        del matrix
        if "obsm" not in handle:
            write_elem(handle, "obsm", {})
        obsm = handle["obsm"]
        if EMBEDDING_KEY in obsm:
            del obsm[EMBEDDING_KEY]
        write_elem(obsm, EMBEDDING_KEY, embedding)
    return EMBEDDING_KEY


def analysis_layouts(file: File, n_obs: int) -> dict[str, Any]:
    """Layouts (``X_umap``, ``X_pca``, ``X_tsne``) the ``h5ad_vis`` analysis stored for this file's
    bytes, or nothing."""
    from ml_interface.handlers.h5ad_vis import embeddings_for

    try:
        return embeddings_for(file, n_obs)
    except Exception:  # the analysis store is an extra: publishing goes on without it
        log.exception("reading the stored layouts of file %s failed", file.pk)
        return {}


def add_layouts(path: Path, layouts: dict[str, Any]) -> str:
    """Write ``layouts`` into ``obsm`` of the h5ad copy at ``path``; returns the keys, comma-joined."""
    import h5py
    from anndata.io import write_elem

    with h5py.File(path, "r+") as handle:
        if "obsm" not in handle:
            write_elem(handle, "obsm", {})
        obsm = handle["obsm"]
        for key, value in layouts.items():
            if key in obsm:
                del obsm[key]
            write_elem(obsm, key, value)
    return ",".join(sorted(layouts))[:64]


# --- the worker side --------------------------------------------------------------------------


def data_dir() -> Path:
    path = Path(settings.CELLXGENE_DATA_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def copy_name(file: File) -> str:
    stem = file.name[:-5] if is_h5ad_name(file.name) else file.name
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "dataset"
    return f"{file.id}__{safe[:150]}.h5ad"


def _set(publication: Publication, **values: Any) -> None:
    for key, value in values.items():
        setattr(publication, key, value)
    Publication.objects.filter(pk=publication.pk).update(**values)


def publish_dataset(publication_id: int) -> Publication | None:
    """Copy, embed if needed, and start the viewer for one publication (the Celery task's work)."""
    publication = Publication.objects.select_related("file", "requested_by").filter(pk=publication_id).first()
    if publication is None:
        return None
    if publication.status != PublicationStatus.QUEUED:
        # A redelivered task: whatever the first delivery reached stands (a dead worker's
        # half-done run is marked failed so the user can simply publish again).
        if publication.status in ACTIVE_STATUSES:
            _fail(publication, "The worker handling this publication stopped; send the file again.")
        return publication
    file = publication.file
    if file is None or file.deleted_at is not None:
        _fail(publication, "The file was deleted before it could be published.")
        return publication
    tmp: Path | None = None
    try:
        _set(publication, status=PublicationStatus.COPYING)
        source = storage.path_for(file.storage_key)
        info = inspect_h5ad(source)
        target = data_dir() / copy_name(file)
        tmp = target.with_name(f".{target.name}.{publication.pk}.tmp")
        analysed = {k: v for k, v in analysis_layouts(file, info.n_obs).items() if k not in info.layouts}
        if info.layouts and not analysed:
            _link_or_copy(source, tmp)
        else:
            shutil.copyfile(source, tmp)
            if analysed:  # layouts the h5ad_vis analysis computed: no SVD needed
                _set(publication, embedding=add_layouts(tmp, analysed))
            else:
                _set(publication, status=PublicationStatus.EMBEDDING)
                _set(publication, embedding=ensure_embedding(tmp) or "")
        os.replace(tmp, target)
        tmp = None
        _set(publication, data_path=str(target), status=PublicationStatus.STARTING)
        launch(publication)
    except PublishError as exc:
        _fail(publication, exc.message, exc.log_tail)
    except Exception as exc:
        log.exception("publishing %s failed", publication)
        _fail(publication, f"Publishing failed unexpectedly: {_one_line(exc)}")
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    publication.refresh_from_db()
    return publication


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link (the store never rewrites a blob, cellxgene only reads); a copy across devices."""
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _fail(publication: Publication, message: str, log_tail: str = "") -> None:
    _set(
        publication,
        status=PublicationStatus.FAILED,
        error=message,
        log_tail=log_tail,
        finished_at=timezone.now(),
    )
    audit.record(
        publication.requested_by,
        "cellxgene.failure",
        publication.file,
        dataset=publication.dataset,
        publication=publication.pk,
        error=message,
        log_tail=log_tail[-2000:],
    )


# --- the process manager ----------------------------------------------------------------------


def base_port() -> int:
    return int(settings.CELLXGENE_PORT)


def ports() -> tuple[int, int]:
    return base_port(), base_port() + 1


def current_viewer() -> Viewer | None:
    """The viewer serving the most recently readied dataset (the one the proxy forwards to)."""
    return (
        Viewer.objects.filter(port__in=ports(), status=ViewerStatus.READY)
        .select_related("file", "publication")
        .order_by("-ready_at", "-id")
        .first()
    )


@contextlib.contextmanager
def viewer_lock(wait_seconds: float | None = None) -> Iterator[str]:
    """A lease on the viewer state (the base port's row): one process starts or stops viewers at
    a time, across workers and nodes, without a transaction held open for the whole launch."""
    lease = timedelta(seconds=int(settings.CELLXGENE_READY_TIMEOUT) + 120)
    wait = float(settings.CELLXGENE_READY_TIMEOUT) + 60 if wait_seconds is None else wait_seconds
    for port in ports():
        Viewer.objects.get_or_create(port=port, defaults={"host": settings.CELLXGENE_HOST})
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    while True:
        now = timezone.now()
        taken = (
            Viewer.objects.filter(port=base_port())
            .filter(Q(lock_token="") | Q(locked_until__lt=now))
            .update(lock_token=token, locked_until=now + lease)
        )
        if taken:
            break
        if time.monotonic() > deadline:
            raise PublishError("Another publication is still starting the viewer; try again in a minute.")
        time.sleep(0.5)
    try:
        yield token
    finally:
        Viewer.objects.filter(port=base_port(), lock_token=token).update(lock_token="", locked_until=None)


def _read_cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def _process_state(pid: int) -> str:
    """The state letter from /proc/<pid>/stat ('' when there is no such process)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else ""


def pid_alive(pid: int | None) -> bool:
    return bool(pid) and _process_state(pid) not in ("", "Z", "X")


def is_our_process(pid: int | None, port: int | None = None, data_path: str | None = None) -> bool:
    """True if ``pid`` is a live ``cellxgene ... launch`` (on ``port``, serving ``data_path``).
    A recycled PID belongs to some other program and is never signalled."""
    if not pid_alive(pid):
        return False
    args = _read_cmdline(pid)
    if "launch" not in args or not any(Path(arg).name == "cellxgene" for arg in args):
        return False
    if port is not None:
        try:
            if args[args.index("--port") + 1] != str(port):
                return False
        except (ValueError, IndexError):
            return False
    if data_path and data_path not in args:
        return False
    return True


def port_free(port: int, host: str | None = None) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host or settings.CELLXGENE_HOST, port))
        except OSError:
            return False
    return True


def _kill_group(pid: int, sig: int) -> None:
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def terminate(pid: int, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; returns once the process is gone."""
    _kill_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_alive(pid):
        log.warning("cellxgene pid %s ignored SIGTERM; sending SIGKILL", pid)
        _kill_group(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)


def _log_offset() -> int:
    path = Path(settings.CELLXGENE_LOG_FILE)
    try:
        return path.stat().st_size
    except OSError:
        return 0


def log_tail(offset: int = 0, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines written to the viewer log since ``offset``."""
    path = Path(settings.CELLXGENE_LOG_FILE)
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            start = max(offset, size - 64 * 1024)
            handle.seek(start)
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _child_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "CELERY_"))}
    for key in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(key, None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_process(data_path: str, title: str, port: int) -> subprocess.Popen:
    """Start cellxgene detached (its own session), output appended to CELLXGENE_LOG_FILE."""
    log_path = Path(settings.CELLXGENE_LOG_FILE)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(settings.CELLXGENE_CMD),
        "--no-upgrade-check",
        "launch",
        data_path,
        "--host",
        settings.CELLXGENE_HOST,
        "--port",
        str(port),
        "--title",
        title,
        *settings.CELLXGENE_EXTRA_ARGS,
    ]
    with log_path.open("ab") as handle:
        handle.write(f"\n=== {timezone.now().isoformat()} starting cellxgene on :{port} for {title!r}\n".encode())
        handle.flush()
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                cwd=str(data_dir()),
                env=_child_env(),
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            raise PublishError(
                f"cellxgene could not be started ({settings.CELLXGENE_CMD}: {exc.strerror}); "
                "run scripts/install_cellxgene.sh."
            ) from exc
    # Reap it when it exits, so a stopped viewer does not linger as a zombie of this worker.
    threading.Thread(target=process.wait, name=f"cellxgene-reaper-{process.pid}", daemon=True).start()
    return process


def viewer_base(viewer: Viewer) -> str:
    return f"http://{viewer.host}:{viewer.port}"


def fetch_config(host: str, port: int, timeout: float = 2.0) -> dict | None:
    try:
        response = requests.get(f"http://{host}:{port}/api/v0.2/config", timeout=timeout)
        if response.status_code != 200:
            return None
        return response.json()
    except (requests.RequestException, ValueError):
        return None


def configured_dataset(config: dict | None) -> str | None:
    try:
        return config["config"]["displayNames"]["dataset"]  # type: ignore[index]
    except (KeyError, TypeError):
        return None


def wait_ready(process: subprocess.Popen, port: int, title: str, offset: int) -> None:
    deadline = time.monotonic() + float(settings.CELLXGENE_READY_TIMEOUT)
    while True:
        if process.poll() is not None or not pid_alive(process.pid):
            time.sleep(0.2)  # let the last lines reach the log
            raise PublishError(
                f"cellxgene exited (code {process.returncode}) before serving the dataset.", log_tail(offset)
            )
        if configured_dataset(fetch_config(settings.CELLXGENE_HOST, port)) == title:
            return
        if time.monotonic() > deadline:
            raise PublishError(
                f"cellxgene did not answer within {settings.CELLXGENE_READY_TIMEOUT} s.", log_tail(offset)
            )
        time.sleep(0.25)


def launch(publication: Publication, restart_of: Viewer | None = None) -> Viewer:
    """Start a viewer for ``publication`` (its copy is in place) and, once it answers, stop the
    previous one. On failure the previous viewer keeps serving and PublishError is raised."""
    title = publication.dataset
    with viewer_lock():
        previous = current_viewer()
        if restart_of is not None:
            port = restart_of.port
        else:
            port = ports()[1] if previous is not None and previous.port == ports()[0] else ports()[0]
        slot = Viewer.objects.get(port=port)
        if slot.pid and slot.node == node_name() and is_our_process(slot.pid, port):
            # A leftover of ours on the port we want (a failed start, an abandoned viewer).
            log.info("stopping leftover cellxgene pid %s on :%s", slot.pid, port)
            terminate(slot.pid)
        if not port_free(port):
            raise PublishError(
                f"Port {port} is in use by another program, so the viewer cannot start there "
                "(set CELLXGENE_PORT to a free pair of ports)."
            )
        offset = _log_offset()
        process = start_process(publication.data_path, title, port)
        now = timezone.now()
        Viewer.objects.filter(pk=slot.pk).update(
            host=settings.CELLXGENE_HOST,
            node=node_name(),
            status=ViewerStatus.STARTING,
            publication=publication,
            file=publication.file,
            dataset=title,
            data_path=publication.data_path,
            pid=process.pid,
            started_at=now,
            ready_at=None,
            last_error="",
            log_tail="",
        )
        _set(publication, pid=process.pid, port=port, started_at=now)
        try:
            wait_ready(process, port, title, offset)
        except PublishError as exc:
            if pid_alive(process.pid):
                terminate(process.pid)
            Viewer.objects.filter(pk=slot.pk).update(
                status=ViewerStatus.FAILED, pid=None, last_error=exc.message, log_tail=exc.log_tail
            )
            raise
        ready = timezone.now()
        Viewer.objects.filter(pk=slot.pk).update(status=ViewerStatus.READY, ready_at=ready)
        _set(publication, status=PublicationStatus.READY, ready_at=ready)
        audit.record(
            publication.requested_by,
            "cellxgene.ready",
            publication.file,
            dataset=title,
            publication=publication.pk,
            port=port,
            pid=process.pid,
            seconds=round((ready - publication.created_at).total_seconds(), 2),
        )
        if previous is not None and previous.port != port:
            stop_viewer(previous, actor=publication.requested_by, reason="replaced", locked=True)
        slot.refresh_from_db()
        return slot


def stop_viewer(viewer: Viewer, actor: Any = None, reason: str = "stopped", locked: bool = False) -> bool:
    """Stop the process on ``viewer``'s port if it is ours, mark it stopped, audit it.
    Returns True when a process was signalled."""
    if not locked:
        with viewer_lock(wait_seconds=30):
            return stop_viewer(viewer, actor=actor, reason=reason, locked=True)
    viewer.refresh_from_db()
    signalled = False
    if viewer.pid and viewer.node in ("", node_name()) and is_our_process(viewer.pid, viewer.port):
        terminate(viewer.pid)
        signalled = True
    elif viewer.pid:
        log.warning("not signalling pid %s on :%s: not a cellxgene of ours (any more)", viewer.pid, viewer.port)
    old_publication_id, old_path = viewer.publication_id, viewer.data_path
    was = {"dataset": viewer.dataset, "port": viewer.port, "pid": viewer.pid}
    Viewer.objects.filter(pk=viewer.pk).update(status=ViewerStatus.STOPPED, pid=None, ready_at=None)
    if old_publication_id:
        Publication.objects.filter(pk=old_publication_id, status=PublicationStatus.READY).update(
            status=PublicationStatus.STOPPED, finished_at=timezone.now()
        )
    if was["pid"] or viewer.status != ViewerStatus.STOPPED:
        audit.record(
            actor,
            "cellxgene.stop",
            viewer.file,
            username="" if actor else "system",
            reason=reason,
            signalled=signalled,
            **was,
        )
    _remove_unused_copy(old_path)
    return signalled


def _remove_unused_copy(path: str) -> None:
    if not path:
        return
    in_use = Viewer.objects.filter(data_path=path).exclude(status=ViewerStatus.STOPPED).exists()
    in_use = in_use or Publication.objects.filter(data_path=path, status__in=ACTIVE_STATUSES).exists()
    target = Path(path)
    if not in_use and target.parent == Path(settings.CELLXGENE_DATA_DIR).resolve():
        target.unlink(missing_ok=True)


def stop_viewers(actor: Any = None, reason: str = "stopped") -> int:
    """Stop every viewer we run (admin action, shutdown, test teardown). Returns how many."""
    count = 0
    with viewer_lock(wait_seconds=30):
        for viewer in Viewer.objects.filter(port__in=ports()).exclude(status=ViewerStatus.STOPPED):
            count += stop_viewer(viewer, actor=actor, reason=reason, locked=True)
    return count


def check_viewers() -> dict[str, Any]:
    """The watchdog: a viewer marked ready whose process is gone is marked failed (audited with
    the log's tail) and, with CELLXGENE_AUTO_RESTART, started again on its port."""
    viewer = current_viewer()
    if viewer is None or viewer.node not in ("", node_name()):
        return {"checked": False}
    if fetch_config(viewer.host, viewer.port) is not None and pid_alive(viewer.pid):
        return {"checked": True, "alive": True}
    if is_our_process(viewer.pid, viewer.port):
        return {"checked": True, "alive": True, "answering": False}
    tail = log_tail()
    Viewer.objects.filter(pk=viewer.pk).update(
        status=ViewerStatus.FAILED, pid=None, last_error="The viewer process exited.", log_tail=tail
    )
    audit.record(
        None,
        "cellxgene.failure",
        viewer.file,
        username="system",
        dataset=viewer.dataset,
        port=viewer.port,
        pid=viewer.pid,
        error="The viewer process exited.",
        log_tail=tail[-2000:],
    )
    restarted = False
    publication = viewer.publication
    if settings.CELLXGENE_AUTO_RESTART and publication is not None and Path(viewer.data_path).is_file():
        try:
            launch(publication, restart_of=viewer)
            Viewer.objects.filter(pk=viewer.pk).update(restarts=viewer.restarts + 1)
            restarted = True
        except PublishError as exc:
            log.warning("restarting cellxgene for %s failed: %s", viewer.dataset, exc.message)
    return {"checked": True, "alive": False, "restarted": restarted}


def sweep_stale_publications(now: Any = None) -> list[int]:
    """Publications still copying/embedding/starting long after any run could have finished
    belong to a worker that died (a broker without redelivery leaves them so): mark them failed,
    so the SPA's mask stops waiting and the user can publish again. Returns their ids."""
    limit = (now or timezone.now()) - timedelta(
        seconds=settings.CELLXGENE_READY_TIMEOUT + settings.CELLXGENE_STALE_PUBLICATION_SECONDS
    )
    stale = list(Publication.objects.filter(status__in=ACTIVE_STATUSES, created_at__lt=limit).select_related("file"))
    for publication in stale:
        _fail(publication, "The worker handling this publication stopped; send the file again.")
    return [publication.pk for publication in stale]


# --- what the API shows -----------------------------------------------------------------------


def publication_data(publication: Publication) -> dict[str, Any]:
    return {
        "id": publication.pk,
        "file": publication.file_id,
        "dataset": publication.dataset,
        "status": publication.status,
        "embedding": publication.embedding or None,
        "error": publication.error or None,
        "log_tail": publication.log_tail or None,
        "created_at": publication.created_at,
        "ready_at": publication.ready_at,
        "finished_at": publication.finished_at,
    }


def status_for(user: Any, dataset: str | None = None, file_id: int | None = None) -> dict[str, Any]:
    """What ``user`` may know: the viewer (if it shows a file they may see) and their view of the
    latest publication (of ``dataset``/``file_id`` when given) of a file they may see."""
    files = visible_files(user)
    viewer = current_viewer()
    if viewer is not None and not (viewer.file_id and files.filter(pk=viewer.file_id).exists()):
        viewer = None
    publications = Publication.objects.filter(file__in=files.values("pk"))
    if dataset:
        publications = publications.filter(dataset=dataset)
    if file_id:
        publications = publications.filter(file_id=file_id)
    latest = publications.order_by("-created_at", "-id").first()
    return {
        "running": viewer is not None,
        "ready": viewer is not None and viewer.status == ViewerStatus.READY,
        "dataset": viewer.dataset if viewer else None,
        "file": viewer.file_id if viewer else None,
        "url": PROXY_URL if viewer else None,
        "started_at": viewer.started_at if viewer else None,
        "error": latest.error or None if latest and latest.status == PublicationStatus.FAILED else None,
        "publication": publication_data(latest) if latest else None,
    }


def may_view_viewer(user: Any, viewer: Viewer | None) -> bool:
    return bool(viewer and viewer.file_id and visible_files(user).filter(pk=viewer.file_id).exists())
